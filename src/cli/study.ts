/**
 * The study, `kptsim` with no command (`npm start`): every design on each study scenario, a PCT
 * verdict and a timed run per pair (src/job/study.ts), printed as one table per scenario and
 * written to report.html; with --baseline B, each cell also says what its design adds and removes
 * against B's cell on the same scenario. The pairs run on the contained runner's workers
 * (runner.ts), watched like every design given by path; the record does not depend on how many,
 * since each cell depends on its pair and the options alone.
 */
import { cpus } from 'node:os';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { BUILTIN_DESIGNS, designsWithBaseline } from '../job/inputs.ts';
import { assembleStudy, type StudyCell, type StudyOptions } from '../job/study.ts';
import type { CliContext } from './context.ts';
import { studyHtml } from '../report/html.ts';
import { isDesignPath, loadDesign, loadScenario, recordedSpec } from './load.ts';
import { EXECUTION_TIMEOUT, runJobs } from './runner.ts';
import { renderStudy, verdictOf } from '../report/study-text.ts';
import { refuseTwoOnStdout, writeOutputs, type Output } from './output.ts';
import { commaList, nonNegativeInt, positiveInt, workerCount } from './parse.ts';

/** The kernel paths the study covers: each one where the designs differ. */
const STUDY_PATHS = ['vfree-huge-vmap', 'pud-huge-vmap', 'pte-populate-race', 'hot-remove', 'cpa-collapse', 'bind-unbind', 'mixed-reuse', 'vmalloc-churn', 'hotplug-cycles', 'execmem-rox'];

/** The scenarios the study runs by default: each path behind an Intel IOMMU, then behind an AMD one (`NAME@amd`). */
export const STUDY_SCENARIOS = [...STUDY_PATHS, ...STUDY_PATHS.map((name) => `${name}@amd`)];

interface StudyFlags {
  designs?: string;
  baseline?: string;
  scenarios?: string;
  budget: number;
  stepBudget: number;
  seed: number;
  workers: number;
  html: string | false;
  json?: boolean;
  executionTimeout: number;
}

const list = (value: string | undefined, fallback: readonly string[]) => (value === undefined ? [...fallback] : commaList(value));

export function studyCommand(program: Command, ctx: CliContext): void {
  program
    .command('study', { isDefault: true })
    .description('the study (the default command): every design on each study scenario, checked and measured, as a table and report.html')
    .option('--designs <a,b,...>', 'designs (names or paths; default: every built-in design)')
    .option('--scenarios <a,b,...>', `scenarios (names or paths; default: ${STUDY_SCENARIOS.join(', ')})`)
    .option('--baseline <name|path>', 'also report, per scenario, what each other design adds and removes relative to this one (findings by kind and site); added to --designs first unless named')
    .option('--budget <n>', 'at most this many PCT executions per design and scenario', positiveInt('--budget'), 40)
    .option('--step-budget <n>', 'simulated steps the checker may spend per pair (long workloads get fewer executions)', positiveInt('--step-budget'), 800_000)
    .option('--seed <n>', 'seed of the PCT explorations', nonNegativeInt('--seed'), 0)
    .option('--workers <n>', 'worker threads (default: the cores, at most 4)', workerCount('--workers'), Math.max(1, Math.min(4, cpus().length)))
    .option('--html <file>', 'where to write the HTML report', 'report.html')
    .option('--no-html', 'do not write the HTML report')
    .option('--json', 'print the study as one JSON object')
    .option(...EXECUTION_TIMEOUT)
    .action(async (flags: StudyFlags) => {
      refuseTwoOnStdout({ '--html': flags.html === false ? undefined : flags.html }, flags.json);
      const designNames = designsWithBaseline(list(flags.designs, BUILTIN_DESIGNS.map((d) => d.name)), flags.baseline);
      const scenarioNames = list(flags.scenarios, STUDY_SCENARIOS);
      // Check the names and files here first: bad input is exit 2 before any work starts. A design
      // module is first loaded by the contained runner's workers, where a module that never finishes
      // loading is caught; only then here, for its name and summary.
      for (const name of designNames) if (!isDesignPath(name)) await loadDesign(name);
      const scenarios = scenarioNames.map((name) => loadScenario(name));
      const options: StudyOptions = { budget: flags.budget, stepBudget: flags.stepBudget, seed: flags.seed };
      const jobs = scenarioNames.flatMap((scenario) => designNames.map((design) => ({ kind: 'study-cell' as const, design: recordedSpec(design), scenario: recordedSpec(scenario), options })));
      const progress = studyProgress(jobs.length, ctx);
      const started = performance.now();
      const cells = await runJobs(jobs, { workers: flags.workers, timeoutMs: flags.executionTimeout, done: (_i, cell) => progress.done(cell as StudyCell) });
      progress.stop();
      const designs = [];
      for (const name of designNames) designs.push(await loadDesign(name));
      const baseline = flags.baseline === undefined ? undefined : designNames.indexOf(flags.baseline);
      const study = assembleStudy(designs, scenarios.map((s) => ({ name: s.name, summary: s.summary })), options, cells, baseline);
      // Render everything, then write: a failure leaves no file behind; stdout carries one thing.
      const outputs: Output[] = [];
      if (flags.html !== false) outputs.push({ path: flags.html, text: studyHtml(study), flag: '--html' });
      writeOutputs(outputs, ctx.out, () => (flags.json ? JSON.stringify(study, null, 2) + '\n' : renderStudy(study, flags.html, performance.now() - started)));
      ctx.exitCode = 0;
    });
}

/** A bar on a terminal; one line per finished pair otherwise (CI logs), on stderr either way. */
function studyProgress(total: number, ctx: CliContext) {
  if (!process.stderr.isTTY) {
    let n = 0;
    return {
      done: (c: StudyCell) => ctx.err(`[${++n}/${total}] ${c.design} on ${c.scenario}: ${verdictOf(c)}\n`),
      stop: () => {},
    };
  }
  const bar = new SingleBar({ format: 'study {bar} {value}/{total} pairs | last: {last}', stream: process.stderr, hideCursor: true });
  bar.start(total, 0, { last: '-' });
  return {
    done: (c: StudyCell) => bar.increment({ last: `${c.design} on ${c.scenario}` }),
    stop: () => bar.stop(),
  };
}

