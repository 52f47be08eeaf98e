/**
 * `kptsim run --design D --scenario S [--seed N] [--costs F] [--json] [--html F] [--perfetto F]`: one timed execution (the
 * timed scheduler, src/measure/timed-scheduler.ts), printed as its trace in simulated time, its
 * violations and its metrics. Exit 1 when a violation was reported. A design given by path runs in
 * a watched worker (watchdog.ts): a hook that never returns ends the execution there, reported.
 */
import type { Command } from 'commander';
import type { TimedTraceEvent } from '../measure/time-keeper.ts';
import { timedRun, type TimedRunResult } from '../measure/timed-run.ts';
import { runHtml } from '../report/html.ts';
import { perfettoJson } from '../report/perfetto.ts';
import { formatEvent } from '../sim/index.ts';
import type { CliContext } from './context.ts';
import { isDesignPath, loadCosts, loadDesign, loadScenario } from './load.ts';
import { writeFileAtomic } from './output.ts';
import { nonNegativeInt, positiveInt } from './parse.ts';
import type { TimedJob } from './timed-worker.ts';
import { collapseRuns } from './trace-text.ts';
import { EXECUTION_TIMEOUT, TIMED_WORKER, limitText, watched, watchdogGuard, type Watch } from './watchdog.ts';

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

/** `--execution-timeout` of run, compare and replay: parsed as check's (cli/check.ts). */

/** What one timed run needs, as plain data: it is posted to a watched worker (timed-worker.ts). */
export interface RunInput {
  readonly design: string;
  readonly scenario: string;
  readonly seed: number;
  readonly costs?: string;
  readonly maxSteps?: number;
  readonly timeline: boolean;
  readonly selfCheck?: boolean;
}

/** One timed run: in this thread (`watch` absent), or in a watched worker under its guard. */
export async function runTask(input: RunInput, watch?: Watch): Promise<TimedRunResult> {
  const design = await loadDesign(input.design);
  const scenario = loadScenario(input.scenario);
  return timedRun(design, scenario, {
    seed: input.seed,
    costs: loadCosts(input.costs),
    maxSteps: input.maxSteps,
    trace: true,
    timeline: input.timeline,
    selfCheck: input.selfCheck,
    guard: watch === undefined ? undefined : watchdogGuard(watch),
  });
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
      const input: RunInput = {
        design: flags.design,
        scenario: flags.scenario,
        seed: flags.seed,
        costs: flags.costs,
        maxSteps: flags.maxSteps,
        timeline: flags.perfetto !== undefined,
        selfCheck: flags.selfCheck,
      };
      const job = { task: 'run', input, limit: limitText(flags.executionTimeout) } satisfies Omit<TimedJob, 'progress' | 'hangs'>;
      // A user design may never return from a hook; only a worker can be stopped from outside.
      const { timeline, ...result } = isDesignPath(flags.design)
        ? await watched<TimedRunResult>(TIMED_WORKER, job, () => flags.design, flags.executionTimeout)
        : await runTask(input);
      if (flags.perfetto !== undefined && timeline !== undefined) {
        writeFileAtomic(flags.perfetto, perfettoJson({ command: 'kptsim run', design: result.design, scenario: result.scenario, seed: result.seed, timeline }), '--perfetto');
      }
      if (flags.html !== undefined) writeFileAtomic(flags.html, runHtml(result), '--html');
      ctx.out(flags.json ? JSON.stringify(result, jsonBigint, 2) + '\n' : renderRun(result));
      ctx.exitCode = result.violations.length > 0 ? 1 : 0;
    });
}

/** Virtual addresses are bigints; JSON carries them as hex strings. */
export function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}

/** Reports of one kind printed in full; a run can report the same bug hundreds of times. */
const SHOWN_PER_KIND = 3;

const us = (ns: number | null, digits = 1) => (ns === null ? '-' : `${(ns / 1000).toFixed(digits)} µs`);
const timed = (e: TimedTraceEvent) => `${us(e.timeNs, 3).padStart(13)} ${formatEvent(e)}`;

function renderRun(r: TimedRunResult): string {
  const lines = [`kptsim run: design ${r.design}, scenario ${r.scenario}, seed ${r.seed} (simulated time)`, ''];
  lines.push(...collapseRuns(r.trace ?? [], timed), '');
  if (r.violations.length === 0) lines.push('no violation');
  const shown = new Map<string, number>();
  for (const v of r.violations) {
    const n = (shown.get(v.kind) ?? 0) + 1;
    shown.set(v.kind, n);
    if (n <= SHOWN_PER_KIND) lines.push(`${v.kind}: ${v.title}`, ...v.details.map((d) => `    ${d}`), `    (thread ${v.thread}, step ${v.step})`);
  }
  for (const [kind, n] of shown) if (n > SHOWN_PER_KIND) lines.push(`... ${n - SHOWN_PER_KIND} more ${kind} reports (--json has them all)`);
  const inv = r.invalidations;
  const pt = r.pageTables;
  const lat = pt.freeLatencyNs;
  const io = r.iommu;
  const rate = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
  lines.push(
    '',
    `${r.steps} steps, ${r.status}; ${r.threads} threads; ${us(r.simulatedNs)} simulated`,
    `IOMMU invalidations: ${inv.piotlbPasid} PASID-selective, ${inv.piotlbPage} page-selective, ${inv.devtlb} device-TLB, ${inv.wait} waits; ${inv.iotlbPerFreedTable === null ? '-' : inv.iotlbPerFreedTable.toFixed(2)} per freed page-table page`,
    `page tables: ${pt.freed} freed (${pt.freedBeforeUnlink} before their parent entry was cleared); pending peak ${pt.pendingPeakPages} pages (${pt.pendingPeakBytes} bytes), mean ${pt.pendingMeanPages.toFixed(2)}, ${pt.pendingAtEnd} at the end`,
    `unlink to allocator: p50 ${us(lat.p50)}, p99 ${us(lat.p99)}, max ${us(lat.max)} (${lat.count} pages)`,
    `work: ${r.work.executions} executions, ${r.work.freedNothing} freed nothing`,
    ...r.locks.map((l) => `lock ${l.name}: ${l.acquisitions} acquisitions, wait ${us(l.waitTotalNs, 2)} total (max ${us(l.waitMaxNs, 2)}), hold ${us(l.holdTotalNs, 2)} total (max ${us(l.holdMaxNs, 2)})`),
    `IOMMU: ${io.translations} translations, ${io.walks} walks, ${io.faults} faults; IOTLB hit rate ${rate(io.iotlbHitRate)}, paging-structure cache hits per miss ${io.pscHitRate === null ? '-' : io.pscHitRate.toFixed(2)}`,
    `memory: ${r.memory.freePages} free pages, ${r.memory.pageTablePages} page-table pages at the end`,
  );
  return lines.join('\n') + '\n';
}
