/**
 * Findings in an HTML report: the first report in kernel terms (title, decoded details, the thread,
 * the hint) with how many reports the finding groups, the step-by-step trace around the step that
 * reported it, and for a checked violation its replay command and shrunk schedule. Long runs report
 * one bug hundreds of times and log thousands of events, so a bug is one finding, findings past the
 * first few of a kind (leaks, one per title) are listed, and traces are windows in collapsible
 * sections.
 */
import type { CheckViolation } from '../job/check-result.ts';
import type { RunFinding } from '../measure/run-findings.ts';
import type { TraceEvent } from '../sim/index.ts';
import { html, type Markup } from './html-markup.ts';
import { HINTS, repeatsLine } from './text.ts';

/** A trace event, stamped with simulated time in a timed run. */
export type ReportEvent = TraceEvent & { readonly timeNs?: number };

/** Findings of one kind shown in full (as `kptsim run` prints them); the rest are listed. */
export const SHOWN_PER_KIND = 3;
/** Trace events shown before the reporting step's first event, and after its last. */
export const WINDOW_BEFORE = 40;
export const WINDOW_AFTER = 12;

/** The trace as a table; rows of step `at` are highlighted. */
export function traceTable(events: readonly ReportEvent[], at = -1): Markup {
  const timed = events.some((e) => e.timeNs !== undefined);
  return html`<div class="table-wrap"><table class="trace">
<thead><tr>${timed ? html`<th>time (µs)</th>` : ''}<th>step</th><th>thread</th><th>cat</th><th>event</th></tr></thead>
<tbody>
${events.map(
  (e) =>
    html`<tr class="cat-${e.cat}${e.step === at ? ' at' : ''}">${timed ? html`<td class="num">${e.timeNs === undefined ? '' : (e.timeNs / 1000).toFixed(3)}</td>` : ''}<td class="num">${e.step}</td><td>${e.thread}</td><td>${e.cat}</td><td class="text">${e.text}</td></tr>\n`,
)}</tbody></table></div>`;
}

/** The events around step `step`: WINDOW_BEFORE before its first event, WINDOW_AFTER after its last. */
export function traceWindow(events: readonly ReportEvent[], step: number): { readonly from: number; readonly to: number } {
  let first = events.findIndex((e) => e.step >= step);
  if (first < 0) first = events.length;
  let last = first;
  while (last < events.length && events[last].step === step) last++;
  return { from: Math.max(0, first - WINDOW_BEFORE), to: Math.min(events.length, last + WINDOW_AFTER) };
}

function hint(kind: string): Markup {
  const h = HINTS[kind];
  return h === undefined ? html`` : html`<p class="hint"><b>hint:</b> ${h}</p>`;
}

/** How many reports a finding groups, as a paragraph (nothing for one report). */
function repeats(f: RunFinding | CheckViolation, where?: string): Markup {
  const line = repeatsLine(f, where, '–');
  return line === null ? html`` : html`<p class="repeats">${line}</p>`;
}

/** One finding in full, with the trace window around its first report when there is a trace. */
function violationBlock(v: RunFinding, events: readonly ReportEvent[] | undefined, open: boolean, noTrace: Markup): Markup {
  let trace = noTrace;
  if (events !== undefined && events.length > 0) {
    const { from, to } = traceWindow(events, v.step);
    const shown = events.slice(from, to);
    const steps = shown.length === 0 ? '' : `, steps ${shown[0].step}–${shown[shown.length - 1].step}`;
    trace = html`<details class="violation-trace"${open ? html` open` : ''}><summary>Trace around step ${v.step}: events ${from + 1}–${to} of ${events.length}${steps}</summary>
${traceTable(shown, v.step)}</details>`;
  }
  return html`<div class="violation" data-kind="${v.kind}">
<p><span class="badge found">${v.kind}</span> <span class="title mono">${v.title}</span></p>
<pre class="details">${v.details.join('\n')}</pre>
<p class="muted">seen in ${v.thread} at step ${v.step}</p>
${repeats(v)}${hint(v.kind)}${trace}
</div>`;
}

/**
 * Every finding of a run or replay: the first SHOWN_PER_KIND of each kind in full, the rest listed;
 * `noTrace` stands where the trace would be when none was recorded.
 */
export function violationsSection(violations: readonly RunFinding[], events: readonly ReportEvent[] | undefined, noTrace: Markup = html`<p class="muted">No trace was recorded for this run.</p>`): Markup {
  if (violations.length === 0) return html`<p><span class="badge none">no violation</span></p>`;
  const seen = new Map<string, number>();
  const full: Markup[] = [];
  const rest: RunFinding[] = [];
  for (const v of violations) {
    const n = (seen.get(v.kind) ?? 0) + 1;
    seen.set(v.kind, n);
    if (n <= SHOWN_PER_KIND) full.push(violationBlock(v, events, full.length === 0, noTrace));
    else rest.push(v);
  }
  const more =
    rest.length === 0
      ? ''
      : html`<details class="more-violations"><summary>${rest.length} more findings of the same kinds</summary>
<div class="table-wrap"><table><thead><tr><th>kind</th><th>step</th><th>thread</th><th>title</th><th>reports</th></tr></thead><tbody>
${rest.map((v) => html`<tr><td>${v.kind}</td><td class="num">${v.step}</td><td>${v.thread}</td><td class="mono">${v.title}</td><td class="num">${v.hits}</td></tr>\n`)}</tbody></table></div></details>`;
  return html`${full}${more}`;
}

/** A violation a check found: the shrunk report, how to replay it, and its schedule. */
export function checkViolationBlock(v: CheckViolation): Markup {
  return html`<div class="violation" data-kind="${v.kind}">
<p><span class="badge found">${v.kind}</span> <span class="title mono">${v.message}</span></p>
<pre class="details">${v.details.join('\n')}</pre>
<p class="muted">seen in ${v.thread}; ${v.occurrences} of the executions showed it, first execution ${v.execution}; shrunk from ${v.originalPreemptions} to ${v.preemptions} preemptions and from ${v.originalSteps} to ${v.steps} steps before the report</p>
${repeats(v, ' in that execution')}${hint(v.kind)}<p>Reproduce: <code class="replay">kptsim replay ${v.replay}</code></p>
${v.witness === undefined ? '' : v.witness.replay === null ? html`<p class="muted">Witness: none in ${v.witness.runs} steered executions (the hazard stands on its own: VT-d may walk and cache these entries at any time).</p>` : html`<p>Witness (${v.witness.kind}, found in ${v.witness.runs} steered executions): <code class="replay">kptsim replay ${v.witness.replay}</code></p>`}
<details><summary>Schedule (${v.schedule.length} runs of one thread)</summary><pre>${v.schedule.join('\n')}</pre></details>
</div>`;
}
