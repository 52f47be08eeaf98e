/** `kptsim compare` and `kptsim replay` as text. */
import type { CompareReport } from '../job/jobs.ts';
import type { ReplayResult } from '../job/replay.ts';
import { METRIC_HEADER, alignedTable, metricCells } from './table.ts';
import { diffLines, reportLines } from './text.ts';
import { collapseRuns } from './trace-text.ts';

/** One aligned row per design: its metrics and the kinds it reported; then, with a baseline, each design's diff against it. */
export function renderCompare(r: CompareReport): string {
  const header = ['design', ...METRIC_HEADER, 'violations'];
  const rows = r.rows.map((x) => [x.design, ...metricCells(x), [...new Set(x.violations.map((v) => v.kind))].join(',') || 'none']);
  const lines = [`kptsim compare: scenario ${r.scenario} (simulated time, default costs unless --costs)`, '', ...alignedTable(header, rows, [0, header.length - 1])];
  const base = r.rows.find((x) => x.baseline !== undefined)?.baseline;
  if (base !== undefined) lines.push('', `against the baseline ${base.design} (${base.summary}), the same timed run (scenario, costs, seed):`, ...r.rows.flatMap(diffLines));
  return lines.join('\n') + '\n';
}

/** The replayed trace, then each violation with the same report check printed. */
export function renderReplay(r: ReplayResult): string {
  const lines = [`kptsim replay: design ${r.design}, scenario ${r.scenario}: ${r.steps} steps, ${r.status}`, ''];
  collapseRuns(r.trace, undefined, lines);
  for (const v of r.violations) lines.push('', `${v.kind}: ${v.title}`, ...reportLines(v.kind, v.details, v.thread));
  return lines.join('\n') + '\n';
}
