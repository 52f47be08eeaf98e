/**
 * The explorer loop: build a fresh world per execution, let the strategy drive it, collect what
 * went wrong with the choice list that reproduces it. Bounds (executions, time, first violation)
 * are the loop's, so `complete` is claimed only when an exhaustive strategy ran out of executions
 * by itself (docs/architecture.md, Verdicts and bounds). Time comes from an injected clock; printing is the caller's job.
 * Between two executions the loop can be asked to stop (`shouldStop`: 'interrupted'), snapshot
 * itself (`checkpoint`) and start again from a snapshot (`resume`): see checkpoint.ts.
 */
import { findingKey, type Choice, type ExecutionStatus, type Violation, type ViolationKind } from '../sim/index.ts';
import { CheckpointError, type ExplorerSnapshot } from './checkpoint.ts';
import type { Program } from './program.ts';
import { replayToken } from './replay.ts';
import { encodeToken } from './token.ts';
import type { ExplorationStrategy, StrategyName } from './strategy.ts';

export interface ExploreOptions {
  /** Run at most this many executions. */
  readonly budget?: number;
  /** Stop starting executions once this much time has passed on `now`. */
  readonly timeMs?: number;
  /** Stop after the first execution that reports a violation. */
  readonly stopAtFirst?: boolean;
  /** Milliseconds from any fixed origin; required with `timeMs`, used for `elapsedMs`. */
  readonly now?: () => number;
  /**
   * Called after every `progressEvery`-th execution (default 100), after any execution that ends
   * `progressEveryMs` or more after the last call (or the start) on `now` (default 250 ms; by count
   * only without a clock), and once at the end. The clock decides only when to report, never what is
   * explored.
   */
  readonly onProgress?: (progress: ExplorationProgress) => void;
  readonly progressEvery?: number;
  readonly progressEveryMs?: number;
  /** Asked before each execution: true stops the exploration ('interrupted'), e.g. on SIGINT. */
  readonly shouldStop?: () => boolean;
  /** Saves snapshots between executions when `due` says so, and once when the exploration stops. */
  readonly checkpoint?: ExploreCheckpoint;
  /** Continue from this snapshot (checkpoint.ts) instead of from the start. */
  readonly resume?: ExplorerSnapshot;
}

export interface ExploreCheckpoint {
  /** Whether to save after the execution that made the count `executions` (wall clock may decide). */
  due(executions: number): boolean;
  save(snapshot: ExplorerSnapshot): void;
}

export interface ExplorationProgress {
  readonly executions: number;
  /** Distinct violations found so far. */
  readonly violations: number;
  /** The strategy's coverage estimate in [0, 1], where it has one. */
  readonly coverage?: number;
  readonly elapsedMs?: number;
}

/** The frames a finding's reports named in one execution: how many reports, lowest and highest pfn. */
export interface FindingPages {
  readonly first: number;
  readonly last: number;
}

/**
 * One distinct finding (kind and site: findingKey), with the first execution that showed it. Many
 * pages hit by one bug are one finding: `hits` reports in that execution, naming frames `pfns`.
 */
export interface FoundViolation {
  readonly kind: ViolationKind;
  readonly violation: Violation;
  readonly hits: number;
  readonly pfns?: FindingPages;
  /** The full choice list of that execution: replaying it reproduces the violation. */
  readonly choices: readonly Choice[];
  /** Steps the execution ran. */
  readonly steps: number;
  readonly status: ExecutionStatus;
  /** The execution's index in this exploration. */
  readonly execution: number;
  /** How many executions showed this finding. */
  readonly occurrences: number;
}

export type StopReason = 'finished' | 'budget' | 'time' | 'first-violation' | 'interrupted';

export interface ExplorationResult {
  readonly strategy: StrategyName;
  readonly executions: number;
  /** Executions the step bound cut before they ended (a bound, not a violation: incomplete). */
  readonly stepBound: number;
  /** True only when an exhaustive strategy covered its whole space and nothing cut it. */
  readonly complete: boolean;
  readonly stoppedBy: StopReason;
  readonly violations: readonly FoundViolation[];
  /** Wall time on the injected clock; absent without one. */
  readonly elapsedMs?: number;
}

const DEFAULT_PROGRESS_EVERY = 100;
const DEFAULT_PROGRESS_EVERY_MS = 250;

export function explore(program: Program, strategy: ExplorationStrategy, options: ExploreOptions = {}): ExplorationResult {
  const exploration = new Exploration(program, strategy, options);
  while (exploration.next());
  return exploration.result();
}

/**
 * explore(), giving the event loop a turn (`pause`) whenever `pauseEveryMs` has passed on `now`
 * (default 50 ms), so that a signal handler can ask it to stop (`shouldStop`). The clock decides
 * only when to pause, never what is explored.
 */
export async function exploreAsync(
  program: Program,
  strategy: ExplorationStrategy,
  options: ExploreOptions & { readonly now: () => number; readonly pause: () => Promise<void>; readonly pauseEveryMs?: number },
): Promise<ExplorationResult> {
  const exploration = new Exploration(program, strategy, options);
  const every = options.pauseEveryMs ?? 50;
  let last = options.now();
  while (exploration.next()) {
    if (options.now() - last >= every) {
      await options.pause();
      last = options.now();
    }
  }
  return exploration.result();
}

/**
 * One exploration, one execution per next(): what explore() and exploreAsync() drive, and what a
 * checkpoint snapshots between two executions (checkpoint.ts).
 */
export class Exploration {
  private readonly budget: number;
  private readonly progressEvery: number;
  private readonly progressEveryMs: number;
  private readonly started: number | undefined;
  /** When onProgress was last called, on `now` (the start before the first call). */
  private lastProgress: number | undefined;
  private readonly found = new Map<string, { first: Omit<FoundViolation, 'occurrences'>; occurrences: number }>();
  private executions = 0;
  private stepBound = 0;
  private stoppedBy: StopReason | null = null;

  constructor(
    private readonly program: Program,
    private readonly strategy: ExplorationStrategy,
    private readonly options: ExploreOptions = {},
  ) {
    this.budget = options.budget ?? Infinity;
    this.progressEvery = options.progressEvery ?? DEFAULT_PROGRESS_EVERY;
    if (options.timeMs !== undefined && options.now === undefined) throw new TypeError('explore: timeMs needs a now() clock');
    this.started = options.now?.();
    this.progressEveryMs = options.progressEveryMs ?? DEFAULT_PROGRESS_EVERY_MS;
    this.lastProgress = this.started;
    if (options.resume !== undefined) this.restore(options.resume);
  }

  /** Runs one more execution; false once the exploration has stopped (result() is then final). */
  next(): boolean {
    if (this.stoppedBy !== null) return false;
    const { timeMs, stopAtFirst = false, onProgress, shouldStop, checkpoint } = this.options;
    const strategy = this.strategy;
    // An exhaustive strategy that has just covered everything finished, whatever bound is also due.
    if (strategy.complete) return this.stop('finished');
    if (this.executions >= this.budget) return this.stop('budget');
    if (timeMs !== undefined && (this.elapsed() ?? 0) >= timeMs) return this.stop('time');
    if (shouldStop?.() === true) return this.stop('interrupted');
    if (!strategy.beginExecution(this.executions)) return this.stop('finished');
    const exec = this.program.build(strategy);
    const result = exec.run();
    strategy.endExecution(exec, result);
    if (result.status === 'step-limit') this.stepBound++;
    for (const [key, finding] of groupFindings(result.violations)) {
      const entry = this.found.get(key);
      if (entry !== undefined) entry.occurrences++;
      else {
        const { violation, hits, pfns } = finding;
        const first = { kind: violation.kind, violation, hits, choices: result.choices, steps: result.steps, status: result.status, execution: this.executions };
        this.found.set(key, { first: pfns === undefined ? first : { ...first, pfns }, occurrences: 1 });
      }
    }
    this.executions++;
    if (onProgress !== undefined && (this.executions % this.progressEvery === 0 || this.progressDueByTime())) onProgress(this.progress());
    if (checkpoint !== undefined && checkpoint.due(this.executions)) checkpoint.save(this.snapshot());
    if (stopAtFirst && result.violations.length > 0) return this.stop('first-violation');
    return true;
  }

  /** The outcome so far; final once next() returned false. */
  result(): ExplorationResult {
    const stoppedBy = this.stoppedBy ?? 'interrupted';
    return {
      strategy: this.strategy.name,
      executions: this.executions,
      stepBound: this.stepBound,
      complete: stoppedBy === 'finished' && this.strategy.complete,
      stoppedBy,
      violations: [...this.found.values()].map(({ first, occurrences }) => ({ ...first, occurrences })),
      elapsedMs: this.elapsed(),
    };
  }

  /** The exploration between two executions as plain data (checkpoint.ts). */
  snapshot(): ExplorerSnapshot {
    return {
      executions: this.executions,
      stepBound: this.stepBound,
      strategy: this.strategy.saveState(),
      violations: [...this.found.values()].map(({ first, occurrences }) => ({
        kind: first.kind,
        title: first.violation.title,
        details: [...first.violation.details],
        thread: first.violation.thread,
        step: first.violation.step,
        ...(first.violation.site === undefined ? {} : { site: first.violation.site }),
        ...(first.violation.pfn === undefined ? {} : { pfn: first.violation.pfn }),
        hits: first.hits,
        ...(first.pfns === undefined ? {} : { pfns: first.pfns }),
        token: encodeToken(this.program.identity, first.choices),
        steps: first.steps,
        status: first.status,
        execution: first.execution,
        occurrences,
      })),
    };
  }

  /**
   * Continues from a snapshot: the strategy's state, the count, and each violation's choice list,
   * recovered by replaying its token — which also proves the model still runs it the same way.
   */
  private restore(snapshot: ExplorerSnapshot): void {
    this.strategy.restoreState(snapshot.strategy);
    this.executions = snapshot.executions;
    this.stepBound = snapshot.stepBound;
    snapshot.violations.forEach((v, i) => {
      let replayed;
      try {
        replayed = replayToken(this.program, v.token).result;
      } catch (err) {
        throw new CheckpointError(`violations.${i}.token: does not replay on this program: ${(err as Error).message}`);
      }
      const violation: Violation = {
        kind: v.kind,
        title: v.title,
        details: v.details,
        thread: v.thread,
        step: v.step,
        ...(v.site === undefined ? {} : { site: v.site }),
        ...(v.pfn === undefined ? {} : { pfn: v.pfn }),
      };
      const key = findingKey(violation);
      if (!replayed.violations.some((r) => findingKey(r) === key)) {
        throw new CheckpointError(`violations.${i}.token: replays without reporting ${v.kind}: ${v.title}`);
      }
      const first = { kind: v.kind, violation, hits: v.hits, choices: replayed.choices, steps: v.steps, status: v.status, execution: v.execution };
      this.found.set(key, { first: v.pfns === undefined ? first : { ...first, pfns: v.pfns }, occurrences: v.occurrences });
    });
  }

  private stop(reason: StopReason): false {
    this.stoppedBy = reason;
    this.options.onProgress?.(this.progress());
    if (this.options.checkpoint !== undefined) this.options.checkpoint.save(this.snapshot());
    return false;
  }

  /** Whether `progressEveryMs` has passed on `now` since the last report (never without a clock). */
  private progressDueByTime(): boolean {
    const { now } = this.options;
    return now !== undefined && this.lastProgress !== undefined && now() - this.lastProgress >= this.progressEveryMs;
  }

  /** The progress so far; also marks the time of this report. */
  private progress(): ExplorationProgress {
    const elapsedMs = this.elapsed();
    if (elapsedMs !== undefined && this.started !== undefined) this.lastProgress = this.started + elapsedMs;
    return { executions: this.executions, violations: this.found.size, coverage: this.strategy.coverage(), elapsedMs };
  }

  private elapsed(): number | undefined {
    const { now } = this.options;
    return now === undefined || this.started === undefined ? undefined : now() - this.started;
  }
}

/**
 * One execution's violations as findings (findingKey), in the order each was first reported: the
 * first report of each, how many there were, and the range of frames they named.
 */
export function groupFindings(violations: readonly Violation[]): Map<string, { violation: Violation; hits: number; pfns?: FindingPages }> {
  const out = new Map<string, { violation: Violation; hits: number; pfns?: FindingPages }>();
  for (const v of violations) {
    const key = findingKey(v);
    const seen = out.get(key);
    const pfns = v.pfn === undefined ? seen?.pfns : { first: Math.min(v.pfn, seen?.pfns?.first ?? v.pfn), last: Math.max(v.pfn, seen?.pfns?.last ?? v.pfn) };
    out.set(key, { violation: seen?.violation ?? v, hits: (seen?.hits ?? 0) + 1, ...(pfns === undefined ? {} : { pfns }) });
  }
  return out;
}
