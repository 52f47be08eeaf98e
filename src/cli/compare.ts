/**
 * `kptsim compare --designs A,B,... --scenario S [--baseline B] [--costs FILE] [--json] [--html F]`:
 * each design once under the timed scheduler, one aligned row per design; with a baseline (run
 * first when --designs does not name it), what each other design adds, removes and keeps against
 * it. Exit 1 when the run of any design --designs names reported a violation. When any design is given by path, the comparison
 * runs in the contained runner (runner.ts): a hook that never returns ends that design's execution
 * there, reported.
 */
import type { Command } from 'commander';
import { designsWithBaseline } from '../job/inputs.ts';
import { renderCompare } from '../report/compare-text.ts';
import { compareHtml } from '../report/html.ts';
import { UsageError, type CliContext } from './context.ts';
import { refuseTwoOnStdout, writeOutputs, type Output } from './output.ts';
import { commaList } from './parse.ts';
import { EXECUTION_TIMEOUT, runJobs } from './runner.ts';

export function compareCommand(program: Command, ctx: CliContext): void {
  program
    .command('compare')
    .description('run each design once under the timed scheduler on a scenario and compare their costs')
    .requiredOption('--designs <a,b,...>', 'comma-separated built-in design names or paths')
    .requiredOption('--scenario <name|path>', 'a built-in scenario or a scenario file')
    .option('--costs <file>', 'a YAML/JSON file overriding the cost model (simulated ns per operation)')
    .option('--baseline <name|path>', 'also report what each other design adds and removes relative to this one (findings by kind and site); run first unless --designs names it')
    .option('--json', 'print the result as JSON')
    .option('--html <file>', 'also write a self-contained HTML report (metrics table, charts per design, violations)')
    .option(...EXECUTION_TIMEOUT)
    .action(async (flags: { designs: string; scenario: string; costs?: string; baseline?: string; json?: boolean; html?: string; executionTimeout: number }) => {
      const named = commaList(flags.designs);
      if (named.length === 0) throw new UsageError('--designs: expected at least one design name');
      refuseTwoOnStdout({ '--html': flags.html }, flags.json);
      const designs = designsWithBaseline(named, flags.baseline);
      const [result] = await runJobs([{ kind: 'compare' as const, designs, scenario: flags.scenario, costs: flags.costs, baseline: flags.baseline }], { workers: 1, timeoutMs: flags.executionTimeout });
      // Render everything, then write: a failure leaves no file behind; stdout carries one thing.
      const outputs: Output[] = [];
      if (flags.html !== undefined) outputs.push({ path: flags.html, text: compareHtml(result), flag: '--html' });
      writeOutputs(outputs, ctx.out, () => (flags.json ? JSON.stringify(result, null, 2) + '\n' : renderCompare(result)));
      // A baseline run only to compare against is not judged: as with check --baseline, the exit code is the named designs'.
      ctx.exitCode = result.rows.some((r, i) => named.includes(designs[i]) && r.violations.length > 0) ? 1 : 0;
    });
}
