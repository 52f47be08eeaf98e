/**
 * The study, `kptsim` with no command (`npm start`): every design on each study scenario, a PCT
 * verdict and a timed run per pair (src/measure/study.ts), printed as one table per scenario and
 * written to report.html. The pairs run on a pool of worker threads (piscina); the record does
 * not depend on how many, since each cell depends on its pair and the options alone.
 */
import { cpus } from 'node:os';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { Piscina } from 'piscina';
import { BUILTIN_DESIGNS } from '../designs/index.ts';
import { assembleStudy, studyCell, type StudyCell, type StudyOptions, type StudyResult } from '../measure/study.ts';
import type { CliContext } from './context.ts';
import { studyHtml } from '../report/html.ts';
import { loadDesign, loadScenario } from './load.ts';
import { writeFileAtomic } from './output.ts';
import { commaList, nonNegativeInt, workerCount } from './parse.ts';
import type { StudyTask } from './study-worker.ts';
import { METRIC_HEADER, alignedTable, metricCells } from './table.ts';

/** The scenarios the study runs by default: each kernel path where the designs differ. */
export const STUDY_SCENARIOS = ['vfree-huge-vmap', 'pud-huge-vmap', 'pte-populate-race', 'hot-remove', 'cpa-collapse', 'bind-unbind', 'mixed-reuse', 'vmalloc-churn', 'hotplug-cycles', 'execmem-rox'];

interface StudyFlags {
  designs?: string;
  scenarios?: string;
  budget: number;
  stepBudget: number;
  seed: number;
  workers: number;
  html: string | false;
  json?: boolean;
}

const list = (value: string | undefined, fallback: readonly string[]) => (value === undefined ? [...fallback] : commaList(value));

export function studyCommand(program: Command, ctx: CliContext): void {
  program
    .command('study', { isDefault: true })
    .description('the study (the default command): every design on each study scenario, checked and measured, as a table and report.html')
    .option('--designs <a,b,...>', 'designs (names or paths; default: every built-in design)')
    .option('--scenarios <a,b,...>', `scenarios (names or paths; default: ${STUDY_SCENARIOS.join(', ')})`)
    .option('--budget <n>', 'at most this many PCT executions per design and scenario', nonNegativeInt('--budget'), 40)
    .option('--step-budget <n>', 'simulated steps the checker may spend per pair (long workloads get fewer executions)', nonNegativeInt('--step-budget'), 800_000)
    .option('--seed <n>', 'seed of the PCT explorations', nonNegativeInt('--seed'), 0)
    .option('--workers <n>', 'worker threads (default: the cores, at most 4)', workerCount('--workers'), Math.max(1, Math.min(4, cpus().length)))
    .option('--html <file>', 'where to write the HTML report', 'report.html')
    .option('--no-html', 'do not write the HTML report')
    .option('--json', 'print the study as one JSON object')
    .action(async (flags: StudyFlags) => {
      const designNames = list(flags.designs, BUILTIN_DESIGNS.map((d) => d.name));
      const scenarioNames = list(flags.scenarios, STUDY_SCENARIOS);
      // Load everything here first: bad input is exit 2 before any work starts.
      const designs = [];
      for (const name of designNames) designs.push(await loadDesign(name));
      const scenarios = scenarioNames.map((name) => loadScenario(name));
      const options: StudyOptions = { budget: flags.budget, stepBudget: flags.stepBudget, seed: flags.seed };
      const tasks: StudyTask[] = scenarioNames.flatMap((scenario) => designNames.map((design) => ({ design, scenario, options })));
      const progress = studyProgress(tasks.length, ctx);
      const started = performance.now();
      const cells = await runTasks(tasks, flags.workers, progress.done);
      progress.stop();
      const study = assembleStudy(designs, scenarios.map((s) => ({ name: s.name, summary: s.summary })), options, cells);
      if (flags.html !== false) writeFileAtomic(flags.html, studyHtml(study), '--html');
      ctx.out(flags.json ? JSON.stringify(study, null, 2) + '\n' : renderStudy(study, flags.html, performance.now() - started));
      ctx.exitCode = 0;
    });
}

async function runTasks(tasks: readonly StudyTask[], workers: number, done: (cell: StudyCell) => void): Promise<StudyCell[]> {
  if (workers === 1) {
    const cells: StudyCell[] = [];
    for (const t of tasks) {
      const cell = studyCell(await loadDesign(t.design), loadScenario(t.scenario), t.options);
      done(cell);
      cells.push(cell);
    }
    return cells;
  }
  const pool = new Piscina<StudyTask, StudyCell>({ filename: new URL('./study-worker.mjs', import.meta.url).href, maxThreads: workers, minThreads: workers });
  try {
    return await Promise.all(
      tasks.map(async (t) => {
        const cell = await pool.run(t);
        done(cell);
        return cell;
      }),
    );
  } finally {
    await pool.destroy();
  }
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

function verdictOf(c: StudyCell): string {
  return c.verdict.summary;
}

function renderStudy(s: StudyResult, html: string | false, elapsedMs: number): string {
  const out = [`kptsim study: ${s.designs.length} designs × ${s.scenarios.length} scenarios; verdicts from PCT (up to ${s.options.budget} executions or ${s.options.stepBudget} steps per pair, seed ${s.options.seed}), metrics from one timed run`];
  const header = ['design', 'verdict', ...METRIC_HEADER];
  s.scenarios.forEach((scenario, i) => {
    const rows = s.cells[i].map((c) => [c.design, verdictOf(c), ...metricCells(c.metrics)]);
    out.push('', `${scenario.name}: ${scenario.summary}`, ...alignedTable(header, rows, [0, 1]));
  });
  out.push(
    '',
    'verdict: "bug: <kinds>" when the checker or the timed run found a violation (`kptsim check` shows each with its replay token, and a witness for each hazard);',
    '"not found in N": no violation in N PCT executions — evidence, not proof (`kptsim check --json` gives the PCT bound); "proved" only from an exhaustive strategy',
  );
  if (html !== false) out.push(`report: ${html}`);
  out.push(`${(elapsedMs / 1000).toFixed(1)} s (wall-clock timing, not a result)`);
  return out.join('\n') + '\n';
}
