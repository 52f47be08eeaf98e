/**
 * `kptsim run --design D --scenario S [--seed N] [--costs F] [--json] [--html F] [--perfetto F]`: one timed execution (the
 * timed scheduler, src/measure/timed-scheduler.ts), printed as its trace in simulated time, its
 * violations and its metrics. Exit 1 when a violation was reported. A design given by path runs in
 * the contained runner (runner.ts): a hook that never returns ends the execution there, reported.
 */
import type { Command } from 'commander';
import { perfettoJson } from '../report/perfetto.ts';
import { runHtml } from '../report/html.ts';
import { jsonBigint, renderRun } from '../report/run-text.ts';
import type { CliContext } from './context.ts';
import { writeFileAtomic } from './output.ts';
import { nonNegativeInt, positiveInt } from './parse.ts';
import { EXECUTION_TIMEOUT, runJobs } from './runner.ts';

interface RunFlags {
  design: string;
  scenario: string;
  seed: number;
  costs?: string;
  maxSteps?: number;
  json?: boolean;
  html?: string;
  perfetto?: string;
  selfCheck?: boolean;
  executionTimeout: number;
}

export function runCommand(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a design on a scenario once in simulated time and print its trace, violations and metrics')
    .requiredOption('--design <name|path>', 'a built-in design (kptsim designs) or a path to a design module')
    .requiredOption('--scenario <name|path>', 'a built-in scenario (kptsim scenarios) or a path to a .yaml/.json scenario file')
    .option('--seed <n>', '0: every step costs what the cost model says; N > 0: costs vary by up to ±20%, drawn from N', nonNegativeInt('--seed'), 0)
    .option('--costs <file>', 'a YAML/JSON file overriding the cost model (simulated ns per operation)')
    .option('--max-steps <n>', 'cut the execution after this many steps', positiveInt('--max-steps'))
    .option('--json', 'print the result as JSON')
    .option('--html <file>', 'also write a self-contained HTML report (metrics, charts, violations with their trace)')
    .option('--perfetto <file>', 'also write the timeline as a Chrome/Perfetto trace (open it at ui.perfetto.dev)')
    .option('--self-check', "check the model's own invariants before every step (page tables, free lists, IOMMU caches); slow; a failure is a kptsim bug")
    .option(...EXECUTION_TIMEOUT)
    .action(async (flags: RunFlags) => {
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
      if (flags.perfetto !== undefined && timeline !== undefined) {
        writeFileAtomic(flags.perfetto, perfettoJson({ command: 'kptsim run', design: result.design, scenario: result.scenario, seed: result.seed, timeline }), '--perfetto');
      }
      if (flags.html !== undefined) writeFileAtomic(flags.html, runHtml(result), '--html');
      ctx.out(flags.json ? JSON.stringify(result, jsonBigint, 2) + '\n' : renderRun(result));
      ctx.exitCode = result.violations.length > 0 ? 1 : 0;
    });
}
