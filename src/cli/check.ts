/**
 * `kptsim check --design D --scenario S [--strategy random|pct|dfs|dpor] [--budget N | --time 30s]
 * [--seed N] [--json] [--checkpoint F | --resume F] [--self-check]`: explore, shrink, report. Exit 1
 * when a violation was found (docs/architecture.md, Commands and exit codes); 130 when Ctrl-C stopped a run that found none
 * (checkpoint.ts). The report of each violation is the reproduction (docs/architecture.md, Reports): kind and reason, the replay
 * command, steps before and after shrinking, the readable schedule, the kernel-terms report, hints.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { STRATEGY_NAMES, STRATEGY_SUMMARIES, isStrategyName, sliceBudget, sliceOf, type ExplorationProgress, type StrategyName, diffFindings, findingRef, type BaselineDiff } from '../job/inputs.ts';
import { checkAsync, mergeChecks } from '../job/check.ts';
import type { CheckResult } from '../job/check-result.ts';
import { replayLabel } from '../job/label.ts';
import { programOf } from '../job/program.ts';
import { checkInputHash, checkpointWriter, inputHash, readCheckpoint, sigintStopper, type CheckpointInputs } from './checkpoint.ts';
import { UsageError, type CliContext } from './context.ts';
import { isDesignPath, loadDesign, loadScenario, recordedSpec } from './load.ts';
import { renderBaseline, renderCheck } from '../report/check-text.ts';
import { progressText, type ProgressBounds } from '../report/progress-text.ts';
import { nonNegativeInt, positiveDurationOf, positiveInt, workerCount } from './parse.ts';
import { EXECUTION_TIMEOUT, WorkerStop, runContained, runJobs } from './runner.ts';
import { parseShard } from './shard.ts';

interface CheckFlags {
  workers: number;
  shard?: { index: number; count: number };
  design: string;
  scenario: string;
  strategy: StrategyName;
  budget?: number;
  time?: number;
  seed: number;
  depth: number;
  preemptionBound?: number;
  faults?: number;
  maxSteps: number;
  executionTimeout: number;
  json?: boolean;
  checkpoint?: string;
  checkpointEvery?: number;
  resume?: string;
  selfCheck?: boolean;
  baseline?: string;
}

/**
 * Each input a checkpoint holds, and the flag it comes from: with --resume they come from the file
 * and may not be given again. The one list of them.
 */
const CHECKPOINTED = {
  design: 'design',
  scenario: 'scenario',
  strategy: 'strategy',
  seed: 'seed',
  budget: 'budget',
  timeMs: 'time',
  depth: 'depth',
  preemptionBound: 'preemptionBound',
  faults: 'faults',
  maxSteps: 'maxSteps',
  shard: 'shard',
} as const satisfies Record<keyof CheckpointInputs, keyof CheckFlags>;

const CHECKPOINTED_FLAGS = Object.values(CHECKPOINTED);

/** --time: a duration that lets at least one execution start (0 would run nothing and claim nothing found). */
export const parseDuration = positiveDurationOf('--time');

function parseStrategy(value: string): StrategyName {
  if (!isStrategyName(value)) throw new InvalidArgumentError(`--strategy expects one of ${STRATEGY_NAMES.join(', ')}, got '${value}'`);
  return value;
}

/** Random and PCT never end by themselves: without a budget or a time they get this many executions. */
const DEFAULT_SAMPLING_BUDGET = 200;

export function checkCommand(program: Command, ctx: CliContext): void {
  program
    .command('check')
    .description('explore a design on a scenario for violations; shrink and print each with its replay token')
    .option('--design <name|path>', 'a built-in design (kptsim designs) or a path to a design module (required unless --resume)')
    .option('--scenario <name|path>', 'a built-in scenario (kptsim scenarios) or a path to a .yaml/.json scenario file (required unless --resume)')
    .option('--strategy <name>', `${STRATEGY_NAMES.map((n) => `${n}: ${STRATEGY_SUMMARIES[n]}`).join('; ')}`, parseStrategy, 'pct' as StrategyName)
    .option('--budget <n>', `at most this many executions (random and pct default to ${DEFAULT_SAMPLING_BUDGET})`, positiveInt('--budget'))
    .option('--time <duration>', 'stop starting executions after this long (30s, 2m)', parseDuration)
    .option('--seed <n>', 'seed of the random and pct strategies', nonNegativeInt('--seed'), 0)
    .option('--depth <d>', 'PCT bug depth', positiveInt('--depth'), 3)
    .option('--preemption-bound <n>', 'dfs: at most this many preemptions per execution (then never complete)', nonNegativeInt('--preemption-bound'))
    .option('--faults <n>', 'at most this many injected allocation failures per execution (with failAtomicAllocations; default: any number); dfs and dpor are complete within it', nonNegativeInt('--faults'))
    .option('--max-steps <n>', 'executions longer than this are cut (and the run is not complete)', positiveInt('--max-steps'), 200_000)
    .option('--workers <n>', 'worker threads on this machine (random and pct are split; dfs and dpor run in one)', workerCount('--workers'), 1)
    .option(...EXECUTION_TIMEOUT)
    .option('--shard <I/N|auto>', 'run shard I of N of a random or pct exploration (merge the JSON results with kptsim merge); auto: from a batch engine\'s environment (Kubernetes Indexed Jobs, Slurm job arrays, KPTSIM_SHARD_INDEX/COUNT: docs/sharding.md)', (v: string) => parseShard(v))
    .option('--json', 'print the result as one JSON object')
    .option('--baseline <name|path>', 'also check this design with the same options and report what --design adds and removes relative to it (findings by kind and site)')
    .option('--checkpoint <file>', 'save progress to this file now and then (atomically) and when the run stops; continue with --resume')
    .option('--checkpoint-every <n>', 'with --checkpoint: save after every n executions (default: every 5 s)', positiveInt('--checkpoint-every'))
    .option('--self-check', "check the model's own invariants before every step (page tables, free lists, IOMMU caches); slow; a failure is a kptsim bug")
    .option('--resume <file>', 'continue the run saved in this checkpoint (its inputs come from the file; keeps saving to it unless --checkpoint names another)')
    .action(async (flags: CheckFlags, command: Command) => {
      if (flags.resume !== undefined) {
        const given = CHECKPOINTED_FLAGS.filter((f) => command.getOptionValueSource(f) === 'cli');
        if (given.length > 0) throw new UsageError(`--resume takes the run's inputs from ${flags.resume}; do not give --${given.map(kebab).join(', --')} again`);
      }
      const resumed = flags.resume === undefined ? undefined : readCheckpoint(flags.resume);
      if (resumed !== undefined) Object.assign(flags, flagsOf(resumed.inputs));
      if (flags.design === undefined || flags.scenario === undefined) {
        throw new UsageError(`check: --${flags.design === undefined ? 'design' : 'scenario'} is required (or --resume FILE)`);
      }
      const checkpointPath = flags.checkpoint ?? flags.resume;
      if (checkpointPath !== undefined && (flags.workers > 1 || isDesignPath(flags.design))) {
        throw new UsageError(`--checkpoint/--resume run the exploration in this thread: not with --workers ${flags.workers}${isDesignPath(flags.design) ? ' or a design module (it runs in a watched worker)' : ''}`);
      }
      if (flags.checkpointEvery !== undefined && checkpointPath === undefined) throw new UsageError('--checkpoint-every needs --checkpoint FILE');
      if (flags.baseline !== undefined && checkpointPath !== undefined) throw new UsageError('--baseline runs two explorations: not with --checkpoint or --resume');
      const scenario = loadScenario(flags.scenario);
      const sampling = flags.strategy === 'random' || flags.strategy === 'pct';
      if (!sampling && flags.shard !== undefined && flags.shard.count > 1) {
        throw new UsageError(`--shard splits random and pct explorations by execution; ${flags.strategy} explores one tree and runs whole`);
      }
      const budget = flags.budget ?? (sampling && flags.time === undefined ? DEFAULT_SAMPLING_BUDGET : undefined);
      const options = {
        strategy: flags.strategy,
        seed: flags.seed,
        budget,
        timeMs: flags.time,
        pctDepth: flags.depth,
        preemptionBound: flags.preemptionBound,
        faults: flags.faults,
        maxSteps: flags.maxSteps,
        selfCheck: flags.selfCheck,
      };
      const labelOf = (design: string) => replayLabel(recordedSpec(design), recordedSpec(flags.scenario), flags.maxSteps);
      const label = labelOf(flags.design);
      const shard = flags.shard ?? { index: 0, count: 1 };
      const workers = sampling ? flags.workers : 1;
      let parts: CheckResult[];
      // A user design may never return from a hook; only a worker can be stopped from outside
      // (runner.ts). Built-in designs run in this thread when one suffices: no start-up cost.
      if (workers === 1 && !isDesignPath(flags.design)) {
        const design = await loadDesign(flags.design);
        // On a terminal only (stderr), and never with --json: nothing new in a pipe or a log.
        const progress =
          flags.json || !process.stderr.isTTY
            ? null
            : progressLine({ budget: budget === undefined ? undefined : sliceBudget(sliceOf(shard, 0, 1), budget), timeMs: flags.time, startExecutions: resumed?.state.executions ?? 0 }, () => performance.now());
        const inputs = inputsOf({ ...flags, budget, shard });
        const hash = checkpointPath === undefined ? '' : inputHash(programOf(design, scenario).identity, inputs);
        if (resumed !== undefined && flags.resume !== undefined) checkInputHash(flags.resume, resumed, hash);
        const now = () => performance.now();
        const sigint = sigintStopper(() => {
          progress?.stop();
          ctx.err('kptsim: interrupted: stopping after the current execution (Ctrl-C again to quit at once)\n');
        });
        try {
          const run = checkAsync(
            design,
            scenario,
            {
              ...options,
              slice: sliceOf(shard, 0, 1),
              now,
              pause: () => nextTurn(),
              onProgress: progress?.update,
              shouldStop: sigint.shouldStop,
              checkpoint: checkpointPath === undefined ? undefined : checkpointWriter(checkpointPath, inputs, hash, flags.checkpointEvery, now),
              resume: resumed?.state,
            },
            label,
          );
          parts = [await run];
        } finally {
          sigint.dispose();
          progress?.stop();
        }
      } else {
        const stop = new WorkerStop();
        const sigint = sigintStopper(() => {
          stop.request();
          ctx.err('kptsim: interrupted: the workers stop after their current execution (Ctrl-C again to quit at once)\n');
        });
        const jobs = Array.from({ length: workers }, (_, w) => ({ kind: 'check' as const, design: flags.design, scenario: flags.scenario, options, slice: sliceOf(shard, w, workers), label }));
        try {
          parts = await runContained(jobs, { workers, timeoutMs: flags.executionTimeout, stop });
        } finally {
          sigint.dispose();
        }
      }
      // The workers' slices are the shards of this shard (src/job/check-result.ts, checkShardSchema).
      const result = mergeChecks(parts, { into: shard });
      // --baseline: the same exploration of the baseline design, then what --design adds and removes.
      let baseline: BaselineDiff | undefined;
      if (flags.baseline !== undefined) {
        const job = { kind: 'check' as const, design: recordedSpec(flags.baseline), scenario: flags.scenario, options, slice: sliceOf(shard, 0, 1), label: labelOf(flags.baseline) };
        const [base] = await runJobs([job], { workers: 1, timeoutMs: flags.executionTimeout });
        baseline = diffFindings(base.design, base.verdict.summary, result.violations.map(findingRef), base.violations.map(findingRef));
      }
      ctx.out(
        flags.json
          ? JSON.stringify(baseline === undefined ? result : { ...result, baseline }, null, 2) + '\n'
          : renderCheck(result, checkpointPath) + (baseline === undefined ? '' : renderBaseline(baseline)),
      );
      // Interrupted with nothing found is not "nothing found": 130, as a shell reports a Ctrl-C.
      ctx.exitCode = result.violations.length > 0 ? 1 : result.stoppedBy === 'interrupted' ? 130 : 0;
    });
}

function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A checkpoint's inputs as the flags they came from. */
function flagsOf(inputs: CheckpointInputs): Partial<CheckFlags> {
  return Object.fromEntries(Object.entries(CHECKPOINTED).map(([input, flag]) => [flag, inputs[input as keyof CheckpointInputs]]));
}

/** The flags a run was given (after their defaults) as the inputs a checkpoint holds. */
function inputsOf(flags: CheckFlags): CheckpointInputs {
  return Object.fromEntries(Object.entries(CHECKPOINTED).map(([input, flag]) => [input, flags[flag]])) as CheckpointInputs;
}

/**
 * This shard's share of --budget: the executions this process runs (as the explorer counts them; the
 * same share as sliceBudget in src/explore/partition.ts gives a slice).
 */
/**
 * The progress line on stderr: drawn as the run starts, then redrawn at each report of the explorer
 * (every 100 executions, and after any execution that ends 250 ms or more after the last report:
 * src/explore/explorer.ts), and cleared at the end. Its text is progressText's: the fraction of the
 * budget or of --time used and an ETA when there is one (src/report/progress-text.ts).
 */
function progressLine(bounds: ProgressBounds, now: () => number) {
  const started = now();
  const line = (p: ExplorationProgress) => progressText(p, bounds, now() - started);
  const bar = new SingleBar({ format: '{line}', stream: process.stderr, hideCursor: true, clearOnComplete: true });
  bar.start(1, 0, { line: line({ executions: bounds.startExecutions ?? 0, violations: 0 }) });
  return {
    update(p: ExplorationProgress) {
      bar.update(0, { line: line(p) });
    },
    stop() {
      bar.stop();
    },
  };
}

