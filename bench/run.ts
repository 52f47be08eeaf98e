/**
 * `npm run bench [-- --quick] [--out FILE] [--only 1,2,...]`: the six measurements of issue 6 (and two since),
 * printed as one table and written to bench/results.json (atomically: a temporary file, then a
 * rename). Every figure is the median of several runs, and every target is a ratio measured within
 * one run, because the machines this runs on are shared and noisy; absolute rates are printed
 * beside them for scale only.
 *
 *   1. raw step cost     kptsim steps/s over the execution core's own ceiling (target >= 0.4)
 *   2. exploration       executions/s of random, pct, dpor; dpor's reduction over dfs (>= 10x); dpor's proof time on vfree-small (<= 5 s)
 *   3. first violation   time to the first violation per design and strategy
 *   4. scaling           --workers 2 over --workers 1 (>= 1.8x on 2 cores)
 *   5. memory            peak RSS over a long exhaustive run (flat)
 *   6. peer              SPIN on a Promela model of the same mechanism: time to the same bug
 *   7. profile           self time by layer, building vs running the world (what limits 1.)
 *   8. HTML open         Chromium opening the run report with the most repeated findings (<= 1 s)
 *
 * --quick runs every measurement at toy sizes (seconds): a smoke test, not figures; its results go
 * to the temporary directory unless --out says otherwise.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/cli/output.ts';
import { builtinDesign, type Design } from '../src/designs/index.ts';
import { builtinScenario, scenarioFromText, type Scenario } from '../src/scenario/scenario.ts';
import { measureProof, measureRates, measureReduction } from './exploration.ts';
import { measureFirstViolations } from './first-violation.ts';
import { measureHtmlOpen } from './html-open.ts';
import { machine, type Machine } from './machine.ts';
import { measureMemory } from './memory.ts';
import { measurePeer } from './peer.ts';
import { measureProfile } from './profile.ts';
import { measureScaling } from './scaling.ts';
import { now, type Figure } from './stats.ts';
import { measureStepCost } from './step-cost.ts';
import { renderTable } from './table.ts';

export interface BenchResults {
  readonly version: 1;
  readonly command: string;
  readonly quick: boolean;
  readonly date: string;
  readonly machine: Machine;
  /** The 1-minute load average when the run ended (machine.load is at its start). */
  readonly loadAfter: number;
  /** Runs per figure (each figure's samples; its value is their median). */
  readonly runs: number;
  readonly elapsedMs: number;
  readonly figures: readonly Figure[];
  /** Measurements not run, with the reason. */
  readonly skipped: readonly { readonly group: string; readonly reason: string }[];
}

interface Sizes {
  runs: number;
  stepExecutions: number;
  rateBudget: number;
  reductionCapMs: number;
  firstCapMs: number;
  scalingBudget: number;
  memoryCounts: number[];
  memoryRuns: number;
  peerCapMs: number;
  profileExecutions: number;
  htmlOpens: number;
}

const FULL: Sizes = {
  runs: 3,
  stepExecutions: 120,
  rateBudget: 100,
  reductionCapMs: 30_000,
  firstCapMs: 5_000,
  scalingBudget: 1_000,
  memoryCounts: [500, 1000, 2000, 4000],
  memoryRuns: 2,
  peerCapMs: 5_000,
  profileExecutions: 300,
  htmlOpens: 7,
};

const QUICK: Sizes = {
  runs: 1,
  stepExecutions: 2,
  rateBudget: 2,
  reductionCapMs: 200,
  firstCapMs: 300,
  scalingBudget: 8,
  memoryCounts: [2, 4, 8],
  memoryRuns: 1,
  peerCapMs: 300,
  profileExecutions: 3,
  htmlOpens: 1,
};

function design(name: string): Design {
  const d = builtinDesign(name);
  if (d === undefined) throw new Error(`bench: no built-in design ${name}`);
  return d;
}

function scenario(name: string): Scenario {
  const s = builtinScenario(name);
  if (s === undefined) throw new Error(`bench: no built-in scenario ${name}`);
  return s;
}

/** A scenario file, by its path from the repository's root (bench/scenarios/…, examples/scenarios/…). */
function scenarioFile(path: string): Scenario {
  return scenarioFromText(readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8'), path);
}

/** The designs that have a violation, each on a scenario where `npm run findings` shows it. */
const FIRST_VIOLATION_CASES: readonly [string, string][] = [
  ['immediate', 'vfree-huge-vmap'],
  ['v1', 'vfree-huge-vmap'],
  ['v2', 'hot-remove'],
  ['v3', 'vfree-huge-vmap'],
  ['seed', 'hot-remove'],
  ['upstream', 'hot-remove'],
];

export interface BenchOptions {
  readonly quick: boolean;
  /** Measurement numbers to run (1-8); all when absent. */
  readonly only?: readonly number[];
  /** Called with each group's name as it starts (progress on stderr). */
  readonly onGroup?: (group: string) => void;
}

export async function runBench(options: BenchOptions): Promise<Omit<BenchResults, 'command'>> {
  const z = options.quick ? QUICK : FULL;
  const wanted = (n: number) => options.only === undefined || options.only.includes(n);
  const say = options.onGroup ?? (() => {});
  const started = now();
  const host = machine();
  const figures: Figure[] = [];
  const skipped: { group: string; reason: string }[] = [];
  const main = scenario('vfree-huge-vmap');
  const designs = [design('seed'), design('upstream')];

  if (wanted(1)) {
    say('1. raw step cost');
    figures.push(...measureStepCost({ design: design('upstream'), scenario: main, executions: z.stepExecutions, runs: z.runs }));
  }
  if (wanted(2)) {
    say('2. exploration');
    figures.push(...measureRates({ designs, scenario: main, strategies: ['random', 'pct', 'dpor'], budget: z.rateBudget, runs: z.runs }));
    figures.push(...measureReduction({ design: design('immediate'), scenario: scenarioFile('bench/scenarios/dpor-small.yaml'), capMs: z.reductionCapMs }).figures);
    figures.push(...measureProof({ design: design('upstream'), scenario: scenarioFile('examples/scenarios/vfree-small.yaml'), capMs: z.reductionCapMs }));
  }
  if (wanted(3)) {
    say('3. time to first violation');
    const cases = FIRST_VIOLATION_CASES.slice(0, options.quick ? 1 : undefined).map(([d, s]) => ({ design: design(d), scenario: scenario(s) }));
    figures.push(...measureFirstViolations({ cases, strategies: ['random', 'pct', 'dfs', 'dpor'], seeds: z.runs, capMs: z.firstCapMs }));
  }
  if (wanted(4)) {
    say('4. scaling');
    figures.push(...(await measureScaling({ design: 'upstream', scenario: 'vfree-huge-vmap', strategy: 'pct', budget: z.scalingBudget, runs: z.runs })));
  }
  if (wanted(5)) {
    say('5. memory');
    figures.push(...measureMemory({ design: 'upstream', scenario: 'vfree-huge-vmap', strategy: 'dpor', counts: z.memoryCounts, runs: z.memoryRuns }));
  }
  if (wanted(6)) {
    say('6. peer: SPIN');
    const peer = measurePeer({
      designs: [design('immediate'), design('v3'), design('upstream')],
      scenario: main,
      strategies: ['pct', 'dpor'],
      runs: z.runs,
      capMs: z.peerCapMs,
    });
    figures.push(...peer.figures);
    if (peer.skipped !== undefined) skipped.push({ group: '6. peer: SPIN', reason: peer.skipped });
  }
  if (wanted(7)) {
    say('7. profile');
    figures.push(...(await measureProfile({ design: design('upstream'), scenario: main, executions: z.profileExecutions })));
  }
  if (wanted(8)) {
    say('8. HTML report open time');
    const open = await measureHtmlOpen({ design: design('seed'), scenario: scenario('mixed-reuse'), opens: z.htmlOpens });
    figures.push(...open.figures);
    if (open.skipped !== undefined) skipped.push({ group: '8. HTML report open time', reason: open.skipped });
  }
  return { version: 1, quick: options.quick, date: new Date().toISOString(), machine: host, loadAfter: machine().load, runs: z.runs, elapsedMs: now() - started, figures, skipped };
}

/** JSON with Infinity (a search that found nothing) written as null, the way JSON has it. */
export function resultsJson(results: BenchResults): string {
  return JSON.stringify(results, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2) + '\n';
}

function parseArgs(argv: readonly string[]): { quick: boolean; out: string; only?: number[] } {
  let quick = false;
  let out: string | undefined;
  let only: number[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--out' && i + 1 < argv.length) out = argv[++i];
    else if (a === '--only' && i + 1 < argv.length) {
      only = argv[++i].split(',').map(Number);
      if (only.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) throw new Error(`--only expects measurement numbers 1 to 8, got '${argv[i]}'`);
    } else throw new Error(`bench: unknown argument '${a}' (expected --quick, --out FILE, --only 1,2,...)`);
  }
  // A quick run's toy figures never replace the real ones in bench/results.json.
  out ??= quick ? join(tmpdir(), 'kptsim-bench-quick.json') : fileURLToPath(new URL('./results.json', import.meta.url));
  return { quick, out, only };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = parseArgs(process.argv.slice(2));
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const partial = await runBench({ quick: args.quick, only: args.only, onGroup: (g) => process.stderr.write(`bench: ${g} ...\n`) });
  const results: BenchResults = { command, ...partial };
  process.stdout.write(renderTable(results));
  writeFileAtomic(args.out, resultsJson(results));
  process.stderr.write(`bench: wrote ${args.out}\n`);
}
