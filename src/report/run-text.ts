/**
 * `kptsim run` as text: a header, the findings (a few per kind, each with how many reports it
 * groups) and the metrics; with `trace`, the trace in simulated time before them (long runs of one
 * thread collapsed); or, quiet, one line.
 */
import { reportCount } from '../measure/run-findings.ts';
import type { TimedTraceEvent } from '../measure/time-keeper.ts';
import type { TimedRunRecord } from '../measure/timed-run.ts';
import { formatEvent } from '../sim/index.ts';
import { repeatsLine } from './text.ts';
import { collapseRuns } from './trace-text.ts';

/** Virtual addresses are bigints; JSON carries them as hex strings. */
export function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}

/** Findings of one kind printed in full (those with no site, such as leaks, are one per title). */
const SHOWN_PER_KIND = 3;

const us = (ns: number | null, digits = 1) => (ns === null ? '-' : `${(ns / 1000).toFixed(digits)} µs`);
const timed = (e: TimedTraceEvent) => `${us(e.timeNs, 3).padStart(13)} ${formatEvent(e)}`;

export interface RunTextOptions {
  /** Print the whole trace (thousands of lines on the long workloads) before the violations. */
  readonly trace?: boolean;
}

export function renderRun(r: TimedRunRecord, options: RunTextOptions = {}): string {
  const lines = [`kptsim run: design ${r.design}, scenario ${r.scenario}, seed ${r.seed} (simulated time)`, ''];
  if (options.trace) {
    // Appended in place: spreading a long run's hundreds of thousands of lines into push() overflows the stack.
    collapseRuns(r.trace ?? [], timed, lines);
    lines.push('');
  }
  if (r.violations.length === 0) lines.push('no violation');
  const shown = new Map<string, number>();
  for (const v of r.violations) {
    const n = (shown.get(v.kind) ?? 0) + 1;
    shown.set(v.kind, n);
    if (n > SHOWN_PER_KIND) continue;
    const repeats = repeatsLine(v);
    lines.push(`${v.kind}: ${v.title}`, ...v.details.map((d) => `    ${d}`), `    (thread ${v.thread}, step ${v.step})`, ...(repeats === null ? [] : [`    ${repeats}`]));
  }
  for (const [kind, n] of shown) if (n > SHOWN_PER_KIND) lines.push(`... ${n - SHOWN_PER_KIND} more ${kind} findings (--json has them all)`);
  const inv = r.invalidations;
  const pt = r.pageTables;
  const lat = pt.freeLatencyNs;
  const io = r.iommu;
  const rate = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
  lines.push(
    '',
    `${r.steps} steps, ${r.status}; ${r.threads} threads; ${us(r.simulatedNs)} simulated`,
    `IOMMU invalidations: ${inv.piotlbPasid} PASID-selective, ${inv.piotlbPage} page-selective, ${inv.iotlbDomain} domain-selective and ${inv.iotlbPage} page-selective legacy, ${inv.devtlb} device-TLB, ${inv.wait} waits; ${inv.iotlbPerFreedTable === null ? '-' : inv.iotlbPerFreedTable.toFixed(2)} per freed page-table page`,
    `page tables: ${pt.freed} freed (${pt.freedBeforeUnlink} before their parent entry was cleared); pending peak ${pt.pendingPeakPages} pages (${pt.pendingPeakBytes} bytes), mean ${pt.pendingMeanPages.toFixed(2)}, ${pt.pendingAtEnd} at the end`,
    `unlink to allocator: p50 ${us(lat.p50)}, p99 ${us(lat.p99)}, max ${us(lat.max)} (${lat.count} pages)`,
    `work: ${r.work.executions} executions, ${r.work.freedNothing} freed nothing`,
    ...r.locks.map((l) => `lock ${l.name}: ${l.acquisitions} acquisitions, wait ${us(l.waitTotalNs, 2)} total (max ${us(l.waitMaxNs, 2)}), hold ${us(l.holdTotalNs, 2)} total (max ${us(l.holdMaxNs, 2)})`),
    `IOMMU: ${io.translations} translations, ${io.walks} walks, ${io.faults} faults; IOTLB hit rate ${rate(io.iotlbHitRate)}, paging-structure cache hits per miss ${io.pscHitRate === null ? '-' : io.pscHitRate.toFixed(2)}`,
    `memory: ${r.memory.freePages} free pages, ${r.memory.pageTablePages} page-table pages at the end${r.memory.allocationFailures > 0 ? `; ${r.memory.allocationFailures} allocations failed for want of memory (the scenario is too big for its frames, not a bug of the design)` : ''}`,
  );
  return lines.join('\n') + '\n';
}

/** `kptsim run --quiet`: the run in one line, its verdict first (the exit code says the same); reports counted by kind. */
export function renderRunSummary(r: TimedRunRecord): string {
  const kinds = new Map<string, number>();
  for (const v of r.violations) kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + v.hits);
  const reports = reportCount(r.violations);
  const found = reports === 0 ? 'no violation' : `${reports} violation${reports === 1 ? '' : 's'} (${[...kinds].map(([kind, n]) => `${kind} ${n}`).join(', ')})`;
  return `kptsim run: design ${r.design}, scenario ${r.scenario}, seed ${r.seed}: ${found}; ${r.steps} steps, ${r.status}, ${us(r.simulatedNs)} simulated\n`;
}
