/**
 * The study as text: a table per scenario, each design's verdict and metrics; with a baseline, each
 * design's diff against it in the table (counts) and after the tables (the findings added and removed).
 */
import type { StudyCell, StudyResult } from '../job/study.ts';
import { METRIC_HEADER, alignedTable, metricCells } from './table.ts';
import { diffCounts, diffLines } from './text.ts';

export function verdictOf(c: StudyCell): string {
  return c.verdict.summary;
}

export function renderStudy(s: StudyResult, html: string | false, elapsedMs: number): string {
  const out = [`kptsim study: ${s.designs.length} designs × ${s.scenarios.length} scenarios; verdicts from PCT (up to ${s.options.budget} executions or ${s.options.stepBudget} steps per pair, seed ${s.options.seed}), metrics from one timed run`];
  const against = s.baseline === undefined ? [] : [`vs ${s.baseline}`];
  const header = ['design', 'verdict', ...against, ...METRIC_HEADER];
  const vs = (c: StudyCell) => (s.baseline === undefined ? [] : [c.baseline === undefined ? 'baseline' : diffCounts(c.baseline)]);
  s.scenarios.forEach((scenario, i) => {
    const rows = s.cells[i].map((c) => [c.design, verdictOf(c), ...vs(c), ...metricCells(c.metrics)]);
    out.push('', `${scenario.name}: ${scenario.summary}`, ...alignedTable(header, rows, s.baseline === undefined ? [0, 1] : [0, 1, 2]));
  });
  if (s.baseline !== undefined) {
    out.push('', `against the baseline ${s.baseline}, cell by cell (the checker's and the timed run's findings):`);
    s.scenarios.forEach((scenario, i) => {
      const base = s.cells[i].find((c) => c.baseline !== undefined)?.baseline;
      out.push(`${scenario.name}${base === undefined ? '' : ` (${base.design}: ${base.summary})`}:`, ...s.cells[i].flatMap(diffLines));
    });
  }
  out.push(
    '',
    'verdict: "bug: <kinds>" when the checker or the timed run found a violation (`kptsim check` shows each with its replay token, and a witness for each hazard);',
    '"not found in N": no violation in N PCT executions — evidence, not proof (`kptsim check --json` gives the PCT bound); "proved" only from an exhaustive strategy',
  );
  if (html !== false) out.push(`report: ${html}`);
  out.push(`${(elapsedMs / 1000).toFixed(1)} s (wall-clock timing, not a result)`);
  return out.join('\n') + '\n';
}
