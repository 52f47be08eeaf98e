/**
 * The watchdog's guard (src/job/guard.ts) without the worker around it: transparent when no
 * hook hung, and, given where one hung, a deterministic cut at that choice — the same record for
 * the same hang point, so a restarted worker reproduces the run it replaces.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PROGRESS_BYTES, WatchdogGuard, type HangPoint } from '../../../src/job/guard.ts';
import { builtinDesign } from '../../../src/designs/index.ts';
import { check, type CheckOptions } from '../../../src/job/check.ts';
import { scenarioFromText } from '../../../src/scenario/scenario.ts';

const SMALL = 'examples/scenarios/vfree-small.yaml';
const scenario = scenarioFromText(readFileSync(SMALL, 'utf8'), SMALL);
const design = builtinDesign('upstream')!;
const OPTIONS: CheckOptions = { strategy: 'random', seed: 3, budget: 3, maxSteps: 5000 };

function guard(hangs: readonly HangPoint[] = []) {
  const progress = new Int32Array(new SharedArrayBuffer(PROGRESS_BYTES));
  return { progress, guard: new WatchdogGuard(progress, hangs, '10 s') };
}

test('with no hang the guard changes nothing: the same record as an unguarded check, and it publishes the last build and choice', () => {
  const plain = check(design, scenario, OPTIONS, 'label');
  const { progress, guard: g } = guard();
  const guarded = check(design, scenario, { ...OPTIONS, guard: g }, 'label');
  assert.deepEqual(guarded, plain);
  assert.equal(progress[0], 3, 'four executions built: the pilot (0), then executions 0, 1, 2 (builds 1, 2, 3)');
  assert.ok(progress[1] > 100, `the last choice of the last execution is published (${progress[1]})`);
});

test('a hang point cuts that execution at that choice: an assertion naming the thread, the step and its label; the others run; not complete', () => {
  const { guard: g } = guard([{ build: 2, choice: 200 }]);
  const r = check(design, scenario, { ...OPTIONS, guard: g }, JSON.stringify(['upstream', SMALL, 5000]));
  assert.equal(r.executions, 3);
  assert.equal(r.complete, false);
  const hung = r.violations.filter((v) => v.kind === 'assertion');
  assert.equal(hung.length, 1);
  const [v] = hung;
  assert.match(v.message, /^watchdog: BUG: soft lockup - \S+ stuck in \S+: a design hook did not return$/);
  assert.equal(v.thread, v.message.split(' ')[5]);
  assert.match(v.details[0], /^design hook did not return within 10 s \(--execution-timeout\) at step \d+ \(label \S+\)$/);
  assert.equal(v.execution, 1);
  assert.equal(v.occurrences, 1);
  // The token names the cut, so replay stops there too (src/cli/replay.ts).
  assert.match(Buffer.from(v.replay.slice(5), 'base64url').toString('latin1'), /\{"limit":"10 s","choice":200\}/);
  const again = check(design, scenario, { ...OPTIONS, guard: guard([{ build: 2, choice: 200 }]).guard }, JSON.stringify(['upstream', SMALL, 5000]));
  assert.deepEqual({ ...again, elapsedMs: 0 }, { ...r, elapsedMs: 0 }, 'the same hang point gives the same record');
});
