/** Aligned text tables for terminals: text columns padded on the right, numbers on the left. */
import type { TimedRunRecord } from '../measure/timed-run.ts';

/** The header and rows as lines; the columns in `left` are left-aligned, the rest right-aligned. */
export function alignedTable(header: readonly string[], rows: readonly (readonly string[])[], left: readonly number[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The metric columns of one timed run, as compare and the study print them (in METRIC_HEADER's order). */
export const METRIC_HEADER = ['sim µs', 'inval PASID', 'inval page', 'inval DSI', 'inval PSI', 'inval/table', 'pending peak', 'pending mean', 'free p50 µs', 'free p99 µs', 'work runs', 'IOTLB hit'];

const fixed = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));
const micros = (ns: number | null) => fixed(ns === null ? null : ns / 1000, 1);

export function metricCells(m: TimedRunRecord): string[] {
  return [
    micros(m.simulatedNs),
    String(m.invalidations.piotlbPasid),
    String(m.invalidations.piotlbPage),
    String(m.invalidations.iotlbDomain),
    String(m.invalidations.iotlbPage),
    fixed(m.invalidations.iotlbPerFreedTable, 2),
    String(m.pageTables.pendingPeakPages),
    fixed(m.pageTables.pendingMeanPages, 2),
    micros(m.pageTables.freeLatencyNs.p50),
    micros(m.pageTables.freeLatencyNs.p99),
    String(m.work.executions),
    fixed(m.iommu.iotlbHitRate, 2),
  ];
}
