/**
 * What an exploration is between two executions, as plain JSON data: enough to stop the process
 * and continue in another one with the same result as a run that never stopped (`kptsim check
 * --checkpoint/--resume`). Wall-clock time may decide when a snapshot is taken, never what it
 * holds: a snapshot is a function of the executions run so far.
 *
 * Per strategy (each strategy's saveState/restoreState):
 *  - random, pct: the next execution index (execution i depends on (seed, i) alone) and, for pct,
 *    the running step maximum (used only when no step estimate was fixed);
 *  - dfs: the search stack (each node's choice kind, reason, option count, thread ids, the option
 *    order it explores and its position in it), whether a bound cut the search, whether it ended;
 *  - dpor: the stack (thread nodes with their runnable ids, pending steps, sleep, backtrack and done
 *    sets in insertion order; data nodes with the option order they explore), the threads' CPUs
 *    learnt so far, the counters.
 * Each also holds its fault bound (--faults; absent: any number, as in files from before the
 * bound): the tree a snapshot describes was cut to that bound, so a run with another one is refused.
 * dfs and dpor also hold where their fault sweep is (src/explore/faults.ts; absent: not begun).
 * Violations found so far are kept with the replay token of the execution that first showed them
 * (not shrunk): resuming replays the token to get the full choice list back, which also checks that
 * the model still runs that execution the same way.
 *
 * Schemas validate a snapshot read from a file: a wrong shape is refused with the path of the
 * field (CheckpointError), never half-applied.
 */
import { z } from 'zod';
import { VIOLATION_KINDS, type ExecutionStatus } from '../sim/index.ts';

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

const count = z.number().int().nonnegative();
const threadId = z.number().int().nonnegative();

const stepSchema = z
  .object({
    label: z.string(),
    access: z.enum(['read', 'write', 'acquire', 'release', 'local']),
    obj: z.number().int().min(-1),
  })
  .strict();

/** At most this many injected faults per execution (--faults); absent: any number. */
const faults = count.optional();
/** The fault sweep (src/explore/faults.ts): the fault point the next sweep execution fails, or over; absent: not begun. */
const sweep = z.union([z.number().int().positive(), z.literal('over')]).optional();

const randomState = z.object({ name: z.literal('random'), faults, executions: count }).strict();
const pctState = z.object({ name: z.literal('pct'), faults, executions: count, maxSteps: count }).strict();

const dfsNode = z
  .object({
    kind: z.enum(['thread', 'data']),
    reason: z.string(),
    optionCount: z.number().int().positive(),
    ids: z.array(threadId).optional(),
    order: z.array(count),
    pos: count,
  })
  .strict();
const dfsState = z.object({ name: z.literal('dfs'), faults, sweep, executions: count, cut: z.boolean(), finished: z.boolean(), stack: z.array(dfsNode) }).strict();

const dporThreadNode = z
  .object({
    kind: z.literal('thread'),
    reason: z.string(),
    optionCount: z.number().int().positive(),
    ids: z.array(threadId),
    steps: z.array(stepSchema),
    sleep: z.array(z.tuple([threadId, stepSchema])),
    backtrack: z.array(threadId),
    done: z.array(threadId),
    chosen: count,
  })
  .strict();
/** `order`: the options explored, in order (absent in files from before fault-first: 0, 1, ...); `chosen` is one of them. */
const dporDataNode = z
  .object({ kind: z.literal('data'), reason: z.string(), optionCount: z.number().int().positive(), order: z.array(count).optional(), chosen: count })
  .strict();
const dporState = z
  .object({
    name: z.literal('dpor'),
    faults,
    sweep,
    executions: count,
    sleepBlocked: count,
    cut: z.boolean(),
    finished: z.boolean(),
    cpuOf: z.array(z.number().int().min(-1)),
    stack: z.array(z.discriminatedUnion('kind', [dporThreadNode, dporDataNode])),
  })
  .strict();

export const strategyStateSchema = z.discriminatedUnion('name', [randomState, pctState, dfsState, dporState]);

export type StrategyState = z.infer<typeof strategyStateSchema>;
export type RandomState = z.infer<typeof randomState>;
export type PctState = z.infer<typeof pctState>;
export type DfsState = z.infer<typeof dfsState>;
export type DporState = z.infer<typeof dporState>;

const STATUSES = ['quiescent', 'deadlock', 'step-limit', 'abandoned', 'violation'] as const satisfies readonly ExecutionStatus[];

const savedViolation = z
  .object({
    kind: z.enum(VIOLATION_KINDS),
    title: z.string(),
    details: z.array(z.string()),
    thread: z.string(),
    step: count,
    site: z.string().optional(),
    pfn: count.optional(),
    /** Reports of this finding in that execution, and the range of the frames they named. */
    hits: z.number().int().positive(),
    pfns: z.object({ first: count, last: count }).strict().optional(),
    /** Replay token of the whole execution that first showed it (not shrunk). */
    token: z.string(),
    steps: count,
    status: z.enum(STATUSES),
    execution: count,
    occurrences: z.number().int().positive(),
  })
  .strict();

export const explorerSnapshotSchema = z
  .object({
    executions: count,
    /** Executions the step bound cut (status 'step-limit'). */
    stepBound: count.default(0),
    strategy: strategyStateSchema,
    violations: z.array(savedViolation),
  })
  .strict();

export type SavedViolation = z.infer<typeof savedViolation>;
export type ExplorerSnapshot = z.infer<typeof explorerSnapshotSchema>;

/** Throws CheckpointError naming the field when `state` is not a `name` strategy's state. */
export function expectState<N extends StrategyState['name']>(name: N, state: StrategyState): Extract<StrategyState, { name: N }> {
  if (state.name !== name) throw new CheckpointError(`strategy.name: expected ${name}, got ${state.name}`);
  return state as Extract<StrategyState, { name: N }>;
}

/** Throws CheckpointError unless a snapshot's fault bound is this run's (undefined: any number). */
export function checkFaultBound(saved: number | undefined, mine: number | undefined): void {
  if (saved === mine) return;
  const says = (n: number | undefined) => (n === undefined ? 'no fault bound (any number of injected faults)' : `--faults ${n}`);
  throw new CheckpointError(`strategy.faults: the snapshot was taken with ${says(saved)}, this run has ${says(mine)}; a run continues only with the bound it began with`);
}

/** The first issue of a failed parse as one line: `field.path: message`. */
export function describeIssue(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  const path = [prefix, ...issue.path.map(String)].filter((s) => s !== '').join('.');
  return `${path || '(top level)'}: ${issue.message}`;
}
