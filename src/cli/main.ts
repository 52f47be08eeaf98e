/**
 * The `kptsim` command. Only this layer prints, reads flags and picks exit codes (docs/architecture.md, Results are data):
 * 0 success / nothing found, 1 a violation was found, 2 bad input, 70 a bug in kptsim itself.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DesignContractError } from '../job/inputs.ts';
import { JobInputError } from '../job/jobs.ts';
import { UsageError, type CliContext } from './context.ts';
import { demoCommand } from './demo.ts';
import { listCommands } from './list.ts';
import { runCommand } from './run.ts';
import { checkCommand } from './check.ts';
import { replayCommand } from './replay.ts';
import { mergeCommand } from './merge.ts';
import { compareCommand } from './compare.ts';
import { studyCommand } from './study.ts';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('kptsim')
    .description('A deterministic model of kernel page-table freeing behind an SVA IOMMU')
    .version(packageVersion(), '--version', 'print the version of kptsim (package.json) and exit')
    .exitOverride()
    // A flag error is one line (exit 2): commander's "(Did you mean --x?)" joins the line it follows.
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s), outputError: (s, write) => write(s.replace(/\n(?!$)/g, ' ')) });
  studyCommand(program, ctx);
  demoCommand(program, ctx);
  listCommands(program, ctx);
  runCommand(program, ctx);
  checkCommand(program, ctx);
  replayCommand(program, ctx);
  mergeCommand(program, ctx);
  compareCommand(program, ctx);
  return program;
}

/** The version in package.json, read when the CLI starts (bin/kptsim.mjs runs this file from the checkout). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** sysexits.h EX_SOFTWARE: distinct from 0 (nothing found), 1 (a violation) and 2 (bad input). */
export const INTERNAL_ERROR = 70;

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError || err instanceof DesignContractError || err instanceof JobInputError) {
      ctx.err(`kptsim: ${err.message}\n`);
      return 2;
    }
    // A kptsim bug (a broken model invariant, an exception outside any design hook): not a finding,
    // so not exit 1, which means "a violation was found".
    const e = err instanceof Error ? err : new Error(String(err));
    ctx.err(`kptsim: internal error, a bug in kptsim (please report it with the command): ${e.name}: ${e.message}\n${e.stack ?? ''}\n`);
    return INTERNAL_ERROR;
  }
}

function processContext(): CliContext {
  // A reader that stops early (`| head`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  return { exitCode: 0, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
}

const invokedDirectly = process.argv[1] !== undefined && /(main\.[jt]s|kptsim(\.mjs)?)$/.test(process.argv[1]);
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
