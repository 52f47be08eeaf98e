/**
 * `kptsim compare --designs A,B,... --scenario S [--costs FILE] [--json] [--html F]`: each design
 * once under the timed scheduler, one aligned row per design. Exit 1 when any run reported a
 * violation. When any design is given by path, the whole comparison runs in a watched worker
 * (watchdog.ts): a hook that never returns ends that design's execution there, reported.
 */
import type { Command } from 'commander';
import { compare, type CompareResult } from '../measure/timed-run.ts';
import { compareHtml } from '../report/html.ts';
import { UsageError, type CliContext } from './context.ts';
import { isDesignPath, loadCosts, loadDesign, loadScenario } from './load.ts';
import { writeFileAtomic } from './output.ts';
import { commaList } from './parse.ts';
import { METRIC_HEADER, alignedTable, metricCells } from './table.ts';
import type { TimedJob } from './timed-worker.ts';
import { EXECUTION_TIMEOUT, TIMED_WORKER, limitText, watched, watchdogGuard, type Watch } from './watchdog.ts';

/** What a comparison needs, as plain data: it is posted to a watched worker (timed-worker.ts). */
export interface CompareInput {
  readonly designs: readonly string[];
  readonly scenario: string;
  readonly costs?: string;
}

/** The comparison: in this thread (`watch` absent), or in a watched worker under its guard (build i: design i). */
export async function compareTask(input: CompareInput, watch?: Watch): Promise<CompareResult> {
  const designs = [];
  for (const name of input.designs) designs.push(await loadDesign(name));
  return compare(designs, loadScenario(input.scenario), loadCosts(input.costs), watch === undefined ? undefined : watchdogGuard(watch));
}

export function compareCommand(program: Command, ctx: CliContext): void {
  program
    .command('compare')
    .description('run each design once under the timed scheduler on a scenario and compare their costs')
    .requiredOption('--designs <a,b,...>', 'comma-separated built-in design names or paths')
    .requiredOption('--scenario <name|path>', 'a built-in scenario or a scenario file')
    .option('--costs <file>', 'a YAML/JSON file overriding the cost model (simulated ns per operation)')
    .option('--json', 'print the result as JSON')
    .option('--html <file>', 'also write a self-contained HTML report (metrics table, charts per design, violations)')
    .option(...EXECUTION_TIMEOUT)
    .action(async (flags: { designs: string; scenario: string; costs?: string; json?: boolean; html?: string; executionTimeout: number }) => {
      const names = commaList(flags.designs);
      if (names.length === 0) throw new UsageError('--designs: expected at least one design name');
      const input: CompareInput = { designs: names, scenario: flags.scenario, costs: flags.costs };
      const job = { task: 'compare', input, limit: limitText(flags.executionTimeout) } satisfies Omit<TimedJob, 'progress' | 'hangs'>;
      // A user design may never return from a hook; only a worker can be stopped from outside.
      const result = names.some(isDesignPath)
        ? await watched<CompareResult>(TIMED_WORKER, job, (build) => names[build] ?? names.join(','), flags.executionTimeout)
        : await compareTask(input);
      if (flags.html !== undefined) writeFileAtomic(flags.html, compareHtml(result), '--html');
      ctx.out(flags.json ? JSON.stringify(result, null, 2) + '\n' : renderCompare(result));
      ctx.exitCode = result.rows.some((r) => r.violations.length > 0) ? 1 : 0;
    });
}

function renderCompare(r: CompareResult): string {
  const header = ['design', ...METRIC_HEADER, 'violations'];
  const rows = r.rows.map((x) => [x.design, ...metricCells(x), [...new Set(x.violations.map((v) => v.kind))].join(',') || 'none']);
  return [`kptsim compare: scenario ${r.scenario} (simulated time, default costs unless --costs)`, '', ...alignedTable(header, rows, [0, header.length - 1])].join('\n') + '\n';
}
