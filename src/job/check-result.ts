/**
 * The record a check job returns (`check --json`, one shard's part of `kptsim merge`), as one zod
 * schema: the types come from it, merge validates its inputs with it, and a record parsed with it
 * has its fields in the schema's order — so a merged result prints like one made here.
 */
import { z } from 'zod';
import { STRATEGY_NAMES, type StrategyName } from '../explore/index.ts';
import { PREEMPT_MODES, VIOLATION_KINDS } from '../sim/index.ts';

const count = z.number().int().nonnegative();

/** The configuration's nondeterminism, from one round-robin execution (the verdict speaks of it). */
export const checkSpaceSchema = z.object({
  /** Threads of the execution (PCT's n). */
  threads: count,
  /** Steps of the execution (PCT's k, as the strategy used it). */
  steps: count,
  /** The data choices the configuration offers besides thread choices. */
  dataChoices: z.array(z.string()).readonly(),
  /**
   * Those of `dataChoices` that inject a fault (an allocation failure); the others are hardware
   * nondeterminism. Absent in results from before the fault bound.
   */
  faultChoices: z.array(z.string()).readonly().optional(),
  /** At most this many injected faults per execution (--faults); absent: any number. */
  faults: count.optional(),
  /** The kernel's preemption model (the scenario's config.preempt); absent in results from before it. */
  preempt: z.enum(PREEMPT_MODES).optional(),
  /** The scenario's config.tornLists: each store of a helper on a shared list was a step of its own. */
  tornLists: z.literal(true).optional(),
  pctDepth: z.number().int().positive().optional(),
  preemptionBound: count.optional(),
});

export const verdictSchema = z.object({
  kind: z.enum(['bug', 'proved', 'not-found']),
  /** A few words for a table cell: "bug: iommu-uncovered-free", "proved", "not found in 40". */
  summary: z.string(),
  /** What it rests on: what was covered, or what N means. */
  detail: z.string(),
});

/** A hazard's witness: the token of a concrete use-after-free at its site, or how long the search looked. */
export const witnessSchema = z.object({
  replay: z.string().nullable(),
  kind: z.string().optional(),
  message: z.string().optional(),
  /** Executions the search ran (up to and including the witness). */
  runs: count,
});

export const checkViolationSchema = z.object({
  kind: z.enum(VIOLATION_KINDS),
  /** The report's title line, in kernel terms. */
  message: z.string(),
  /** Where the bug is (the freeing path and table level, for the page-table oracles); findings differ by kind and site. */
  site: z.string().optional(),
  /** Reports of this finding in the execution that first showed it, and the frames they named. */
  hits: z.number().int().positive(),
  pfns: z.object({ first: count, last: count }).optional(),
  details: z.array(z.string()).readonly(),
  thread: z.string(),
  /** `kptsim replay <replay>` reproduces the (shrunk) execution and this report. */
  replay: z.string(),
  /** Steps up to the step the finding was reported at, after shrinking and in the execution that first found it (steps ≤ originalSteps). */
  steps: count,
  originalSteps: count,
  preemptions: count,
  originalPreemptions: count,
  /** Executions that showed this finding, and the global index of the first. */
  occurrences: z.number().int().positive(),
  execution: count,
  /** The shrunk schedule, one run of one thread per line. */
  schedule: z.array(z.string()).readonly(),
  /** For a hazard (iommu-uncovered-free): the witness search's outcome. */
  witness: witnessSchema.optional(),
});

/**
 * The inputs that define a run: every shard of one run has the same (kptsim merge refuses shards
 * that differ in any). A bound not given is null; `faults` may also be absent (a result written
 * before the fault bound, which had none), which compares as null. `depth` is PCT's (null for other strategies, which
 * do not read it); `identity` is a sha256 of the program identity (design name and source, scenario
 * name, parameters and machine), so a shard of another design or scenario file of the same names
 * is caught too.
 */
export const checkRunSchema = z.object({
  design: z.string(),
  scenario: z.string(),
  strategy: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]),
  seed: count,
  budget: count.nullable(),
  timeMs: z.number().nonnegative().nullable(),
  depth: z.number().int().positive().nullable(),
  preemptionBound: count.nullable(),
  faults: count.nullable().optional(),
  maxSteps: z.number().int().positive().nullable(),
  identity: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest'),
});

/**
 * Which part of the run this result covers: the executions whose global index is `index` modulo
 * `count` (src/explore/partition.ts). A run not split is shard 0 of 1; a worker's slice of shard
 * i of N among W workers is shard i + N·w of N·W, so merging those W gives back shard i of N.
 * Invariant: index < count.
 */
export const checkShardSchema = z
  .object({
    index: count,
    count: z.number().int().positive(),
    run: checkRunSchema,
  })
  .refine((s) => s.index < s.count, { message: 'index must be below count', path: ['index'] });

export const checkResultSchema = z.object({
  version: z.literal(1),
  design: z.string(),
  scenario: z.string(),
  strategy: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]),
  seed: count,
  executions: count,
  complete: z.boolean(),
  stoppedBy: z.enum(['finished', 'budget', 'time', 'first-violation', 'interrupted']),
  /** Executions the step bound (--max-steps) cut before they ended: what they did not reach is not covered. */
  stepBound: count,
  violations: z.array(checkViolationSchema).readonly(),
  space: checkSpaceSchema,
  verdict: verdictSchema,
  shard: checkShardSchema,
  /** Wall-clock time of the exploration (a timing, not a result). */
  elapsedMs: z.number().nonnegative().optional(),
});

export type CheckSpace = z.infer<typeof checkSpaceSchema>;
export type Verdict = z.infer<typeof verdictSchema>;
export type Witness = z.infer<typeof witnessSchema>;
export type CheckViolation = z.infer<typeof checkViolationSchema>;
export type CheckRun = z.infer<typeof checkRunSchema>;
export type CheckShard = z.infer<typeof checkShardSchema>;
export type CheckResult = z.infer<typeof checkResultSchema>;
