/**
 * Stateless exhaustive search (dfs, dpor) re-executes the program from scratch and forces the
 * choices of the path it is extending. If the program offers something else at a forced choice it
 * is not deterministic, and every result of the search would be meaningless: that is a model bug.
 */
import { ModelInvariantError, type ChoiceKind, type ChoicePoint, type ExecutionResult } from '../sim/index.ts';

/** What a search node remembers of the choice point it was created at. */
export interface RecordedPoint {
  readonly kind: ChoiceKind;
  readonly reason: string;
  readonly optionCount: number;
  /** Thread ids offered, for thread choices. */
  readonly ids?: readonly number[];
}

/** Throws unless `point` offers what `node` recorded when the path was first explored. */
export function checkForcedPoint(strategy: string, node: RecordedPoint, point: ChoicePoint): void {
  const ids = point.threadIds;
  const same =
    node.kind === point.kind &&
    node.reason === point.reason &&
    node.optionCount === point.options.length &&
    (node.ids === undefined || (ids !== undefined && ids.every((id, i) => id === node.ids![i])));
  if (!same) {
    throw new ModelInvariantError(
      `${strategy} re-execution diverged at choice ${point.index}: the path recorded ${node.kind} ${node.reason} with ${node.optionCount} options, ` +
        `the program now offers ${point.kind} ${point.reason} among [${point.options.join(',')}] (the program is not deterministic)`,
    );
  }
}

/** Throws when an execution ended before the end of the path it was forced along. */
export function checkPathReplayed(strategy: string, pathLength: number, result: ExecutionResult): void {
  if (result.choices.length < pathLength) {
    throw new ModelInvariantError(
      `${strategy} re-execution ended (${result.status}) after ${result.choices.length} choices, before the ${pathLength} of the path it replays (the program is not deterministic)`,
    );
  }
}

/**
 * The fraction of a search tree left of the current path, each node's options counted as equally
 * large: node i contributes (options already done before the current one) / (its options), scaled
 * by the share of the tree its parent's current option holds.
 */
export function pathCoverage(path: readonly { readonly before: number; readonly total: number }[]): number {
  let covered = 0;
  let weight = 1;
  for (const { before, total } of path) {
    covered += (weight * before) / total;
    weight /= total;
  }
  return covered;
}
