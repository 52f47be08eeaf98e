/**
 * The progress line `kptsim check` keeps on a terminal's stderr while it explores (src/cli/check.ts
 * draws it): a pure function of what the explorer last reported, the run's bounds and the time on
 * the CLI's clock, so that it can be tested with made-up values and a fake clock.
 */
import type { ExplorationProgress } from '../job/inputs.ts';

export interface ProgressBounds {
  /** The executions this process may run (its shard's share of --budget); absent: no budget. */
  readonly budget?: number;
  /** --time, in ms; absent: no time bound. */
  readonly timeMs?: number;
  /** Executions done before this process started (a resumed run): they do not count in the rate. */
  readonly startExecutions?: number;
}

/** Cells of the bar. */
export const BAR_WIDTH = 20;

/** A duration as people read it: 0.4 s, 12 s, 3 m 05 s, 1 h 02 m. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

function formatRate(perSecond: number): string {
  if (perSecond >= 100) return perSecond.toFixed(0);
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toFixed(2);
}

function bar(fraction: number): string {
  const full = Math.floor(fraction * BAR_WIDTH);
  return `[${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}]`;
}

/**
 * One line: with a budget or a time, a bar and the fraction used (of whichever bound is nearer), the
 * executions, the time elapsed and the ETA (when the nearer bound is reached, at the rate so far);
 * always the rate, the distinct violations and the strategy's coverage where it has one.
 */
export function progressText(p: ExplorationProgress, bounds: ProgressBounds, elapsedMs: number): string {
  const { budget, timeMs, startExecutions = 0 } = bounds;
  const done = p.executions - startExecutions;
  // No rate (nor an ETA from it) before this process has finished an execution.
  const rate = elapsedMs > 0 && done > 0 ? (done * 1000) / elapsedMs : undefined;
  const fractions: number[] = [];
  const remainingMs: number[] = [];
  if (budget !== undefined) {
    fractions.push(budget === 0 ? 1 : p.executions / budget);
    const left = Math.max(0, budget - p.executions);
    if (left === 0) remainingMs.push(0);
    else if (rate !== undefined && rate > 0) remainingMs.push((left / rate) * 1000);
  }
  if (timeMs !== undefined) {
    fractions.push(timeMs === 0 ? 1 : elapsedMs / timeMs);
    remainingMs.push(Math.max(0, timeMs - elapsedMs));
  }
  const parts: string[] = [];
  if (fractions.length > 0) {
    const fraction = Math.min(1, Math.max(0, ...fractions));
    parts.push(`${bar(fraction)} ${String(Math.floor(fraction * 100)).padStart(3)}%`);
  }
  parts.push(budget === undefined ? `${p.executions} executions` : `${p.executions}/${budget} executions`);
  const eta = fractions.length === 0 ? '' : `, ETA ${remainingMs.length === 0 ? '?' : formatDuration(Math.min(...remainingMs))}`;
  parts.push(`${formatDuration(elapsedMs)}${timeMs === undefined ? '' : ` of ${formatDuration(timeMs)}`}${eta}`);
  parts.push(rate === undefined ? '– /s' : `${formatRate(rate)}/s`);
  parts.push(`violations ${p.violations}`);
  if (p.coverage !== undefined) parts.push(`coverage ${(p.coverage * 100).toFixed(1)}%`);
  return parts.join(' | ');
}
