/**
 * `kptsim replay TOKEN|FILE [--json] [--html F] [--perfetto F]`: rebuild the design and scenario a token names, run the
 * recorded schedule once (every step checked against the recording), and print the trace and the
 * violation in kernel terms — the same report `check` printed. FILE is a `check --json` output.
 * A token whose design is a path replays in a watched worker (watchdog.ts): a hook that never
 * returns ends the execution there, reported.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { TokenError, ReplayDivergence, tokenLabel } from '../explore/index.ts';
import { replay, type ReplayResult, type TimedReplayResult } from '../measure/replay.ts';
import type { Timeline } from '../measure/timeline.ts';
import { perfettoJson } from '../report/perfetto.ts';
import { replayHtml } from '../report/html.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './context.ts';
import { isDesignPath, loadDesign, loadScenario } from './load.ts';
import { writeFileAtomic } from './output.ts';
import { reportLines } from '../report/text.ts';
import type { TimedJob } from './timed-worker.ts';
import { collapseRuns } from './trace-text.ts';
import { EXECUTION_TIMEOUT, PROGRESS_BYTES, TIMED_WORKER, WatchdogGuard, limitText, watched, type HangPoint, type Watch } from './watchdog.ts';

/**
 * What a token's label names (replayLabel): design, scenario, the step bound if one was given, and
 * where the watchdog cut the execution if a hook never returned.
 */
const labelSchema = z.union([
  z.tuple([z.string(), z.string()]),
  z.tuple([z.string(), z.string(), z.number().int().nonnegative()]),
  z.tuple([z.string(), z.string(), z.number().int().nonnegative().nullable(), z.strictObject({ limit: z.string(), choice: z.number().int().nonnegative() })]),
]);

function labelOf(token: string): { design: string; scenario: string; maxSteps?: number; hang?: { limit: string; choice: number } } {
  let doc: unknown;
  try {
    doc = JSON.parse(tokenLabel(token));
  } catch (err) {
    if (err instanceof TokenError) throw new UsageError(`replay: ${err.message}`);
    doc = undefined;
  }
  const parsed = labelSchema.safeParse(doc);
  if (!parsed.success) throw new UsageError('replay: token label: expected the [design, scenario] kptsim check records; was the token made by another tool?');
  const [design, scenario, maxSteps, hang] = parsed.data;
  return { design, scenario, maxSteps: maxSteps ?? undefined, hang };
}

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

/** What one replay needs, as plain data: it is posted to a watched worker (timed-worker.ts). */
export interface ReplayInput {
  readonly token: string;
  readonly timeline: boolean;
}

/** One token replayed: in this thread (`watch` absent), or in a watched worker under its guard. */
export async function replayTask(input: ReplayInput, watch?: Watch): Promise<TimedReplayResult> {
  try {
    const label = labelOf(input.token);
    // Recorded where a hook never returned: stop at that choice again, with the same report.
    const recorded: HangPoint[] = label.hang === undefined ? [] : [{ build: 0, choice: label.hang.choice }];
    const hangs = [...recorded, ...(watch?.hangs ?? [])];
    const guard =
      watch === undefined && hangs.length === 0
        ? undefined
        : new WatchdogGuard(new Int32Array(watch?.progress ?? new SharedArrayBuffer(PROGRESS_BYTES)), hangs, label.hang?.limit ?? watch?.limit ?? '');
    return replay(await loadDesign(label.design), loadScenario(label.scenario), input.token, { maxSteps: label.maxSteps, guard, timeline: input.timeline });
  } catch (err) {
    if (err instanceof TokenError || err instanceof ReplayDivergence) throw new UsageError(`replay: ${err.message}`);
    throw err;
  }
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
      const results: ReplayResult[] = [];
      const timelines: Timeline[] = [];
      for (const token of tokensOf(arg)) {
        const input: ReplayInput = { token, timeline: flags.perfetto !== undefined };
        const job = { task: 'replay', input, limit: limitText(flags.executionTimeout) } satisfies Omit<TimedJob, 'progress' | 'hangs'>;
        // A user design may never return from a hook; only a worker can be stopped from outside.
        const design = labelOf(token).design;
        const { timeline, ...result } = isDesignPath(design)
          ? await watched<TimedReplayResult>(TIMED_WORKER, job, () => design, flags.executionTimeout)
          : await replayTask(input);
        results.push(result);
        if (timeline !== undefined) timelines.push(timeline);
      }
      if (flags.perfetto !== undefined) {
        const sources = results.map((r, i) => ({ command: 'kptsim replay', design: r.design, scenario: r.scenario, timeline: timelines[i] }));
        writeFileAtomic(flags.perfetto, perfettoJson(sources), '--perfetto');
      }
      if (flags.html !== undefined) writeFileAtomic(flags.html, replayHtml(results), '--html');
      ctx.out(flags.json ? JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n' : results.map(renderReplay).join('\n'));
      ctx.exitCode = results.some((r) => r.violations.length > 0) ? 1 : 0;
    });
}

function renderReplay(r: ReplayResult): string {
  const lines = [`kptsim replay: design ${r.design}, scenario ${r.scenario}: ${r.steps} steps, ${r.status}`, ''];
  lines.push(...collapseRuns(r.trace));
  for (const v of r.violations) lines.push('', `${v.kind}: ${v.title}`, ...reportLines(v.kind, v.details, v.thread));
  return lines.join('\n') + '\n';
}
