/** `kptsim check` as text: the verdict, then each finding with its tokens, schedule, report and hint. */
import type { BaselineDiff } from '../job/baseline.ts';
import type { CheckResult, Witness } from '../job/check-result.ts';
import { repeatsLine, reportLines } from './text.ts';

/** A hazard's witness: the concrete use-after-free's token, or how far the search looked. */
export function witnessLine(w: Witness): string {
  return w.replay === null
    ? `  witness: none in ${w.runs} steered executions (the hazard stands on its own: VT-d may walk and cache these entries at any time)`
    : `  witness: kptsim replay ${w.replay}\n    (${w.kind}: ${w.message}; found in ${w.runs} steered execution(s))`;
}

export function renderCheck(r: CheckResult, checkpoint?: string): string {
  const lines: string[] = [];
  // Complete under --faults N is complete for the executions with at most N injected failures, and
  // under PREEMPT_NONE/VOLUNTARY for the interleavings that model allows: the line says so.
  const limits = [
    ...(r.space.preempt === undefined || r.space.preempt === 'full' ? [] : [`config.preempt: ${r.space.preempt}`]),
    ...(r.space.faults === undefined || (r.space.faultChoices?.length ?? 0) === 0 ? [] : [`up to ${r.space.faults} injected failure${r.space.faults === 1 ? '' : 's'} per execution`]),
  ];
  const within = limits.length === 0 ? '' : ` (${limits.join('; ')})`;
  const bound = r.complete ? `complete: the whole space was covered${within}` : `not complete (stopped by ${r.stoppedBy})`;
  lines.push(`kptsim check: design ${r.design}, scenario ${r.scenario}, strategy ${r.strategy}: ${r.executions} executions, ${bound}`);
  if (r.stoppedBy === 'interrupted') {
    lines.push(`interrupted: ${r.executions} executions covered${r.violations.length > 0 ? '; the violations below are not shrunk' : ''}`);
    if (checkpoint !== undefined) lines.push(`continue with: kptsim check --resume ${checkpoint}`);
  }
  lines.push(`verdict: ${r.verdict.summary}`, `  ${r.verdict.detail}`);
  for (const v of r.violations) {
    lines.push('', `${v.kind}: ${v.message}`, '', `  kptsim replay ${v.replay}`, '');
    if (v.witness !== undefined) lines.push(witnessLine(v.witness), '');
    const repeats = repeatsLine(v, ' in that execution');
    if (repeats !== null) lines.push(`  ${repeats}`);
    lines.push(`  ${v.occurrences} execution(s) showed it; shrunk from ${v.originalPreemptions} to ${v.preemptions} preemptions and from ${v.originalSteps} to ${v.steps} steps before the report`);
    lines.push('  schedule:', ...v.schedule.map((s) => `    ${s}`));
    lines.push(...reportLines(v.kind, v.details, v.thread));
  }
  if (r.elapsedMs !== undefined) lines.push('', `${(r.elapsedMs / 1000).toFixed(1)} s (wall-clock timing, not a result)`);
  return lines.join('\n') + '\n';
}

/** What --design adds and removes relative to --baseline, finding by finding (kind and site). */
export function renderBaseline(d: BaselineDiff): string {
  const line = (f: BaselineDiff['added'][number]) => `    ${f.kind}: ${f.site ?? f.message}`;
  const lines = ['', `against the baseline ${d.design} (${d.summary}), the same exploration:`];
  lines.push(`  added (this design only): ${d.added.length === 0 ? 'none' : ''}`, ...d.added.map(line));
  lines.push(`  removed (the baseline only): ${d.removed.length === 0 ? 'none' : ''}`, ...d.removed.map(line));
  lines.push(`  kept (both): ${d.kept.length === 0 ? 'none' : ''}`, ...d.kept.map(line));
  return lines.map((l) => l.trimEnd()).join('\n') + '\n';
}
