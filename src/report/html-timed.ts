/**
 * The sections a timed run contributes to a report (run, compare, study): its metrics as a table,
 * the pending-pages and free-latency charts with one series per run, and its lock figures.
 */
import type { TimedMetrics } from '../measure/metrics.ts';
import { reportCount } from '../measure/run-findings.ts';
import type { ExecutionStatus } from '../sim/index.ts';
import { formatNumber, html, type Markup } from './html-markup.ts';
import { stepChart, type StepSeries } from './svg.ts';

/** A finding's kind and how many reports it groups. */
interface Counted {
  readonly kind: string;
  readonly hits: number;
}

/** What these sections need of a run: a timed run's record, or a timed replay's (findings grouped). */
export type MeasuredRun = Omit<TimedMetrics, 'violations'> & {
  readonly design: string;
  readonly simulatedNs: number;
  readonly steps: number;
  readonly status: ExecutionStatus;
  readonly violations: readonly Counted[];
};

/** The metrics a run's row shows, with the unit under the heading and the definition as a tooltip. */
interface Metric {
  readonly label: string;
  readonly unit?: string;
  readonly title: string;
  readonly value: (r: MeasuredRun) => string;
  /** Words rather than a figure: left-aligned. */
  readonly text?: boolean;
  /**
   * In a table, neighbouring metrics of one group share a heading (`group`, with their unit) and
   * each is headed by its `short` label under it, so the table stays narrow.
   */
  readonly group?: string;
  readonly short?: string;
  /**
   * In a table, a short summary instead of `value` (whose detail the report gives below the table),
   * shown right after the leading cells so that it stays in view however wide the table is.
   */
  readonly summary?: (r: MeasuredRun, href: string | undefined) => Markup;
}

const opt = (v: number | null, f: (x: number) => string = formatNumber) => (v === null ? '–' : f(v));
const us = (ns: number | null) => opt(ns, (x) => (x / 1000).toFixed(1));
const pct = (x: number | null) => opt(x, (v) => `${(100 * v).toFixed(1)}%`);

/** Findings as "kind ×reports", in order of first appearance. */
export function violationKinds(violations: readonly Counted[]): string {
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.kind, (counts.get(v.kind) ?? 0) + v.hits);
  return [...counts].map(([kind, n]) => (n === 1 ? kind : `${kind} ×${n}`)).join(', ') || 'none';
}

export const METRICS: readonly Metric[] = [
  { label: 'simulated', unit: 'µs', title: 'simulated time from the first step to the last', value: (r) => us(r.simulatedNs) },
  { label: 'steps', title: 'scheduler steps (and how the execution ended when it did not reach quiescence)', value: (r) => (r.status === 'quiescent' ? String(r.steps) : `${r.steps} (${r.status})`) },
  { label: 'inval PASID', group: 'invalidations', short: 'PASID', title: 'PASID-selective IOTLB invalidations', value: (r) => String(r.invalidations.piotlbPasid) },
  { label: 'inval page', group: 'invalidations', short: 'page', title: 'page-selective IOTLB invalidations', value: (r) => String(r.invalidations.piotlbPage) },
  { label: 'inval DSI', group: 'invalidations', short: 'DSI', title: 'domain-selective IOTLB invalidations (legacy descriptor, every PASID of the domain)', value: (r) => String(r.invalidations.iotlbDomain) },
  { label: 'inval PSI', group: 'invalidations', short: 'PSI', title: 'page-selective-within-domain IOTLB invalidations (legacy descriptor)', value: (r) => String(r.invalidations.iotlbPage) },
  { label: 'inval dev-TLB', group: 'invalidations', short: 'dev-TLB', title: 'device-TLB invalidations', value: (r) => String(r.invalidations.devtlb) },
  { label: 'inval wait', group: 'invalidations', short: 'wait', title: 'invalidation-wait descriptors', value: (r) => String(r.invalidations.wait) },
  { label: 'inval / table', group: 'invalidations', short: 'per table', title: 'IOTLB invalidations per page-table page freed', value: (r) => opt(r.invalidations.iotlbPerFreedTable, (x) => x.toFixed(2)) },
  { label: 'tables freed', title: 'page-table pages that reached the allocator (unlinked first, or freed before their parent entry was cleared)', value: (r) => String(r.pageTables.freed) },
  { label: 'pending peak', unit: 'pages', group: 'pending pages', short: 'peak', title: 'most page-table pages unlinked and not yet freed at once', value: (r) => `${r.pageTables.pendingPeakPages}` },
  { label: 'pending mean', unit: 'pages', group: 'pending pages', short: 'mean', title: 'time-weighted mean of pending page-table pages', value: (r) => r.pageTables.pendingMeanPages.toFixed(2) },
  { label: 'pending at end', unit: 'pages', group: 'pending pages', short: 'at end', title: 'unlinked at the end and never freed', value: (r) => String(r.pageTables.pendingAtEnd) },
  { label: 'free p50', unit: 'µs', group: 'free latency (µs)', short: 'p50', title: 'unlink to allocator, median', value: (r) => us(r.pageTables.freeLatencyNs.p50) },
  { label: 'free p99', unit: 'µs', group: 'free latency (µs)', short: 'p99', title: 'unlink to allocator, 99th percentile', value: (r) => us(r.pageTables.freeLatencyNs.p99) },
  { label: 'free max', unit: 'µs', group: 'free latency (µs)', short: 'max', title: 'unlink to allocator, maximum', value: (r) => us(r.pageTables.freeLatencyNs.max) },
  { label: 'work runs', title: 'work-function executions (of which freed nothing)', value: (r) => `${r.work.executions} (${r.work.freedNothing})` },
  { label: 'IOMMU walks', group: 'IOMMU', short: 'walks', title: 'IOMMU page walks (translations)', value: (r) => `${r.iommu.walks} (${r.iommu.translations})` },
  { label: 'IOTLB hits', group: 'IOMMU', short: 'IOTLB hits', title: 'IOTLB hit rate', value: (r) => pct(r.iommu.iotlbHitRate) },
  { label: 'PSC hit / miss', group: 'IOMMU', short: 'PSC hit / miss', title: 'paging-structure-cache hits per IOTLB miss', value: (r) => opt(r.iommu.pscHitRate, (x) => x.toFixed(2)) },
  { label: 'IOMMU faults', group: 'IOMMU', short: 'faults', title: 'translations that faulted', value: (r) => String(r.iommu.faults) },
  { label: 'violations', unit: 'timed run', title: 'violations reported during the timed run', value: (r) => violationKinds(r.violations), text: true, summary: violationsSummary },
];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A run's violations in a table cell: how many reports of how many kinds (the kinds as its tooltip), linking to `href`. */
function violationsSummary(r: MeasuredRun, href: string | undefined): Markup {
  if (r.violations.length === 0) return html`<td class="summary none">none</td>`;
  const kinds = new Set(r.violations.map((v) => v.kind)).size;
  const reports = plural(reportCount(r.violations), 'report');
  return html`<td class="summary found" title="${violationKinds(r.violations)}">${href === undefined ? reports : html`<a href="${href}">${reports}</a>`}<span class="sub">${plural(kinds, 'kind')}</span></td>`;
}

/** The study's table has a verdict column besides: the metrics that tell the designs apart. */
const KEY_METRICS = new Set(['simulated', 'inval PASID', 'inval page', 'inval / table', 'pending peak', 'pending mean', 'free p50', 'free p99', 'work runs', 'violations']);
export const STUDY_METRICS: readonly Metric[] = METRICS.filter((m) => KEY_METRICS.has(m.label));

const unitLine = (unit: string | undefined) => (unit === undefined ? '' : html`<span class="unit">${unit}</span>`);

/** The table's heading: one row, or two when metrics are grouped (the group over its members' short labels). */
function tableHead(leading: readonly string[], metrics: readonly Metric[]): Markup {
  if (!metrics.some((m) => m.group !== undefined)) {
    return html`<tr>${leading.map((h) => html`<th>${h}</th>`)}${metrics.map((m) => html`<th title="${m.title}">${m.label}${unitLine(m.unit)}</th>`)}</tr>`;
  }
  const top: Markup[] = leading.map((h) => html`<th rowspan="2">${h}</th>`);
  const under: Markup[] = [];
  metrics.forEach((m, i) => {
    if (m.group === undefined) top.push(html`<th rowspan="2" title="${m.title}">${m.label}${unitLine(m.unit)}</th>`);
    else {
      if (metrics[i - 1]?.group !== m.group) {
        const run = metrics.slice(i).findIndex((n) => n.group !== m.group);
        top.push(html`<th class="group" colspan="${run < 0 ? metrics.length - i : run}">${m.group}</th>`);
      }
      under.push(html`<th title="${m.title}">${m.short ?? m.label}</th>`);
    }
  });
  return html`<tr>${top}</tr>\n<tr>${under}</tr>`;
}

/**
 * One row per run, a column per metric; `first` adds leading cells (the design's name, a verdict).
 * A metric with a summary (the violations) comes right after them, as that summary, linking to
 * `detail(i)` when given.
 */
export function metricsTable(
  rows: readonly MeasuredRun[],
  first: readonly { readonly head: string; readonly cell: (r: MeasuredRun, i: number) => Markup }[] = [],
  metrics: readonly Metric[] = METRICS,
  detail?: (i: number) => string,
): Markup {
  const ordered = [...metrics.filter((m) => m.summary !== undefined), ...metrics.filter((m) => m.summary === undefined)];
  const cell = (m: Metric, r: MeasuredRun, i: number) => (m.summary !== undefined ? m.summary(r, detail?.(i)) : html`<td class="${m.text === true ? 'words' : 'num'}">${m.value(r)}</td>`);
  return html`<div class="table-wrap"><table class="metrics">
<thead>${tableHead(['design', ...first.map((f) => f.head)], ordered)}</thead>
<tbody>
${rows.map((r, i) => html`<tr><th>${r.design}</th>${first.map((f) => f.cell(r, i))}${ordered.map((m) => cell(m, r, i))}</tr>\n`)}</tbody></table></div>`;
}

/** One run's metrics, one per line (a single run's row would be too wide). */
export function metricsList(r: MeasuredRun): Markup {
  return html`<div class="table-wrap"><table class="metrics">
<tbody>
${METRICS.map((m) => html`<tr><th title="${m.title}">${m.label}${m.unit === undefined ? '' : ` (${m.unit})`}</th><td class="${m.text === true ? '' : 'num'}">${m.value(r)}</td><td class="muted">${m.title}</td></tr>\n`)}</tbody></table></div>`;
}

/** Lock hold and wait times, per run and lock. */
export function locksTable(rows: readonly MeasuredRun[]): Markup {
  const lines = rows.flatMap((r) => r.locks.map((l) => ({ design: r.design, l })));
  if (lines.length === 0) return html`<p class="muted">No lock was taken.</p>`;
  return html`<div class="table-wrap"><table class="locks">
<thead><tr>${rows.length > 1 ? html`<th>design</th>` : ''}<th>lock</th><th>acquisitions</th><th>wait total<span class="unit">µs</span></th><th>wait max<span class="unit">µs</span></th><th>hold total<span class="unit">µs</span></th><th>hold max<span class="unit">µs</span></th></tr></thead>
<tbody>
${lines.map(
  ({ design, l }) =>
    html`<tr>${rows.length > 1 ? html`<th>${design}</th>` : ''}<td class="mono">${l.name}</td><td class="num">${l.acquisitions}</td><td class="num">${(l.waitTotalNs / 1000).toFixed(3)}</td><td class="num">${(l.waitMaxNs / 1000).toFixed(3)}</td><td class="num">${(l.holdTotalNs / 1000).toFixed(3)}</td><td class="num">${(l.holdMaxNs / 1000).toFixed(3)}</td></tr>\n`,
)}</tbody></table></div>`;
}

/** Microseconds, or milliseconds once the axis would pass 10 000 µs. */
function timeAxis(maxNs: number): { readonly divisor: number; readonly unit: string } {
  return maxNs >= 1e7 ? { divisor: 1e6, unit: 'ms' } : { divisor: 1e3, unit: 'µs' };
}

/** Pending page-table pages over simulated time, one step series per run. */
export function pendingChart(rows: readonly MeasuredRun[]): Markup {
  const series = rows.map(
    (r): StepSeries => ({
      name: r.design,
      xs: r.pageTables.pendingSeries.timesNs,
      ys: r.pageTables.pendingSeries.pages,
      y0: 0,
      xEnd: Math.max(r.simulatedNs, ...r.pageTables.pendingSeries.timesNs),
    }),
  );
  const axis = timeAxis(Math.max(0, ...series.map((s) => s.xEnd)));
  return stepChart(series, {
    title: 'Page-table pages unlinked, not yet freed',
    xLabel: `simulated time (${axis.unit})`,
    yLabel: 'pending pages',
    xDivisor: axis.divisor,
    integerY: true,
    yMin: 1,
  });
}

/** The empirical distribution (CDF) of unlink-to-allocator latencies, one series per run. */
export function latencyChart(rows: readonly MeasuredRun[]): Markup {
  const end = Math.max(0, ...rows.map((r) => r.pageTables.freeLatencySamplesNs.at(-1) ?? 0));
  const series = rows.map((r): StepSeries => {
    const samples = r.pageTables.freeLatencySamplesNs;
    const xs: number[] = [];
    const ys: number[] = [];
    samples.forEach((x, i) => {
      if (i + 1 < samples.length && samples[i + 1] === x) return;
      xs.push(x);
      ys.push((i + 1) / samples.length);
    });
    return { name: r.design, xs, ys, y0: 0, xEnd: end, ...(samples.length === 0 ? { empty: 'no table freed' } : {}) };
  });
  const axis = timeAxis(end);
  return stepChart(series, {
    title: 'Unlink-to-allocator latency of page-table pages (CDF)',
    xLabel: `latency (${axis.unit})`,
    yLabel: 'pages freed within (%)',
    xDivisor: axis.divisor,
    yFactor: 100,
    yMin: 100,
  });
}

/** Both charts side by side. */
export function timedCharts(rows: readonly MeasuredRun[]): Markup {
  return html`<div class="charts">${pendingChart(rows)}${latencyChart(rows)}</div>`;
}
