import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explore, PctScheduler } from '../../../src/explore/index.ts';
import { window } from './programs.ts';

// window(4): the reader must run after the writer opens the window and before it closes it — a
// depth-2 bug (two ordering constraints). 2 threads, 9 scheduling steps (thread_start included).
const THREADS = 2;
const STEPS = 9;

function hitRate(seed: number, depth: number, executions: number): number {
  const strategy = new PctScheduler(seed, { depth, stepsEstimate: STEPS });
  let hits = 0;
  const p = window(4);
  for (let i = 0; i < executions; i++) {
    assert.equal(strategy.beginExecution(i), true);
    const exec = p.build(strategy);
    const result = exec.run();
    strategy.endExecution(exec, result);
    if (result.violations.length > 0) hits++;
  }
  return hits / executions;
}

test('pct with depth 2 hits a depth-2 ordering bug at least as often as its bound 1/(n k) promises', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rate = hitRate(seed, 2, 300);
    assert.ok(rate >= 1 / (THREADS * STEPS), `seed ${seed}: hit rate ${rate} below 1/(n k) = ${1 / (THREADS * STEPS)}`);
  }
});

test('pct with depth 1 (priorities only, no change point) never hits a depth-2 bug', () => {
  for (const seed of [1, 2, 3]) assert.equal(hitRate(seed, 1, 100), 0, `seed ${seed}`);
});

test('pct in the explorer finds the depth-2 bug within a few dozen executions for each seed of a fixed set', () => {
  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
    const result = explore(window(4), new PctScheduler(seed, { depth: 2 }), { budget: 60, stopAtFirst: true });
    assert.equal(result.stoppedBy, 'first-violation', `seed ${seed} ran ${result.executions} executions`);
    assert.equal(result.violations[0].violation.title, 'reader saw the window open');
    assert.equal(result.complete, false);
  }
});

test('pct execution i depends only on (seed, i) when the step estimate is fixed', () => {
  const run = (indices: number[]) => {
    const strategy = new PctScheduler(7, { depth: 3, stepsEstimate: STEPS });
    const p = window(4);
    const out = new Map<number, string>();
    for (const i of indices) {
      strategy.beginExecution(i);
      const exec = p.build(strategy);
      const r = exec.run();
      strategy.endExecution(exec, r);
      out.set(i, r.choices.map((c) => c.options[c.chosen]).join(' '));
    }
    return out;
  };
  const batch = run([0, 1, 2, 3, 4, 5]);
  const alone = run([4]);
  assert.equal(alone.get(4), batch.get(4));
  assert.ok(new Set(batch.values()).size > 1, 'different executions should differ');
});

test('pct without an estimate learns k from the executions it ran (execution 0 has no change point)', () => {
  const strategy = new PctScheduler(3, { depth: 2 });
  const p = window(4);
  strategy.beginExecution(0);
  const exec = p.build(strategy);
  const first = exec.run();
  strategy.endExecution(exec, first);
  // Priorities only: one thread runs until it blocks or ends, so the schedule switches at most once.
  const order = first.choices.map((c) => c.options[c.chosen]);
  const switches = order.filter((t, i) => i > 0 && t !== order[i - 1]).length;
  assert.equal(switches, 1);
  assert.equal(first.violations.length, 0);
  // From execution 1 on, k = 9 and a change point can lower the running thread mid-run.
  let midRunSwitch = false;
  for (let i = 1; i < 20; i++) {
    strategy.beginExecution(i);
    const e = p.build(strategy);
    const r = e.run();
    strategy.endExecution(e, r);
    const o = r.choices.map((c) => c.options[c.chosen]);
    if (o.filter((t, j) => j > 0 && t !== o[j - 1]).length >= 2) midRunSwitch = true;
  }
  assert.ok(midRunSwitch);
});

test('pct refuses a depth below 1', () => {
  assert.throws(() => new PctScheduler(1, { depth: 0 }), /pct depth must be an integer >= 1, got 0/);
});
