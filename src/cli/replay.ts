/**
 * `kptsim replay TOKEN|FILE [--json] [--html F] [--perfetto F]`: rebuild the design and scenario a token names, run the
 * recorded schedule once (every step checked against the recording), and print the trace and the
 * violation in kernel terms — the same report `check` printed. FILE is a `check --json` output.
 * A token whose design is a path replays in the contained runner (runner.ts): a hook that never
 * returns ends the execution there, reported.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ReplayResult } from '../job/replay.ts';
import { renderReplay } from '../report/compare-text.ts';
import { replayHtml } from '../report/html.ts';
import { perfettoJson } from '../report/perfetto.ts';
import { UsageError, type CliContext } from './context.ts';
import { refuseTwoOnStdout, writeOutputs, type Output } from './output.ts';
import { EXECUTION_TIMEOUT, runJobs } from './runner.ts';

/** The tokens a TOKEN|FILE argument stands for. */
function tokensOf(arg: string): string[] {
  if (arg.startsWith('kpt') && !existsSync(arg)) return [arg];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(arg, 'utf8'));
  } catch {
    throw new UsageError(`replay: '${arg}' is neither a replay token (kpt1.…) nor a readable check --json file`);
  }
  const violations = typeof doc === 'object' && doc !== null ? (doc as { violations?: unknown }).violations : undefined;
  const tokens = Array.isArray(violations)
    ? violations.map((v: unknown) => (typeof v === 'object' && v !== null ? (v as { replay?: unknown }).replay : undefined)).filter((t): t is string => typeof t === 'string')
    : [];
  if (tokens.length === 0) throw new UsageError(`replay ${arg}: violations[].replay: no replay token in the file`);
  return tokens;
}

export function replayCommand(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .argument('<token|file>', 'a replay token printed by check, or a check --json output file')
    .description('re-run a recorded execution exactly and print its trace and report')
    .option('--json', 'print the result as JSON')
    .option('--html <file>', 'also write a self-contained HTML report (the violations, the trace around each)')
    .option('--perfetto <file>', 'also write the replay in simulated time as a Chrome/Perfetto trace (open it at ui.perfetto.dev)')
    .option(...EXECUTION_TIMEOUT)
    .action(async (arg: string, flags: { json?: boolean; html?: string; perfetto?: string; executionTimeout: number }) => {
      refuseTwoOnStdout({ '--html': flags.html, '--perfetto': flags.perfetto }, flags.json);
      const jobs = tokensOf(arg).map((token) => ({ kind: 'replay' as const, token, timeline: flags.perfetto !== undefined }));
      const replayed = await runJobs(jobs, { workers: 1, timeoutMs: flags.executionTimeout });
      const results: ReplayResult[] = replayed.map(({ timeline: _, ...result }) => result);
      const timelines = replayed.flatMap((r) => (r.timeline === undefined ? [] : [r.timeline]));
      // Render everything, then write: a failure leaves no file behind; stdout carries one thing.
      const outputs: Output[] = [];
      if (flags.perfetto !== undefined) {
        const sources = results.map((r, i) => ({ command: 'kptsim replay', design: r.design, scenario: r.scenario, timeline: timelines[i] }));
        outputs.push({ path: flags.perfetto, text: perfettoJson(sources), flag: '--perfetto' });
      }
      if (flags.html !== undefined) outputs.push({ path: flags.html, text: replayHtml(results), flag: '--html' });
      writeOutputs(outputs, ctx.out, () => (flags.json ? JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n' : results.map(renderReplay).join('\n')));
      ctx.exitCode = results.some((r) => r.violations.length > 0) ? 1 : 0;
    });
}

