/**
 * mergeChecks (src/job/check.ts) on the check records themselves: a worker's slice is a shard of
 * the shard it works in, so the W slices of shard i of N merge into exactly shard i of N — the
 * record `check --shard i/N --workers W` prints — and nothing else merges.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { builtinDesign } from '../../../src/designs/index.ts';
import { sliceOf } from '../../../src/explore/index.ts';
import { MergeError, check, mergeChecks, type CheckOptions } from '../../../src/job/check.ts';
import type { CheckResult } from '../../../src/job/check-result.ts';
import { scenarioFromText } from '../../../src/scenario/scenario.ts';

const SMALL = 'examples/scenarios/vfree-small.yaml';
const scenario = scenarioFromText(readFileSync(SMALL, 'utf8'), SMALL);
const design = builtinDesign('immediate')!;
const OPTIONS: CheckOptions = { strategy: 'pct', seed: 2, budget: 12, shrinkRuns: 20, witnessRuns: 0 };
const SHARD = { index: 1, count: 3 };

const run = (slice = sliceOf(SHARD, 0, 1)) => check(design, scenario, { ...OPTIONS, slice }, 'label');
const untimed = ({ elapsedMs: _t, ...rest }: CheckResult) => rest;

test('the two worker slices of shard 1 of 3 are shards 1 and 4 of 6, and merge into the record of shard 1 of 3 run in one thread', () => {
  const workers = [0, 1].map((w) => run(sliceOf(SHARD, w, 2)));
  assert.deepEqual(
    workers.map((p) => [p.shard.index, p.shard.count]),
    [
      [1, 6],
      [4, 6],
    ],
  );
  const alone = run();
  assert.deepEqual([alone.shard.index, alone.shard.count], [1, 3]);
  assert.ok(alone.violations.length > 0, 'the merge has findings to combine');
  assert.deepEqual(untimed(mergeChecks(workers, { into: SHARD })), untimed(mergeChecks([alone], { into: SHARD })));
  assert.deepEqual(untimed(mergeChecks([...workers].reverse(), { into: SHARD })), untimed(mergeChecks([alone], { into: SHARD })));
});

test('slices that are not exactly the parts of the shard asked for are refused with MergeError, naming the part', () => {
  const workers = [0, 1].map((w) => run(sliceOf(SHARD, w, 2)));
  const names = ['w0', 'w1'];
  assert.throws(() => mergeChecks(workers, { names }), (e: unknown) => e instanceof MergeError && /^w0, w1: shards 0, 2, 3, 5 of 6 are missing$/.test(e.message));
  assert.throws(() => mergeChecks([workers[0], workers[0]], { into: SHARD, names }), (e: unknown) => e instanceof MergeError && /^w1: shard 1 of 6 is given twice \(also w0\)$/.test(e.message));
  assert.throws(() => mergeChecks([workers[0]], { into: { index: 0, count: 3 } }), (e: unknown) => e instanceof MergeError && /^part 0: shard 1 of 6 is not part of shard 0 of 3$/.test(e.message));
  const otherDepth = check(design, scenario, { ...OPTIONS, pctDepth: 2, slice: sliceOf(SHARD, 1, 2) }, 'label');
  assert.throws(() => mergeChecks([workers[0], otherDepth], { into: SHARD, names }), (e: unknown) => e instanceof MergeError && /^w1: a shard of another run: depth 2, but w0 has depth 3$/.test(e.message));
});
