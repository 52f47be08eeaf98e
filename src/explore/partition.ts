/**
 * A slice of a sampling exploration: the executions whose global index is offset, offset + stride,
 * offset + 2·stride, ... — what one shard (and one worker within it) runs. Because random and PCT
 * execution i depends on (seed, i) alone, the union of the slices is exactly the unsliced run,
 * whatever the number of shards and workers; merging keeps each violation's lowest global index.
 */
import type { ChoicePoint, Execution, ExecutionResult } from '../sim/index.ts';
import type { StrategyState } from './checkpoint.ts';
import type { ExplorationStrategy } from './strategy.ts';

export interface Slice {
  readonly offset: number;
  readonly stride: number;
}

export const WHOLE: Slice = { offset: 0, stride: 1 };

/** The slice worker `w` of `workers` takes within shard `index` of `count`. */
export function sliceOf(shard: { index: number; count: number }, worker: number, workers: number): Slice {
  return { offset: shard.index + shard.count * worker, stride: shard.count * workers };
}

/** How many of the global indices below `budget` fall in the slice. */
export function sliceBudget(slice: Slice, budget: number): number {
  return budget <= slice.offset ? 0 : Math.ceil((budget - slice.offset) / slice.stride);
}

export function globalIndex(slice: Slice, local: number): number {
  return slice.offset + slice.stride * local;
}

/** Runs `inner` on the slice's global indices (sampling strategies only: they have no tree). */
export class SlicedStrategy implements ExplorationStrategy {
  constructor(
    private readonly inner: ExplorationStrategy,
    private readonly slice: Slice,
  ) {
    if (inner.exhaustive) throw new TypeError(`an exhaustive strategy (${inner.name}) cannot be sliced by execution index`);
  }

  get name() {
    return this.inner.name;
  }
  get exhaustive() {
    return this.inner.exhaustive;
  }
  get executions() {
    return this.inner.executions;
  }
  get complete() {
    return this.inner.complete;
  }

  beginExecution(local: number): boolean {
    return this.inner.beginExecution(globalIndex(this.slice, local));
  }

  choose(point: ChoicePoint): number | 'abandon' {
    return this.inner.choose(point);
  }

  endExecution(exec: Execution, result: ExecutionResult): void {
    this.inner.endExecution(exec, result);
  }

  coverage(): number | undefined {
    return this.inner.coverage();
  }

  saveState(): StrategyState {
    return this.inner.saveState();
  }

  restoreState(state: StrategyState): void {
    this.inner.restoreState(state);
  }
}
