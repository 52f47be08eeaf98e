/**
 * `kptsim check --design D --scenario S [--strategy random|pct|dfs|dpor] [--budget N | --time 30s]
 * [--seed N] [--json]`: explore, shrink, report. Exit 1 when a violation was found (DESIGN.md).
 * The report of each violation is the reproduction (STYLE.md §6): kind and reason, the replay
 * command, steps before and after shrinking, the readable schedule, the kernel-terms report, hints.
 */
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { Worker } from 'node:worker_threads';
import { STRATEGY_NAMES, STRATEGY_SUMMARIES, isStrategyName, sliceOf, type ExplorationProgress, type StrategyName } from '../explore/index.ts';
import { check, mergeChecks, replayLabel, type CheckResult } from '../measure/check.ts';
import type { WorkerJob } from './check-worker.ts';
import { UsageError, type CliContext } from './context.ts';
import { loadDesign, loadScenario } from './load.ts';
import { reportLines } from './report-text.ts';
import { nonNegativeInt } from './parse.ts';

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
  maxSteps: number;
  json?: boolean;
}

/** `30s`, `2m`, `500ms` or plain seconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`--time expects a duration such as 30s, 2m or 500ms, got '${value}'`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index >= count) throw new InvalidArgumentError(`--shard expects I/N with 0 <= I < N, got '${value}'`);
  return { index, count };
}

function parseWorkers(value: string): number {
  const n = nonNegativeInt('--workers')(value);
  if (n < 1 || n > 64) throw new InvalidArgumentError(`--workers expects 1 to 64, got '${value}'`);
  return n;
}

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
    .requiredOption('--design <name|path>', 'a built-in design (kptsim designs) or a path to a design module')
    .requiredOption('--scenario <name|path>', 'a built-in scenario (kptsim scenarios) or a path to a .yaml/.json scenario file')
    .option('--strategy <name>', `${STRATEGY_NAMES.map((n) => `${n}: ${STRATEGY_SUMMARIES[n]}`).join('; ')}`, parseStrategy, 'pct' as StrategyName)
    .option('--budget <n>', `at most this many executions (random and pct default to ${DEFAULT_SAMPLING_BUDGET})`, nonNegativeInt('--budget'))
    .option('--time <duration>', 'stop starting executions after this long (30s, 2m)', parseDuration)
    .option('--seed <n>', 'seed of the random and pct strategies', nonNegativeInt('--seed'), 0)
    .option('--depth <d>', 'PCT bug depth', nonNegativeInt('--depth'), 3)
    .option('--preemption-bound <n>', 'dfs: at most this many preemptions per execution (then never complete)', nonNegativeInt('--preemption-bound'))
    .option('--max-steps <n>', 'executions longer than this are cut (and the run is not complete)', nonNegativeInt('--max-steps'), 200_000)
    .option('--workers <n>', 'worker threads on this machine (random and pct are split; dfs and dpor run in one)', parseWorkers, 1)
    .option('--shard <I/N>', 'run shard I of N of a random or pct exploration (merge the JSON results with kptsim merge)', parseShard)
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: CheckFlags) => {
      const design = await loadDesign(flags.design);
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
        maxSteps: flags.maxSteps,
      };
      const label = replayLabel(flags.design, flags.scenario);
      const shard = flags.shard ?? { index: 0, count: 1 };
      const workers = sampling ? flags.workers : 1;
      let parts: CheckResult[];
      if (workers === 1) {
        const progress = flags.json || !process.stderr.isTTY ? null : progressLine();
        parts = [check(design, scenario, { ...options, slice: sliceOf(shard, 0, 1), now: () => performance.now(), onProgress: progress?.update }, label)];
        progress?.stop();
      } else {
        parts = await Promise.all(
          Array.from({ length: workers }, (_, w) => runWorker({ design: flags.design, scenario: flags.scenario, options, slice: sliceOf(shard, w, workers), label })),
        );
      }
      const result = mergeChecks(parts);
      ctx.out(flags.json ? JSON.stringify(result, null, 2) + '\n' : renderCheck(result));
      ctx.exitCode = result.violations.length > 0 ? 1 : 0;
    });
}

function runWorker(job: WorkerJob): Promise<CheckResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./check-worker.mjs', import.meta.url), { workerData: job });
    worker.once('message', (r: CheckResult) => resolve(r));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`check worker exited with code ${code}`));
    });
  });
}

/** A progress line on stderr, shown only once a run has lasted a second. */
function progressLine() {
  const started = performance.now();
  let bar: SingleBar | null = null;
  return {
    update(p: ExplorationProgress) {
      if (bar === null) {
        if (performance.now() - started < 1000) return;
        bar = new SingleBar({
          format: 'executions {value} | {rate}/s | violations {violations} | coverage {coverage}',
          stream: process.stderr,
          hideCursor: true,
        });
        bar.start(Infinity, 0, { rate: '-', violations: 0, coverage: '-' });
      }
      const seconds = (performance.now() - started) / 1000;
      bar.update(p.executions, {
        rate: (p.executions / seconds).toFixed(0),
        violations: p.violations,
        coverage: p.coverage === undefined ? 'n/a' : `${(p.coverage * 100).toFixed(1)}%`,
      });
    },
    stop() {
      bar?.stop();
    },
  };
}

function renderCheck(r: CheckResult): string {
  const lines: string[] = [];
  const bound = r.complete ? 'complete: the whole space was covered' : `not complete (stopped by ${r.stoppedBy})`;
  lines.push(`kptsim check: design ${r.design}, scenario ${r.scenario}, strategy ${r.strategy}: ${r.executions} executions, ${bound}`);
  if (r.violations.length === 0) lines.push('', 'no violation found');
  for (const v of r.violations) {
    lines.push('', `${v.kind}: ${v.message}`, '', `  kptsim replay ${v.replay}`, '');
    lines.push(`  ${v.occurrences} execution(s) showed it; shrunk from ${v.originalSteps} steps and ${v.originalPreemptions} preemptions to ${v.steps} steps and ${v.preemptions} preemptions`);
    lines.push('  schedule:', ...v.schedule.map((s) => `    ${s}`));
    lines.push(...reportLines(v.kind, v.details, v.thread));
  }
  if (r.elapsedMs !== undefined) lines.push('', `${(r.elapsedMs / 1000).toFixed(1)} s (wall-clock timing, not a result)`);
  return lines.join('\n') + '\n';
}
