/** `kptsim compare` and `kptsim replay` as text. */
import type { ReplayResult } from '../job/replay.ts';
import type { CompareResult } from '../measure/timed-run.ts';
import { METRIC_HEADER, alignedTable, metricCells } from './table.ts';
import { reportLines } from './text.ts';
import { collapseRuns } from './trace-text.ts';

/** One aligned row per design: its metrics and the kinds it reported. */
export function renderCompare(r: CompareResult): string {
  const header = ['design', ...METRIC_HEADER, 'violations'];
  const rows = r.rows.map((x) => [x.design, ...metricCells(x), [...new Set(x.violations.map((v) => v.kind))].join(',') || 'none']);
  return [`kptsim compare: scenario ${r.scenario} (simulated time, default costs unless --costs)`, '', ...alignedTable(header, rows, [0, header.length - 1])].join('\n') + '\n';
}

/** The replayed trace, then each violation with the same report check printed. */
export function renderReplay(r: ReplayResult): string {
  const lines = [`kptsim replay: design ${r.design}, scenario ${r.scenario}: ${r.steps} steps, ${r.status}`, ''];
  collapseRuns(r.trace, undefined, lines);
  for (const v of r.violations) lines.push('', `${v.kind}: ${v.title}`, ...reportLines(v.kind, v.details, v.thread));
  return lines.join('\n') + '\n';
}
