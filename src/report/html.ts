/**
 * The HTML reports of `kptsim run --html`, `compare --html`, `replay --html` and the study's
 * report.html: pure functions of the records the commands print as JSON, each returning one
 * self-contained document (no script, no fetch, charts as static SVG). Nothing in them depends on
 * the clock or the machine, so the same record gives the same bytes.
 */
import type { CheckResult } from '../job/check-result.ts';
import type { CompareReport } from '../job/jobs.ts';
import type { ReplayResult, TimedReplayResult } from '../job/replay.ts';
import type { StudyCell, StudyResult } from '../job/study.ts';
import { groupViolations } from '../measure/run-findings.ts';
import type { TimedRunRecord } from '../measure/timed-run.ts';
import { diffCell, diffSection } from './html-baseline.ts';
import { html, type Markup } from './html-markup.ts';
import { page } from './html-page.ts';
import { STUDY_METRICS, locksTable, metricsList, metricsTable, timedCharts, violationKinds, type MeasuredRun } from './html-timed.ts';
import { checkViolationBlock, traceTable, violationsSection, type ReportEvent } from './html-violation.ts';

/** A whole trace is included (collapsed) up to this many events; longer ones only as windows. */
const FULL_TRACE_EVENTS = 5000;

function verdictBadge(found: boolean, text: string): Markup {
  return html`<span class="badge ${found ? 'found' : 'none'}">${text}</span>`;
}

function fullTrace(events: readonly ReportEvent[], open: boolean): Markup {
  if (events.length === 0) return html``;
  if (events.length > FULL_TRACE_EVENTS) return html`<p class="muted">The whole trace has ${events.length} events; it is shown above only around each violation (--json has it all).</p>`;
  return html`<details class="full-trace"${open ? html` open` : ''}><summary>The whole trace (${events.length} events)</summary>
${traceTable(events)}</details>`;
}

/** `kptsim run --html`: one timed run. */
export function runHtml(r: TimedRunRecord): string {
  const found = r.violations.length > 0;
  return page(
    `kptsim run: ${r.design} on ${r.scenario}`,
    html`<h1>kptsim run: design <code>${r.design}</code> on scenario <code>${r.scenario}</code></h1>
<p class="lead">One execution in simulated time (seed ${r.seed}${r.seed === 0 ? ': the cost model exactly' : ': step costs jittered'}). ${r.steps} steps, ${r.status}; ${r.threads} threads; ${(r.simulatedNs / 1000).toFixed(1)} µs simulated. At the end: ${r.memory.freePages} free pages, ${r.memory.pageTablePages} page-table pages. ${verdictBadge(found, found ? violationKinds(r.violations) : 'no violation')}</p>
<h2>Metrics</h2>
${metricsList(r)}
<h3>Locks</h3>
${locksTable([r])}
<h2>Charts</h2>
${timedCharts([r])}
<h2>Violations</h2>
${violationsSection(r.violations, r.trace)}
<h2>Trace</h2>
${r.trace === undefined ? html`<p class="muted">The run recorded no trace.</p>` : fullTrace(r.trace, false)}`,
  );
}

/** Under the metrics table, the kinds of violation each run reported (its cell only counts them), linked to the reports. */
function rowViolations(rows: readonly MeasuredRun[]): Markup {
  const found = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.violations.length > 0);
  if (found.length === 0) return html``;
  return html`<ul class="row-violations">${found.map(({ r, i }) => html`<li><strong>${r.design}</strong>: ${violationKinds(r.violations)} (<a href="#violations-${i}">reports</a>)</li>`)}</ul>`;
}

/** `kptsim compare --html`: the designs side by side on one scenario. */
export function compareHtml(c: CompareReport): string {
  return page(
    `kptsim compare: ${c.scenario}`,
    html`<h1>kptsim compare: scenario <code>${c.scenario}</code></h1>
<p class="lead">Each design once under the timed scheduler, with the same cost model; times are simulated.</p>
<h2>Metrics</h2>
${metricsTable(c.rows, [], undefined, (i) => `#violations-${i}`)}
${rowViolations(c.rows)}
<h2>Charts</h2>
${timedCharts(c.rows)}
<h3>Locks</h3>
${locksTable(c.rows)}
<h2>Violations</h2>
${c.rows.map((r, i) => html`<h3 id="violations-${i}">${r.design}</h3>\n${violationsSection(r.violations, r.trace, html`<p class="muted">For the trace: <code>kptsim run --design ${r.design} --scenario ${c.scenario} --html FILE</code></p>`)}\n`)}
${diffSection('h2', c.rows)}`,
  );
}

/** A check's findings in a few words: each kind with the executions that showed it. */
function findingLines(c: CheckResult): readonly string[] {
  return c.violations.map((v) => `${v.kind}: ${v.occurrences} of ${c.executions} executions${v.witness?.replay ? ' (witnessed)' : ''}`);
}

/** The pair's verdict (bug, proved, not found in N: never green while its row shows a violation), its findings and replay commands. */
function verdictCell(cell: StudyCell): Markup {
  const c = cell.check;
  const v = cell.verdict;
  const bug = v.kind === 'bug';
  const timedOnly = bug && c.violations.length === 0;
  const tokens =
    c.violations.length === 0
      ? ''
      : html`<details><summary>replay</summary>${c.violations.map((x) => html`<code class="replay">kptsim replay ${x.replay}</code><br>${x.witness?.replay ? html`<span class="muted">witness:</span> <code class="replay">kptsim replay ${x.witness.replay}</code><br>` : ''}`)}</details>`;
  return html`<td class="verdict ${bug ? 'found' : 'none'}" data-verdict="${v.kind}"><div><strong>${v.summary}</strong></div>${findingLines(c).map((l) => html`<div>${l}</div>`)}${timedOnly ? html`<div>from the timed run</div>` : ''}<div class="coverage">${v.detail}</div>${diffCell(cell)}${tokens}</td>`;
}

/** The study: every design on each scenario, its check verdict and its timed run. */
export function studyHtml(s: StudyResult): string {
  const sections = s.scenarios.map((scenario, i) => {
    const cells = s.cells[i];
    const rows = cells.map((c) => c.metrics);
    const found = cells.filter((c) => c.check.violations.length > 0);
    const timedOnly = cells.filter((c) => c.check.violations.length === 0 && c.metrics.violations.length > 0);
    return html`<section class="scenario" id="scenario-${i}">
<h2>Scenario <code>${scenario.name}</code></h2>
<p class="lead">${scenario.summary}</p>
${metricsTable(rows, [{ head: 'verdict (PCT)', cell: (_r, j) => verdictCell(cells[j]) }], STUDY_METRICS)}
${timedCharts(rows)}
<h3>Violations the checker found</h3>
${found.length === 0 ? html`<p>${verdictBadge(false, 'none')} in any design on this scenario.</p>` : found.map((c) => html`<h4>${c.design}</h4>\n${c.check.violations.map(checkViolationBlock)}\n`)}
${timedOnly.length === 0 ? '' : html`<h3>Violations only the timed run showed</h3>
${timedOnly.map((c) => html`<h4>${c.design}</h4>\n<p>${violationKinds(c.metrics.violations)}: <code>kptsim run --design ${c.design} --scenario ${scenario.name}</code> reproduces it.</p>\n`)}`}
${diffSection('h3', cells)}
</section>`;
  });
  return page(
    'kptsim study',
    html`<h1>kptsim study</h1>
<p class="lead">Every design on each scenario: a verdict (PCT, up to ${s.options.budget} executions or ${s.options.stepBudget} simulated steps per pair, seed ${s.options.seed}; each violation shrunk, with its replay command, and each hazard with a witness when one was found) and the metrics of one timed run with the default cost model. A verdict is <strong>bug</strong> when the checker or the timed run found a violation, <strong>proved</strong> only when an exhaustive strategy covered the configuration, and otherwise <strong>not found in N executions</strong>, with what N guarantees.</p>
<h2>Designs</h2>
<div class="table-wrap"><table class="designs"><thead><tr><th>design</th><th>what it is</th><th>source</th></tr></thead><tbody>
${s.designs.map((d) => html`<tr><th>${d.name}</th><td>${d.summary}</td><td class="muted">${d.source}</td></tr>\n`)}</tbody></table></div>
<h2>Scenarios</h2>
<ul>${s.scenarios.map((sc, i) => html`<li><a href="#scenario-${i}"><code>${sc.name}</code></a>: ${sc.summary}</li>`)}</ul>
${sections}`,
  );
}

/** A replay measured in simulated time (src/job/replay.ts) as the timed sections take it; null when untimed. */
function measuredReplay(x: ReplayResult, findings: MeasuredRun['violations']): MeasuredRun | null {
  if (!('metrics' in x && 'simulatedNs' in x)) return null;
  const t = x as TimedReplayResult;
  return { ...t.metrics, design: t.design, simulatedNs: t.simulatedNs, steps: t.steps, status: t.status, violations: findings };
}

/** `kptsim replay --html`: one or more replayed executions with their traces (and metrics, when timed). */
export function replayHtml(r: ReplayResult | readonly ReplayResult[]): string {
  const results: readonly ReplayResult[] = Array.isArray(r) ? r : [r as ReplayResult];
  const title = results.length === 1 ? `kptsim replay: ${results[0].design} on ${results[0].scenario}` : `kptsim replay: ${results.length} executions`;
  return page(
    title,
    html`<h1>${title}</h1>
${results.map((x) => {
  const findings = groupViolations(x.violations);
  const found = findings.length > 0;
  const measured = measuredReplay(x, findings);
  return html`<section class="replay">
${results.length === 1 ? '' : html`<h2>design <code>${x.design}</code> on scenario <code>${x.scenario}</code></h2>`}
<p class="lead">The recorded schedule re-run step by step: ${x.steps} steps, ${x.status}. ${verdictBadge(found, found ? violationKinds(findings) : 'no violation')}</p>
<h3>Violations</h3>
${violationsSection(findings, x.trace)}
${measured === null ? '' : html`<h3>Metrics of the replay, in simulated time</h3>
${metricsList(measured)}
${timedCharts([measured])}
`}<h3>Trace</h3>
${fullTrace(x.trace, !found)}
</section>`;
})}`,
  );
}
