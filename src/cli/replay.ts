/**
 * `kptsim replay TOKEN|FILE [--json]`: rebuild the design and scenario a token names, run the
 * recorded schedule once (every step checked against the recording), and print the trace and the
 * violation in kernel terms — the same report `check` printed. FILE is a `check --json` output.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TokenError, ReplayDivergence, tokenLabel } from '../explore/index.ts';
import { replay, type ReplayResult } from '../measure/replay.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './context.ts';
import { loadDesign, loadScenario } from './load.ts';
import { reportLines } from './report-text.ts';
import { collapseRuns } from './trace-text.ts';

/** The tokens a TOKEN|FILE argument stands for. */
function tokensOf(arg: string): string[] {
  if (arg.startsWith('kpt') && !existsSync(arg)) return [arg];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(arg, 'utf8'));
  } catch {
    throw new UsageError(`replay: '${arg}' is neither a replay token (kpt1.…) nor a readable check --json file`);
  }
  const violations = (doc as { violations?: { replay?: unknown }[] }).violations;
  const tokens = Array.isArray(violations) ? violations.map((v) => v.replay).filter((t): t is string => typeof t === 'string') : [];
  if (tokens.length === 0) throw new UsageError(`replay ${arg}: violations[].replay: no replay token in the file`);
  return tokens;
}

export function replayCommand(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .argument('<token|file>', 'a replay token printed by check, or a check --json output file')
    .description('re-run a recorded execution exactly and print its trace and report')
    .option('--json', 'print the result as JSON')
    .action(async (arg: string, flags: { json?: boolean }) => {
      const results: ReplayResult[] = [];
      for (const token of tokensOf(arg)) {
        try {
          const [designSpec, scenarioSpec] = JSON.parse(tokenLabel(token)) as [string, string];
          results.push(replay(await loadDesign(designSpec), loadScenario(scenarioSpec), token));
        } catch (err) {
          if (err instanceof TokenError || err instanceof ReplayDivergence) throw new UsageError(`replay: ${err.message}`);
          throw err;
        }
      }
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
