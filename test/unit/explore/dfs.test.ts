import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DfsScheduler, explore } from '../../../src/explore/index.ts';
import { counter, program, writers } from './programs.ts';

test('dfs runs every interleaving of two threads of 2 and 3 dependent steps once: C(5,2) = 10', () => {
  // writers([1, 2]): thread_start plus 1 and 2 writes of one variable, so 2 and 3 scheduling steps.
  const seen = new Set<string>();
  const strategy = new DfsScheduler();
  const result = explore(writers([1, 2]), strategy, {});
  assert.equal(result.executions, 10);
  assert.equal(result.complete, true);
  assert.equal(result.stoppedBy, 'finished');
  // Each execution is a different order (checked by replaying the enumeration with a recorder).
  const recorder = new DfsScheduler();
  const p = writers([1, 2]);
  for (let i = 0; recorder.beginExecution(i); i++) {
    const exec = p.build(recorder);
    const r = exec.run();
    recorder.endExecution(exec, r);
    seen.add(r.choices.map((c) => c.options[c.chosen]).join(' '));
  }
  assert.equal(seen.size, 10);
});

test('dfs enumerates every value of every data choice (an allocation that may fail, then a 3-way pick)', () => {
  const outcomes = new Set<string>();
  const p = program('data', [
    {
      name: 't0',
      body: function* (w) {
        yield* w.local();
        const a = w.exec.choose('alloc_pages GFP_ATOMIC', ['ok', 'fail']);
        const b = w.exec.choose('iommu speculative walk', ['none', 'pml4', 'pdpt']);
        outcomes.add(`${a}${b}`);
      },
    },
  ]);
  const result = explore(p, new DfsScheduler(), {});
  assert.equal(result.executions, 6);
  assert.equal(result.complete, true);
  assert.deepEqual([...outcomes].sort(), ['00', '01', '02', '10', '11', '12']);
});

test('dfs finds the lost update of an unlocked load/store increment, and none under a lock (complete)', () => {
  const racy = explore(counter(2, false), new DfsScheduler(), {});
  assert.deepEqual(racy.violations.map((v) => v.kind), ['assertion']);
  assert.match(racy.violations[0].violation.title, /^lost update: count is 1 after 2 increments$/);
  assert.equal(racy.complete, true);
  const locked = explore(counter(2, true), new DfsScheduler(), {});
  assert.deepEqual(locked.violations, []);
  assert.equal(locked.complete, true);
});

test('a preemption bound of 0 runs only non-preemptive schedules and is not complete', () => {
  const bounded = new DfsScheduler({ preemptionBound: 0 });
  const result = explore(writers([2, 2]), bounded, {});
  // Without preemption, only the order of the two threads' runs is free: t0 then t1, or t1 then t0
  // — and the choice at the very first step (either thread starts) is not a preemption.
  assert.equal(result.executions, 2);
  assert.equal(result.complete, false);
  assert.equal(bounded.cut, true);
  const unbounded = explore(writers([2, 2]), new DfsScheduler(), {});
  assert.equal(unbounded.executions, 20);
  assert.equal(unbounded.complete, true);
});

test('a preemption bound of 1 admits exactly the schedules with at most one preemption', () => {
  const result = explore(writers([2, 2]), new DfsScheduler({ preemptionBound: 1 }), {});
  // 3 steps each: a schedule is t0^a t1^3 t0^(3-a) or its mirror; a = 1, 2 preempt once (plus the two
  // non-preemptive orders): 2 * (1 + 2) = 6.
  assert.equal(result.executions, 6);
  assert.equal(result.complete, false);
});

test('dfs coverage grows from 0 to 1 over the enumeration', () => {
  const strategy = new DfsScheduler();
  const p = writers([1, 2]);
  const coverage: number[] = [];
  for (let i = 0; strategy.beginExecution(i); i++) {
    const exec = p.build(strategy);
    strategy.endExecution(exec, exec.run());
    coverage.push(strategy.coverage());
  }
  assert.equal(coverage.at(-1), 1);
  for (let i = 1; i < coverage.length; i++) assert.ok(coverage[i] >= coverage[i - 1], `coverage fell at ${i}: ${coverage}`);
});
