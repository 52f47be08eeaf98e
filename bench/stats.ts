/**
 * Small numeric helpers of the benchmark: medians, a monotonic clock, and the figure record every
 * measurement returns. Every figure keeps its samples (one per run) beside its median, so a reader
 * of results.json sees the spread as well as the value.
 */

/** One figure of the table: the median of its samples, with its unit and, where it has one, its target. */
export interface Figure {
  /** The measurement it belongs to (the table's section). */
  readonly group: string;
  readonly name: string;
  readonly unit: string;
  /** Median of `samples` (null when nothing could be measured, e.g. the peer is absent). */
  readonly median: number | null;
  readonly samples: readonly number[];
  /** The target for this figure, where it sets one. */
  readonly target?: { readonly op: '>=' | '<='; readonly value: number };
  /** Whether the median meets the target; absent without a target. */
  readonly met?: boolean;
  /** A short qualifier printed beside the value ("lower bound: dfs cut at 20 s"). */
  readonly note?: string;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function figure(
  group: string,
  name: string,
  unit: string,
  samples: readonly number[],
  extra: { target?: Figure['target']; note?: string } = {},
): Figure {
  const m = samples.length === 0 ? null : median(samples);
  const met = extra.target === undefined || m === null ? undefined : extra.target.op === '>=' ? m >= extra.target.value : m <= extra.target.value;
  return { group, name, unit, median: m, samples, ...extra, ...(met === undefined ? {} : { met }) };
}

export function now(): number {
  return performance.now();
}

/** Milliseconds `fn` takes, and its result. */
export function timed<T>(fn: () => T): { ms: number; value: T } {
  const t0 = now();
  const value = fn();
  return { ms: now() - t0, value };
}

/**
 * Milliseconds of CPU this process has used (user + system, all its threads). Single-threaded
 * figures are timed on it rather than on the wall clock: on a shared machine the wall clock
 * counts the time other processes held the core, the CPU clock does not.
 */
export function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
