/** `kptsim merge a.json b.json ...`: combine the `check --json` results of the shards of one run. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { mergeChecks, type CheckResult } from '../measure/check.ts';
import { UsageError, type CliContext } from './context.ts';

export function mergeCommand(program: Command, ctx: CliContext): void {
  program
    .command('merge')
    .argument('<files...>', 'check --json outputs of the shards of one exploration')
    .description('merge shard results (kptsim check --shard I/N --json) into the result of the whole run')
    .action((files: string[]) => {
      const parts = files.map((f): CheckResult => {
        let doc: CheckResult;
        try {
          doc = JSON.parse(readFileSync(f, 'utf8')) as CheckResult;
        } catch {
          throw new UsageError(`merge: ${f}: not a readable JSON file`);
        }
        if (doc.version !== 1 || !Array.isArray(doc.violations) || typeof doc.executions !== 'number') {
          throw new UsageError(`merge: ${f}: version/violations/executions: not a kptsim check --json result`);
        }
        return doc;
      });
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
