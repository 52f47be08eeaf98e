/** `kptsim merge a.json b.json ...`: combine the `check --json` results of the shards of one run. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { STRATEGY_NAMES, type StrategyName } from '../explore/index.ts';
import { mergeChecks, type CheckResult } from '../measure/check.ts';
import { VIOLATION_KINDS } from '../sim/index.ts';
import { UsageError, type CliContext } from './context.ts';

const count = z.number().int().nonnegative();

/** What mergeChecks reads of a `check --json` result; fields it does not read pass through. */
const checkResultSchema = z.looseObject({
  version: z.literal(1),
  design: z.string(),
  scenario: z.string(),
  strategy: z.enum(STRATEGY_NAMES as [StrategyName, ...StrategyName[]]),
  seed: count,
  executions: count,
  complete: z.boolean(),
  stoppedBy: z.string(),
  elapsedMs: z.number().nonnegative().optional(),
  space: z.object({
    threads: count,
    steps: count,
    dataChoices: z.array(z.string()),
    pctDepth: count.optional(),
    preemptionBound: count.optional(),
  }),
  violations: z.array(
    z.looseObject({
      kind: z.enum(VIOLATION_KINDS),
      message: z.string(),
      site: z.string().optional(),
      execution: count,
      occurrences: count,
      replay: z.string(),
    }),
  ),
});

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
  return parsed.data as unknown as CheckResult;
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
