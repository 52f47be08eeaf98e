/**
 * `kptsim check --checkpoint FILE` / `--resume FILE`: the checkpoint file, and Ctrl-C.
 *
 * The file (JSON, written whole by writeFileAtomic, so a kill never leaves half of one):
 *
 *   { "format": "kptsim-checkpoint", "version": 1,
 *     "inputs":    { design, scenario, strategy, seed, budget, timeMs, depth, preemptionBound,
 *                    faults, maxSteps, shard: { index, count } }   -- the check's inputs, as resolved
 *     "inputHash": sha256 of the program identity (design name and source, scenario parameters
 *                  and machine) and of the text of a design module or scenario file given by path
 *     "state":     the exploration between two executions (src/explore/checkpoint.ts): executions
 *                  run, the strategy's state, violations so far with their replay tokens, counts }
 *
 * `--resume FILE` takes every input from the file (giving one again on the command line is
 * refused), checks the hash against the design and scenario as they are now (a changed input is
 * refused: exit 2) and continues; it ends with the same result as a run never interrupted
 * (elapsedMs aside), because a snapshot is a function of the executions run so far and the
 * exploration after it depends only on it. Wall-clock time decides only when to save.
 *
 * Ctrl-C (SIGINT): the run stops starting executions, prints what it covered (stoppedBy
 * 'interrupted', complete: false) with the tokens of the violations found (not shrunk: the user
 * asked to stop), saves the checkpoint when one was asked for, and exits 1 if it found a violation,
 * else 130 (128 + SIGINT, what a shell reports for an interrupted command: "nothing found" would
 * be a lie). A second Ctrl-C exits at once.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { STRATEGY_NAMES, describeIssue, explorerSnapshotSchema, type ExploreCheckpoint, type ExplorerSnapshot, type StrategyName } from '../job/inputs.ts';
import { UsageError } from './context.ts';
import { isFileSpec } from './load.ts';
import { isStdout, writeFileAtomic } from './output.ts';

export const CHECKPOINT_FORMAT = 'kptsim-checkpoint';
export const CHECKPOINT_VERSION = 1;

const count = z.number().int().nonnegative();

const inputsSchema = z
  .object({
    design: z.string().min(1),
    scenario: z.string().min(1),
    strategy: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]),
    seed: count,
    budget: count.optional(),
    timeMs: z.number().nonnegative().optional(),
    depth: count.min(1),
    preemptionBound: count.optional(),
    faults: count.optional(),
    maxSteps: count.min(1),
    shard: z.object({ index: count, count: z.number().int().positive() }).strict(),
  })
  .strict();

export type CheckpointInputs = z.infer<typeof inputsSchema>;

const fileSchema = z
  .object({
    format: z.literal(CHECKPOINT_FORMAT),
    version: z.literal(CHECKPOINT_VERSION),
    inputs: inputsSchema,
    inputHash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest'),
    state: explorerSnapshotSchema,
  })
  .strict();

export type CheckpointFile = z.infer<typeof fileSchema>;

/** Reads and validates a checkpoint; every failure is one line naming the file and the field. */
export function readCheckpoint(path: string): CheckpointFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--resume ${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UsageError(`--resume ${path}: not JSON (a kptsim check --checkpoint file was expected)`);
  }
  const head = z.object({ format: z.literal(CHECKPOINT_FORMAT), version: z.number() }).safeParse(doc);
  if (!head.success) throw new UsageError(`--resume ${path}: format: expected "${CHECKPOINT_FORMAT}" (not a kptsim checkpoint)`);
  if (head.data.version !== CHECKPOINT_VERSION) {
    throw new UsageError(`--resume ${path}: version: this kptsim reads checkpoint version ${CHECKPOINT_VERSION}, the file is version ${head.data.version}`);
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) throw new UsageError(`--resume ${path}: ${describeIssue(parsed.error)}`);
  const { shard } = parsed.data.inputs;
  if (shard.index >= shard.count) throw new UsageError(`--resume ${path}: inputs.shard: index ${shard.index} is not below count ${shard.count}`);
  if (parsed.data.state.strategy.name !== parsed.data.inputs.strategy) {
    throw new UsageError(`--resume ${path}: state.strategy.name: ${parsed.data.state.strategy.name} does not match inputs.strategy ${parsed.data.inputs.strategy}`);
  }
  const { faults } = parsed.data.inputs;
  if (parsed.data.state.strategy.faults !== faults) {
    const shown = (n: number | undefined) => (n === undefined ? 'none' : String(n));
    throw new UsageError(`--resume ${path}: state.strategy.faults: ${shown(parsed.data.state.strategy.faults)} does not match inputs.faults ${shown(faults)}`);
  }
  return parsed.data;
}

/**
 * What the result depends on besides the inputs' names: the program identity, and the text of a
 * design module or scenario file named by path (a built-in's text is part of this kptsim).
 */
export function inputHash(identity: string, inputs: Pick<CheckpointInputs, 'design' | 'scenario'>): string {
  const h = createHash('sha256');
  h.update(identity);
  for (const spec of [inputs.design, inputs.scenario]) {
    h.update('\u0000');
    if (isFileSpec(spec)) h.update(readFileSync(resolve(spec)));
  }
  return h.digest('hex');
}

/** Refuses to resume when the design or the scenario is not what the checkpoint was taken on. */
export function checkInputHash(path: string, file: CheckpointFile, now: string): void {
  if (now !== file.inputHash) {
    throw new UsageError(
      `--resume ${path}: inputHash: the design ${file.inputs.design} or the scenario ${file.inputs.scenario} changed since the checkpoint was written; start a new run`,
    );
  }
}

/**
 * Saves to `path` after every `every` executions when given, else whenever `everyMs` of wall time
 * has passed since the last save (the clock decides when, never what), and when the run stops.
 */
export function checkpointWriter(path: string, inputs: CheckpointInputs, hash: string, every: number | undefined, now: () => number, everyMs = 5000): ExploreCheckpoint {
  // Refuse an unwritable place before the first execution, not minutes into the run.
  if (isStdout(path)) throw new UsageError(`--checkpoint ${path}: a checkpoint is a file to resume from, not standard output`);
  try {
    accessSync(dirname(resolve(path)), constants.W_OK);
  } catch {
    throw new UsageError(`--checkpoint ${path}: the directory does not exist or is not writable`);
  }
  let last = now();
  return {
    due(executions) {
      if (every !== undefined) return executions % every === 0;
      if (now() - last < everyMs) return false;
      last = now();
      return true;
    },
    save(state: ExplorerSnapshot) {
      const file: CheckpointFile = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, inputs, inputHash: hash, state };
      writeFileAtomic(path, JSON.stringify(file) + '\n', '--checkpoint');
    },
  };
}

/** Ctrl-C: the first asks the run to stop (shouldStop), a second exits at once. */
export function sigintStopper(onFirst: () => void): { shouldStop: () => boolean; dispose: () => void } {
  let stop = false;
  const handler = (): void => {
    if (stop) process.exit(130);
    stop = true;
    onFirst();
  };
  process.on('SIGINT', handler);
  return { shouldStop: () => stop, dispose: () => process.off('SIGINT', handler) };
}
