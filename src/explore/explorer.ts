/**
 * The explorer loop: build a fresh world per execution, let the strategy drive it, collect what
 * went wrong with the choice list that reproduces it. Bounds (executions, time, first violation)
 * are the loop's, so `complete` is claimed only when an exhaustive strategy ran out of executions
 * by itself (STYLE.md §13). Time comes from an injected clock; printing is the caller's job.
 */
import type { Choice, ExecutionStatus, Violation, ViolationKind } from '../sim/index.ts';
import type { Program } from './program.ts';
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
  /** Called every `progressEvery` executions (default 100) and once at the end. */
  readonly onProgress?: (progress: ExplorationProgress) => void;
  readonly progressEvery?: number;
}

export interface ExplorationProgress {
  readonly executions: number;
  /** Distinct violations found so far. */
  readonly violations: number;
  /** The strategy's coverage estimate in [0, 1], where it has one. */
  readonly coverage?: number;
  readonly elapsedMs?: number;
}

/** One distinct violation (kind and title), with the first execution that showed it. */
export interface FoundViolation {
  readonly kind: ViolationKind;
  readonly violation: Violation;
  /** The full choice list of that execution: replaying it reproduces the violation. */
  readonly choices: readonly Choice[];
  /** Steps the execution ran. */
  readonly steps: number;
  readonly status: ExecutionStatus;
  /** The execution's index in this exploration. */
  readonly execution: number;
  /** How many executions showed a violation with this kind and title. */
  readonly occurrences: number;
}

export type StopReason = 'finished' | 'budget' | 'time' | 'first-violation';

export interface ExplorationResult {
  readonly strategy: StrategyName;
  readonly executions: number;
  /** True only when an exhaustive strategy covered its whole space and nothing cut it. */
  readonly complete: boolean;
  readonly stoppedBy: StopReason;
  readonly violations: readonly FoundViolation[];
  /** Wall time on the injected clock; absent without one. */
  readonly elapsedMs?: number;
}

const DEFAULT_PROGRESS_EVERY = 100;

export function explore(program: Program, strategy: ExplorationStrategy, options: ExploreOptions = {}): ExplorationResult {
  const { budget = Infinity, timeMs, stopAtFirst = false, now, onProgress } = options;
  const progressEvery = options.progressEvery ?? DEFAULT_PROGRESS_EVERY;
  if (timeMs !== undefined && now === undefined) throw new TypeError('explore: timeMs needs a now() clock');
  const started = now?.();
  const elapsed = (): number | undefined => (now === undefined || started === undefined ? undefined : now() - started);
  const found = new Map<string, { first: Omit<FoundViolation, 'occurrences'>; occurrences: number }>();
  const progress = (executions: number): ExplorationProgress => ({
    executions,
    violations: found.size,
    coverage: strategy.coverage(),
    elapsedMs: elapsed(),
  });

  let executions = 0;
  let stoppedBy: StopReason;
  for (;;) {
    // An exhaustive strategy that has just covered everything finished, whatever bound is also due.
    if (strategy.complete) {
      stoppedBy = 'finished';
      break;
    }
    if (executions >= budget) {
      stoppedBy = 'budget';
      break;
    }
    if (timeMs !== undefined && (elapsed() ?? 0) >= timeMs) {
      stoppedBy = 'time';
      break;
    }
    if (!strategy.beginExecution(executions)) {
      stoppedBy = 'finished';
      break;
    }
    const exec = program.build(strategy);
    const result = exec.run();
    strategy.endExecution(exec, result);
    for (const violation of result.violations) {
      const key = `${violation.kind}\u0000${violation.title}`;
      const entry = found.get(key);
      if (entry !== undefined) entry.occurrences++;
      else
        found.set(key, {
          first: { kind: violation.kind, violation, choices: result.choices, steps: result.steps, status: result.status, execution: executions },
          occurrences: 1,
        });
    }
    executions++;
    if (onProgress !== undefined && executions % progressEvery === 0) onProgress(progress(executions));
    if (stopAtFirst && result.violations.length > 0) {
      stoppedBy = 'first-violation';
      break;
    }
  }
  onProgress?.(progress(executions));
  return {
    strategy: strategy.name,
    executions,
    complete: stoppedBy === 'finished' && strategy.complete,
    stoppedBy,
    violations: [...found.values()].map(({ first, occurrences }) => ({ ...first, occurrences })),
    elapsedMs: elapsed(),
  };
}
