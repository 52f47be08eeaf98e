/**
 * `kptsim check`: explore a design on a scenario with a strategy, shrink every violation found to a
 * short schedule, and return the record that `--json` prints (docs/architecture.md, Commands and exit codes):
 * `{design, scenario, strategy, executions, complete, violations: [{kind, message, replay, steps}],
 * elapsedMs}` — plus, per violation, the kernel-terms report, the shrinking figures and a readable
 * schedule. Pure: the clock and the progress sink are injected.
 */
import { createHash } from 'node:crypto';
import type { Design } from '../designs/index.ts';
import {
  RoundRobinScheduler,
  STRATEGIES,
  SlicedStrategy,
  WHOLE,
  countPreemptions,
  globalIndex,
  sliceBudget,
  encodeToken,
  explore,
  replayChoices,
  exploreAsync,
  renderSchedule,
  shrink,
  type ExecutionGuard,
  type ExplorationProgress,
  type ExplorationResult,
  type ExplorationStrategy,
  type ExploreCheckpoint,
  type ExploreOptions,
  type ExplorerSnapshot,
  type Finding,
  type Program,
  type Slice,
  type StrategyName,
} from '../explore/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { findingKey, type Choice, type Violation } from '../sim/index.ts';
import { LEGACY_IOTLB_CHOICE } from '../hw/index.ts';
import { programOf } from './program.ts';
import { checkResultSchema, type CheckResult, type CheckRun, type CheckShard, type CheckSpace, type CheckViolation } from './check-result.ts';
import { checkVerdict } from './verdict.ts';
import { searchWitness } from './witness.ts';

export interface CheckOptions {
  readonly strategy: StrategyName;
  readonly seed: number;
  /** At most this many executions. */
  readonly budget?: number;
  readonly timeMs?: number;
  readonly pctDepth?: number;
  readonly preemptionBound?: number;
  /** At most this many injected faults (GFP_ATOMIC failures) per execution; default: any number. */
  readonly faults?: number;
  readonly maxSteps?: number;
  /** Candidate executions the shrinker may run per violation (0: do not shrink). */
  readonly shrinkRuns?: number;
  /** Executions the witness search may run per hazard finding (0: no search; default 50). */
  readonly witnessRuns?: number;
  readonly now?: () => number;
  readonly onProgress?: (p: ExplorationProgress) => void;
  /** The executions this run takes (a shard, a worker); random and pct only. */
  readonly slice?: Slice;
  /** Asked before each execution; true stops the run (stoppedBy 'interrupted', nothing shrunk). */
  readonly shouldStop?: () => boolean;
  /** Periodic snapshots of the exploration (kptsim check --checkpoint). */
  readonly checkpoint?: ExploreCheckpoint;
  /** Continue from a snapshot; the other options must be those it was taken with. */
  readonly resume?: ExplorerSnapshot;
  /** Check the model's own invariants before every step (src/check/invariants.ts). */
  readonly selfCheck?: boolean;
  /** Sees every execution this run builds (the CLI's watchdog for user designs). */
  readonly guard?: ExecutionGuard;
}

export function check(design: Design, scenario: Scenario, options: CheckOptions, label: string): CheckResult {
  const run = prepareCheck(design, scenario, options);
  return finishCheck(run, explore(run.program, run.strategy, run.explore), label);
}

/**
 * check(), giving the event loop a turn every 50 ms of exploration so that a signal handler (the
 * CLI's SIGINT) can run and make `shouldStop` answer true.
 */
export async function checkAsync(
  design: Design,
  scenario: Scenario,
  options: CheckOptions & { readonly now: () => number; readonly pause: () => Promise<void> },
  label: string,
): Promise<CheckResult> {
  const run = prepareCheck(design, scenario, options);
  return finishCheck(run, await exploreAsync(run.program, run.strategy, { ...run.explore, now: options.now, pause: options.pause }), label);
}

interface PreparedCheck {
  readonly design: Design;
  readonly scenario: Scenario;
  readonly options: CheckOptions;
  readonly program: Program;
  readonly strategy: ExplorationStrategy;
  readonly space: CheckSpace;
  readonly slice: Slice;
  readonly explore: ExploreOptions;
}

function prepareCheck(design: Design, scenario: Scenario, options: CheckOptions): PreparedCheck {
  const base = programOf(design, scenario, { maxSteps: options.maxSteps, selfCheck: options.selfCheck });
  const guard = options.guard;
  const program: Program =
    guard === undefined
      ? base
      : {
          identity: base.identity,
          build(scheduler) {
            const exec = base.build(guard.wrap(scheduler));
            guard.built(exec);
            return exec;
          },
        };
  const slice = options.slice ?? WHOLE;
  const { strategy, space } = strategyFor(program, design, scenario, options, slice);
  const budget = options.budget === undefined ? undefined : strategy.exhaustive ? options.budget : sliceBudget(slice, options.budget);
  const explore: ExploreOptions = {
    budget,
    timeMs: options.timeMs,
    now: options.now,
    onProgress: options.onProgress,
    shouldStop: options.shouldStop,
    checkpoint: options.checkpoint,
    resume: options.resume,
  };
  return { design, scenario, options, program, strategy, space, slice, explore };
}

/**
 * Shrinks each violation found and builds the record. An interrupted run is not shrunk (the user
 * asked to stop): its tokens replay the executions as found. The printed report is that of one
 * more replay of the token's execution, recording kernel stacks (src/sim/stack.ts): exploring and
 * shrinking never pay for them.
 */
function finishCheck(run: PreparedCheck, result: ExplorationResult, label: string): CheckResult {
  const { design, scenario, options, program, strategy, space, slice } = run;
  const guard = options.guard;
  const shrinkRuns = result.stoppedBy === 'interrupted' ? 0 : (options.shrinkRuns ?? 200);
  const witnessRuns = result.stoppedBy === 'interrupted' ? 0 : (options.witnessRuns ?? 50);
  const violations = result.violations.map((found): CheckViolation => {
    const hung = guard?.recorded(found.violation);
    const key = findingKey(found.violation);
    const finding = reproduces(key, guard);
    const shrunk = hung === undefined && shrinkRuns > 0 ? shrink(program, found.choices, finding, { maxRuns: shrinkRuns, stopAt: (v) => findingKey(v) === key }) : null;
    const choices = shrunk?.choices ?? hung?.choices ?? found.choices;
    // A hung execution is not run again: its replay would hang where the guard cut it.
    const report = (hung === undefined ? withStacks(program, choices, finding, key) : undefined) ?? found.violation;
    return {
      kind: found.kind,
      message: report.title,
      ...(found.violation.site === undefined ? {} : { site: found.violation.site }),
      hits: found.hits,
      ...(found.pfns === undefined ? {} : { pfns: found.pfns }),
      details: report.details,
      thread: report.thread,
      replay: encodeToken(program.identity, choices, hung?.label(label) ?? label),
      steps: shrunk?.shrunk.steps ?? found.violation.step,
      originalSteps: shrunk?.original.steps ?? found.violation.step,
      preemptions: shrunk?.shrunk.preemptions ?? countPreemptions(choices),
      originalPreemptions: shrunk?.original.preemptions ?? countPreemptions(found.choices),
      occurrences: found.occurrences,
      execution: strategy.exhaustive ? found.execution : globalIndex(slice, found.execution),
      schedule: renderSchedule(choices),
      ...(found.kind === 'iommu-uncovered-free' && witnessRuns > 0
        ? { witness: searchWitness(program, { site: found.violation.site, thread: found.violation.thread, step: found.violation.step, choices: found.choices }, witnessRuns, label, options.seed) }
        : {}),
    };
  });
  // An execution the watchdog cut short left its subtree unexplored, whatever the strategy thinks.
  const complete = result.complete && !result.violations.some((v) => guard?.recorded(v.violation) !== undefined);
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    strategy: options.strategy,
    seed: options.seed,
    executions: result.executions,
    complete,
    stoppedBy: result.stoppedBy,
    stepBound: result.stepBound,
    violations,
    space,
    verdict: checkVerdict({ strategy: options.strategy, executions: result.executions, stepBound: result.stepBound, complete, violations, space }),
    shard: shardOf(run),
    elapsedMs: result.elapsedMs,
  };
}

/**
 * The part of the run this check covered and the inputs that define the run. An exhaustive
 * strategy is never sliced: it runs whole. A slice is a shard: offset of stride.
 */
function shardOf(run: PreparedCheck): CheckShard {
  const { design, scenario, options, program, strategy, slice } = run;
  const whole = strategy.exhaustive ? WHOLE : slice;
  return {
    index: whole.offset,
    count: whole.stride,
    run: {
      design: design.name,
      scenario: scenario.name,
      strategy: options.strategy,
      seed: options.seed,
      budget: options.budget ?? null,
      timeMs: options.timeMs ?? null,
      depth: options.strategy === 'pct' ? (options.pctDepth ?? 3) : null,
      preemptionBound: options.preemptionBound ?? null,
      faults: options.faults ?? null,
      maxSteps: options.maxSteps ?? null,
      identity: createHash('sha256').update(program.identity).digest('hex'),
    },
  };
}

/**
 * What a shrink candidate must show: the same finding (kind and site), and not because the guard
 * cut it where a hook hung (a token for that execution would hang on replay, and its report is
 * another finding).
 */
function reproduces(key: string, guard: ExecutionGuard | undefined): Finding {
  const shows: Finding = (result) => result.violations.find((v) => findingKey(v) === key);
  if (guard === undefined) return shows;
  return (result) => (result.violations.some((v) => guard.recorded(v) !== undefined) ? undefined : shows(result));
}

/** The finding's report in one replay of `choices` that records kernel stacks. */
function withStacks(program: Program, choices: readonly Choice[], finding: Finding, key: string): Violation | undefined {
  const stacked: Program = {
    identity: program.identity,
    build(scheduler) {
      const exec = program.build(scheduler);
      exec.recordStacks();
      return exec;
    },
  };
  // The report is all it is for: the rest of the execution would only take more stacks.
  return finding(replayChoices(stacked, choices, (v) => findingKey(v) === key).result);
}

/**
 * The strategy for this run, and the space it explores, from one pilot execution (round robin):
 * its threads and steps, and the data choices offered (which of them are faults: the pilot sees the
 * choice points). PCT's step estimate k is that fixed count rather than learnt as it goes, so that
 * execution i depends on (seed, i) alone and a run split into shards or workers is the same run.
 */
function strategyFor(program: Program, design: Design, scenario: Scenario, options: CheckOptions, slice: Slice): { strategy: ExplorationStrategy; space: CheckSpace } {
  const pilot = new RoundRobinScheduler();
  pilot.beginExecution(0);
  const data = new Set<string>();
  const faults = new Set<string>();
  const exec = program.build({
    beginExecution: (i) => pilot.beginExecution(i),
    choose(point) {
      if (point.kind === 'data') (point.fault === true ? faults : data).add(point.reason);
      return pilot.choose(point);
    },
  });
  const ran = exec.run();
  const stepsEstimate = options.strategy === 'pct' ? ran.steps : undefined;
  // What the pilot did not reach (it never fails an allocation), the configuration still offers.
  if (scenario.config.failAtomicAllocations) faults.add('alloc_pages GFP_ATOMIC');
  if (scenario.config.iommu.speculate === true) data.add('iommu speculative walk');
  const iommu = scenario.config.iommu;
  if (design.kernel?.intelSvaFlush === 'legacy' && iommu.kind !== 'amd' && iommu.legacyFlushesPagingStructures === undefined) data.add(LEGACY_IOTLB_CHOICE);
  const space: CheckSpace = {
    threads: exec.threads.length,
    steps: ran.steps,
    dataChoices: [...data, ...faults].sort(),
    faultChoices: [...faults].sort(),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    preempt: scenario.config.preempt,
    ...(scenario.config.tornLists === true ? { tornLists: true as const } : {}),
    ...(options.strategy === 'pct' ? { pctDepth: options.pctDepth ?? 3 } : {}),
    ...(options.preemptionBound === undefined ? {} : { preemptionBound: options.preemptionBound }),
  };
  const strategy = STRATEGIES[options.strategy]({ seed: options.seed, pctDepth: options.pctDepth, preemptionBound: options.preemptionBound, faults: options.faults, stepsEstimate });
  return { strategy: strategy.exhaustive ? strategy : new SlicedStrategy(strategy, slice), space };
}

/** A part that cannot be merged with the others: the message names it (by its name, when given). */
export class MergeError extends Error {
  override readonly name = 'MergeError';
}

export interface MergeOptions {
  /** The shard the parts make up: they must be exactly its slices (default: the whole run, 0 of 1). */
  readonly into?: { readonly index: number; readonly count: number };
  /** How to call each part in an error (the merge command: its file); default "part i". */
  readonly names?: readonly string[];
}

/** The inputs a shard records, in the order a refusal names the first that differs. */
const RUN_INPUTS: readonly { readonly key: keyof CheckRun; readonly name: string }[] = [
  { key: 'design', name: 'design' },
  { key: 'scenario', name: 'scenario' },
  { key: 'strategy', name: 'strategy' },
  { key: 'seed', name: 'seed' },
  { key: 'budget', name: 'budget' },
  { key: 'timeMs', name: 'time (ms)' },
  { key: 'depth', name: 'depth' },
  { key: 'preemptionBound', name: 'preemption bound' },
  { key: 'faults', name: 'fault bound' },
  { key: 'maxSteps', name: 'max steps' },
  { key: 'identity', name: 'design/scenario identity' },
];

/**
 * Refuses parts that are not exactly the slices of `into` of one run: another run (the first input
 * that differs is named), a count that disagrees, a slice given twice or not part of `into`, a
 * missing slice (every missing index is named).
 */
function checkParts(parts: readonly CheckResult[], into: { readonly index: number; readonly count: number }, names: readonly string[] | undefined): void {
  const name = (i: number) => names?.[i] ?? `part ${i}`;
  const shown = (v: string | number | null) => (v === null ? 'none' : String(v));
  const [first] = parts;
  parts.forEach((p, i) => {
    for (const key of ['design', 'scenario', 'strategy', 'seed'] as const) {
      if (p[key] !== p.shard.run[key]) throw new MergeError(`${name(i)}: ${key} ${p[key]} disagrees with its own shard.run.${key} ${p.shard.run[key]}`);
    }
    for (const { key, name: input } of RUN_INPUTS) {
      const mine = p.shard.run[key] ?? null;
      const theirs = first.shard.run[key] ?? null;
      if (mine === theirs) continue;
      if (key === 'identity') {
        throw new MergeError(`${name(i)}: a shard of another run: its design/scenario identity differs from ${name(0)}'s (the same names, another design or scenario file)`);
      }
      throw new MergeError(`${name(i)}: a shard of another run: ${input} ${shown(mine)}, but ${name(0)} has ${input} ${shown(theirs)}`);
    }
  });
  const count = first.shard.count;
  parts.forEach((p, i) => {
    if (p.shard.count !== count) throw new MergeError(`${name(i)}: shard ${p.shard.index} of ${p.shard.count}, but ${name(0)} is a shard of ${count}`);
  });
  if (count % into.count !== 0) throw new MergeError(`${name(0)}: shards of ${count} cannot make up shard ${into.index} of ${into.count}`);
  const expected = Array.from({ length: count / into.count }, (_, w) => into.index + into.count * w);
  const seen = new Map<number, number>();
  parts.forEach((p, i) => {
    const at = p.shard.index;
    const before = seen.get(at);
    if (before !== undefined) throw new MergeError(`${name(i)}: shard ${at} of ${count} is given twice (also ${name(before)})`);
    if (!expected.includes(at)) throw new MergeError(`${name(i)}: shard ${at} of ${count} is not part of shard ${into.index} of ${into.count}`);
    seen.set(at, i);
  });
  const missing = expected.filter((at) => !seen.has(at));
  if (missing.length > 0) {
    const given = parts.map((_, i) => name(i)).join(', ');
    throw new MergeError(`${given}: ${missing.length === 1 ? `shard ${missing[0]} of ${count} is` : `shards ${missing.join(', ')} of ${count} are`} missing`);
  }
}

/**
 * Combines the results of the slices of one run (shards, workers) into the result of the whole
 * (or of the shard `into`): executions add up, each violation keeps its first occurrence by global
 * index (with that execution's shrunk token), occurrences add up. The same whatever the split.
 * Throws MergeError unless the parts are exactly the slices of `into` of one run.
 */
export function mergeChecks(parts: readonly CheckResult[], options: MergeOptions = {}): CheckResult {
  if (parts.length === 0) throw new MergeError('nothing to merge');
  const into = options.into ?? { index: 0, count: 1 };
  checkParts(parts, into, options.names);
  const [first] = parts;
  const byKey = new Map<string, CheckViolation>();
  for (const v of parts.flatMap((p) => p.violations)) {
    const key = findingKey({ kind: v.kind, title: v.message, site: v.site });
    const seen = byKey.get(key);
    if (seen === undefined) byKey.set(key, v);
    else {
      const keep = v.execution < seen.execution ? v : seen;
      byKey.set(key, { ...keep, occurrences: seen.occurrences + v.occurrences });
    }
  }
  const order = (a: CheckViolation, b: CheckViolation) => a.execution - b.execution || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0);
  const stops = parts.map((p) => p.stoppedBy);
  const executions = parts.reduce((n, p) => n + p.executions, 0);
  const stepBound = parts.reduce((n, p) => n + p.stepBound, 0);
  const complete = parts.every((p) => p.complete);
  const violations = [...byKey.values()].sort(order);
  // Parsed with the schema: its fields in one order, however the parts were read back (merge).
  return checkResultSchema.parse({
    version: first.version,
    design: first.design,
    scenario: first.scenario,
    strategy: first.strategy,
    seed: first.seed,
    executions,
    complete,
    stoppedBy: stops.includes('interrupted') ? 'interrupted' : stops.includes('time') ? 'time' : stops.includes('budget') ? 'budget' : stops[0],
    stepBound,
    violations,
    space: first.space,
    verdict: checkVerdict({ strategy: first.strategy, executions, stepBound, complete, violations, space: first.space }),
    shard: { index: into.index, count: into.count, run: first.shard.run },
    elapsedMs: parts.some((p) => p.elapsedMs !== undefined) ? Math.max(...parts.map((p) => p.elapsedMs ?? 0)) : undefined,
  });
}
