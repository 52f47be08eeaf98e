/** `kptsim merge a.json b.json ...`: combine the `check --json` results of the shards of one run. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MergeError, mergeChecks } from '../job/check.ts';
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
    .description('merge the results of all the shards of one run (kptsim check --shard I/N --json, I = 0..N-1) into the result of the whole run; refuses a missing, duplicate or foreign shard')
    .action((files: string[]) => {
      const parts = files.map(readResult);
      let merged: CheckResult;
      try {
        // The shards of one whole run, each exactly once: else one line naming the file and what is wrong.
        merged = mergeChecks(parts, { names: files });
      } catch (err) {
        if (err instanceof MergeError) throw new UsageError(`merge: ${err.message}`);
        throw err;
      }
      ctx.out(JSON.stringify(merged, null, 2) + '\n');
      ctx.exitCode = merged.violations.length > 0 ? 1 : 0;
    });
}
