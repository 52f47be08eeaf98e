/**
 * `kptsim run --design D --scenario S [--seed N] [--costs F] [--json] [--trace|--quiet] [--html F] [--perfetto F]`:
 * one timed execution (the timed scheduler, src/measure/timed-scheduler.ts), printed as a header,
 * its violations and its metrics; `--trace` adds the trace in simulated time, `--quiet` prints one
 * line. Exit 1 when a violation was reported. Everything is rendered before anything is written,
 * and the files are written together (output.ts): a failure leaves none of them behind. An output
 * given as `-` is standard output, which then carries that file alone. A design given by path runs
 * in the contained runner (runner.ts): a hook that never returns ends the execution there, reported.
 */
import { Option, type Command } from 'commander';
import { perfettoJson } from '../report/perfetto.ts';
import { runHtml } from '../report/html.ts';
import { jsonBigint, renderRun, renderRunSummary } from '../report/run-text.ts';
import type { CliContext } from './context.ts';
import { refuseTwoOnStdout, writeOutputs, type Output } from './output.ts';
import { nonNegativeInt, positiveInt } from './parse.ts';
import { EXECUTION_TIMEOUT, runJobs } from './runner.ts';

interface RunFlags {
  design: string;
  scenario: string;
  seed: number;
  costs?: string;
  maxSteps?: number;
  json?: boolean;
  trace?: boolean;
  quiet?: boolean;
  html?: string;
  perfetto?: string;
  selfCheck?: boolean;
  executionTimeout: number;
}

export function runCommand(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a design on a scenario once in simulated time and print its violations and metrics (--trace: and its trace)')
    .requiredOption('--design <name|path>', 'a built-in design (kptsim designs) or a path to a design module')
    .requiredOption('--scenario <name|path>', 'a built-in scenario (kptsim scenarios) or a path to a .yaml/.json scenario file')
    .option('--seed <n>', '0: every step costs what the cost model says; N > 0: costs vary by up to ±20%, drawn from N', nonNegativeInt('--seed'), 0)
    .option('--costs <file>', 'a YAML/JSON file overriding the cost model (simulated ns per operation)')
    .option('--max-steps <n>', 'cut the execution after this many steps', positiveInt('--max-steps'))
    .option('--json', 'print the result as JSON (the trace included)')
    .addOption(new Option('--trace', 'also print the trace in simulated time (long runs of one thread collapsed)').conflicts('quiet'))
    .addOption(new Option('--quiet', 'print only a one-line summary: the violations found, steps, simulated time').conflicts('json'))
    .option('--html <file>', 'also write a self-contained HTML report (metrics, charts, violations with their trace); - for standard output, instead of the report')
    .option('--perfetto <file>', 'also write the timeline as a Chrome/Perfetto trace (open it at ui.perfetto.dev); - for standard output, instead of the report')
    .option('--self-check', "check the model's own invariants before every step (page tables, free lists, IOMMU caches); slow; a failure is a kptsim bug")
    .option(...EXECUTION_TIMEOUT)
    .action(async (flags: RunFlags) => {
      // Standard output carries one thing: an output file given as -, or the report.
      refuseTwoOnStdout({ '--html': flags.html, '--perfetto': flags.perfetto }, flags.json);
      const job = {
        kind: 'run' as const,
        design: flags.design,
        scenario: flags.scenario,
        seed: flags.seed,
        costs: flags.costs,
        maxSteps: flags.maxSteps,
        timeline: flags.perfetto !== undefined,
        selfCheck: flags.selfCheck,
      };
      const [{ timeline, ...result }] = await runJobs([job], { workers: 1, timeoutMs: flags.executionTimeout });
      // Render everything, then write: a renderer that fails has written nothing.
      const outputs: Output[] = [];
      if (flags.perfetto !== undefined && timeline !== undefined) {
        outputs.push({ path: flags.perfetto, text: perfettoJson({ command: 'kptsim run', design: result.design, scenario: result.scenario, seed: result.seed, timeline }), flag: '--perfetto' });
      }
      if (flags.html !== undefined) outputs.push({ path: flags.html, text: runHtml(result), flag: '--html' });
      writeOutputs(outputs, ctx.out, () =>
        flags.json ? JSON.stringify(result, jsonBigint, 2) + '\n' : flags.quiet ? renderRunSummary(result) : renderRun(result, { trace: flags.trace }),
      );
      ctx.exitCode = result.violations.length > 0 ? 1 : 0;
    });
}
