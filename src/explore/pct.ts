/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
 * Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
 *
 * Each execution gives the threads distinct random priorities d .. d+n-1 and picks d-1 priority
 * change points uniformly among the k steps; it always runs the highest-priority runnable thread,
 * and at the j-th change point (in step order) the thread that would run drops to priority d-j,
 * below every initial priority. Data choices are uniform at random; an injected fault is one value
 * among the others, and once an execution has taken the fault bound every later fault point takes
 * "no fault". The guarantee below is about thread orders and holds whatever the data choices.
 *
 * Guarantee (the paper's Theorem 1): for a bug of depth d (d ordering constraints between steps)
 * in a program of n threads and at most k steps, one execution finds it with probability at least
 * 1 / (n * k^(d-1)). Never complete.
 *
 * k: fixed when `stepsEstimate` is given (execution i then depends on (seed, i) alone, docs/architecture.md,
 * Determinism, which is what shards and workers need); otherwise the running maximum of the thread steps
 * seen so far, as Shuttle's PCT does — execution 0 then has no change points, and execution i
 * depends on the executions before it in this run (their step counts only).
 * A thread first seen after the first step (spawned later, or blocked until then) gets a random
 * place among the initial priorities.
 */
import type { ChoicePoint, ExecutionResult } from '../sim/index.ts';
import { below, executionRng, type RandomGenerator } from './rng.ts';
import { checkFaultBound, expectState, type PctState, type StrategyState } from './checkpoint.ts';
import { FaultCount } from './faults.ts';
import type { ExplorationStrategy } from './strategy.ts';

export interface PctOptions {
  /** Bug depth d: d-1 priority change points per execution (default 3). */
  readonly depth?: number;
  /** Step-count estimate k (see the header). */
  readonly stepsEstimate?: number;
  /** Stop after this many executions (default: never; the explorer's budget decides). */
  readonly executions?: number;
  /** At most this many injected faults per execution (default: any number). */
  readonly faults?: number;
}

export const DEFAULT_PCT_DEPTH = 3;

export class PctScheduler implements ExplorationStrategy {
  readonly name = 'pct';
  readonly exhaustive = false;
  readonly complete = false;
  executions = 0;
  readonly depth: number;
  private rng: RandomGenerator;
  private maxSteps = 0;
  /** Thread ids in the initial-priority band, highest priority first. */
  private order: number[] = [];
  /** Threads lowered at a change point: thread id -> priority (below every initial one). */
  private lowered = new Map<number, number>();
  /** Change points, ascending, as 1-based thread-step numbers. */
  private changePoints: number[] = [];
  private nextChange = 0;
  private steps = 0;
  private readonly faults: FaultCount;

  constructor(
    private readonly seed: number,
    private readonly options: PctOptions = {},
  ) {
    this.depth = options.depth ?? DEFAULT_PCT_DEPTH;
    if (!Number.isInteger(this.depth) || this.depth < 1) throw new RangeError(`pct depth must be an integer >= 1, got ${this.depth}`);
    this.rng = executionRng(seed, 0);
    this.faults = new FaultCount(options.faults);
  }

  beginExecution(index: number): boolean {
    if (index >= (this.options.executions ?? Infinity)) return false;
    this.executions++;
    this.rng = executionRng(this.seed, index);
    this.order = [];
    this.lowered.clear();
    this.steps = 0;
    this.nextChange = 0;
    this.faults.reset();
    const k = this.options.stepsEstimate ?? this.maxSteps;
    const points: number[] = [];
    if (k > 0) for (let j = 0; j < this.depth - 1; j++) points.push(1 + below(this.rng, k));
    this.changePoints = points.sort((a, b) => a - b);
    return true;
  }

  choose(point: ChoicePoint): number {
    const n = point.options.length;
    if (point.kind === 'data') return this.faults.sample(point, () => (n === 1 ? 0 : below(this.rng, n)));
    const ids = point.threadIds;
    if (ids === undefined) return 0;
    this.steps++;
    this.admit(ids);
    let pick = this.highest(ids);
    // Several change points may fall on the same step: each lowers whoever would run then.
    while (this.nextChange < this.changePoints.length && this.changePoints[this.nextChange] === this.steps) {
      this.nextChange++;
      const id = ids[pick];
      const at = this.order.indexOf(id);
      if (at >= 0) this.order.splice(at, 1);
      this.lowered.set(id, this.depth - this.nextChange);
      pick = this.highest(ids);
    }
    return pick;
  }

  endExecution(_exec: unknown, result: ExecutionResult): void {
    let threadSteps = 0;
    for (const c of result.choices) if (c.kind === 'thread') threadSteps++;
    if (threadSteps > this.maxSteps) this.maxSteps = threadSteps;
  }

  coverage(): undefined {
    return undefined;
  }

  /** Between executions: the count begun and the running step maximum (the per-execution fields are reset by beginExecution). */
  saveState(): PctState {
    return { name: 'pct', ...(this.faults.bound === undefined ? {} : { faults: this.faults.bound }), executions: this.executions, maxSteps: this.maxSteps };
  }

  restoreState(state: StrategyState): void {
    const s = expectState('pct', state);
    checkFaultBound(s.faults, this.faults.bound);
    this.executions = s.executions;
    this.maxSteps = s.maxSteps;
  }

  /** Gives threads seen for the first time a random place in the initial band. */
  private admit(ids: readonly number[]): void {
    for (const id of ids) {
      if (this.lowered.has(id) || this.order.includes(id)) continue;
      this.order.splice(below(this.rng, this.order.length + 1), 0, id);
    }
  }

  /** The option index of the highest-priority runnable thread. */
  private highest(ids: readonly number[]): number {
    for (const id of this.order) {
      const i = ids.indexOf(id);
      if (i >= 0) return i;
    }
    let best = -1;
    let bestPriority = -Infinity;
    for (let i = 0; i < ids.length; i++) {
      const p = this.lowered.get(ids[i]) ?? -Infinity;
      if (p > bestPriority) {
        best = i;
        bestPriority = p;
      }
    }
    return best;
  }
}
