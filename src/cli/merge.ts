/** `kptsim merge a.json b.json ...`: combine the `check --json` results of the shards of one run. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { mergeChecks } from '../job/check.ts';
import { checkResultSchema, type CheckResult } from '../job/check-result.ts';
import { UsageError, type CliContext } from './context.ts';

function readResult(f: string): CheckResult {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(f, 'utf8'));
  } catch {
    throw new UsageError(`merge: ${f}: not a readable JSON file`);
  }
  const parsed = checkResultSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`merge: ${f}: ${issue.path.join('.') || '(top level)'}: ${issue.message} (expected a kptsim check --json result)`);
  }
  return parsed.data;
}

export function mergeCommand(program: Command, ctx: CliContext): void {
  program
    .command('merge')
    .argument('<files...>', 'check --json outputs of the shards of one exploration')
    .description('merge shard results (kptsim check --shard I/N --json) into the result of the whole run')
    .action((files: string[]) => {
      const parts = files.map(readResult);
      let merged: CheckResult;
      try {
        merged = mergeChecks(parts);
      } catch (err) {
        throw new UsageError(`merge: ${(err as Error).message}`);
      }
      ctx.out(JSON.stringify(merged, null, 2) + '\n');
      ctx.exitCode = merged.violations.length > 0 ? 1 : 0;
    });
}
