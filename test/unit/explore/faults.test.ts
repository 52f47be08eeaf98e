/**
 * Injected faults (a data choice marked `fault`: a GFP_ATOMIC allocation that may fail) under each
 * strategy: dfs and dpor try the failure first and never exceed the fault bound, and stay complete
 * within it; random and pct fail allocations often and never exceed the bound either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DfsScheduler, DporScheduler, FaultCount, PctScheduler, RandomScheduler, explore, type ExplorationStrategy } from '../../../src/explore/index.ts';
import type { ChoicePoint } from '../../../src/sim/index.ts';
import { program, type World } from './programs.ts';

/**
 * Two threads that each make one GFP_ATOMIC allocation (a fault point) and write the outcome to a
 * shared variable, so dfs and dpor also explore both orders of the writes; a third data choice that
 * is hardware nondeterminism, not a fault. A world logs [a, b, s]: 1 where an allocation failed.
 */
function twoAllocations(worlds: World[]) {
  const alloc = (reason: string, slot: number) =>
    function* (w: World) {
      yield* w.local();
      const failed = w.exec.choose(reason, ['succeed', 'fail'], { fault: true });
      (w.logs[0] ??= [0, 0, 0])[slot] = failed;
      yield* w.write('x', failed);
    };
  return program(
    'two allocations',
    [
      { name: 't0', body: alloc('kmalloc GFP_ATOMIC', 0) },
      { name: 't1', body: alloc('alloc_pages GFP_ATOMIC', 1) },
      {
        name: 't2',
        body: function* (w) {
          yield* w.local();
          (w.logs[0] ??= [0, 0, 0])[2] = w.exec.choose('iommu speculative walk', ['none', 'next page']);
        },
      },
    ],
    (w) => {
      w.logs[0] = [0, 0, 0];
      worlds.push(w);
    },
  );
}

/** Each execution's outcome as "ab" (the two allocations; 1 = failed), in execution order. */
function runs(strategy: ExplorationStrategy, budget?: number): { outcomes: string[]; complete: boolean; speculated: string[] } {
  const worlds: World[] = [];
  const r = explore(twoAllocations(worlds), strategy, { budget });
  const done = worlds.filter((w) => w.exec.threads.every((t) => t.done));
  return { outcomes: done.map((w) => `${w.logs[0][0]}${w.logs[0][1]}`), complete: r.complete, speculated: done.map((w) => String(w.logs[0][2])) };
}

const faultsIn = (outcome: string) => [...outcome].filter((c) => c === '1').length;
const exhaustive = (faults?: number) => [new DfsScheduler({ faults }), new DporScheduler({ faults })];

test('unbounded, dfs and dpor reach every combination of the two allocations failing, and are complete', () => {
  for (const s of exhaustive()) {
    const r = runs(s);
    assert.deepEqual([...new Set(r.outcomes)].sort(), ['00', '01', '10', '11'], s.name);
    assert.equal(r.complete, true, s.name);
  }
});

test('with --faults 1, no execution of dfs or dpor injects two faults; every combination with at most one is reached, and the search is complete within the bound', () => {
  for (const s of exhaustive(1)) {
    const r = runs(s);
    assert.ok(r.outcomes.every((o) => faultsIn(o) <= 1), `${s.name}: ${r.outcomes.join(' ')}`);
    assert.deepEqual([...new Set(r.outcomes)].sort(), ['00', '01', '10'], s.name);
    assert.equal(r.complete, true, `${s.name}: the fault bound is what was explored, not a cut`);
  }
  for (const s of exhaustive(0)) assert.deepEqual([...new Set(runs(s).outcomes)], ['00'], s.name);
});

test('dfs and dpor try the failure first: the first execution already fails an allocation, bounded or not', () => {
  for (const faults of [undefined, 1, 2]) {
    for (const s of exhaustive(faults)) {
      const first = runs(s).outcomes[0];
      assert.ok(faultsIn(first) >= 1, `${s.name} --faults ${faults}: first execution ${first}`);
    }
  }
});

test('a data choice that is not a fault (an IOMMU speculative walk) keeps its order: option 0 first, and every value', () => {
  for (const s of exhaustive(0)) {
    const r = runs(s);
    assert.equal(r.speculated[0], '0', s.name);
    assert.deepEqual([...new Set(r.speculated)].sort(), ['0', '1'], s.name);
  }
});

test('random and pct fail an allocation in a good share of executions and never exceed --faults', () => {
  const samplers = (faults?: number) => [new RandomScheduler(5, Infinity, faults), new PctScheduler(5, { depth: 2, stepsEstimate: 8, faults })];
  for (const s of samplers(1)) {
    const { outcomes } = runs(s, 200);
    assert.equal(outcomes.length, 200, s.name);
    assert.ok(outcomes.every((o) => faultsIn(o) <= 1), `${s.name}: ${outcomes.filter((o) => faultsIn(o) > 1).length} executions over the bound`);
    // Each allocation fails with probability 1/2 while the bound allows: 3/4 of the executions inject one.
    const injected = outcomes.filter((o) => faultsIn(o) === 1).length;
    assert.ok(injected >= 120, `${s.name}: ${injected} of 200 executions injected a fault`);
    assert.deepEqual([...new Set(outcomes)].sort(), ['00', '01', '10'], s.name);
  }
  for (const s of samplers(undefined)) assert.ok(runs(s, 200).outcomes.includes('11'), `${s.name}: unbounded, both allocations fail in some execution`);
  for (const s of samplers(0)) assert.deepEqual([...new Set(runs(s, 50).outcomes)], ['00'], s.name);
});

test('FaultCount: a search tries the faults first until the execution has taken the bound; past it a sampler takes "no fault" without drawing', () => {
  const alloc: ChoicePoint = { kind: 'data', reason: 'alloc_pages GFP_ATOMIC', options: ['succeed', 'fail', 'fail late'], index: 0, fault: true };
  const walk: ChoicePoint = { kind: 'data', reason: 'iommu speculative walk', options: ['none', 'next page'], index: 1 };
  const count = new FaultCount(1);
  assert.deepEqual(count.order(3), [1, 2, 0]);
  count.took(walk, 1);
  assert.deepEqual(count.order(3), [1, 2, 0], 'a data choice that is not a fault is not counted');
  count.took(alloc, 0);
  assert.deepEqual(count.order(3), [1, 2, 0], '"no fault" is not counted');
  let draws = 0;
  const draw = () => (draws++, 2);
  assert.equal(count.sample(alloc, draw), 2);
  assert.deepEqual(count.order(3), [0]);
  assert.equal(count.sample(alloc, draw), 0);
  assert.equal(count.sample(walk, draw), 2, 'past the bound a choice that is not a fault still draws');
  assert.equal(draws, 2, 'the fault point past the bound did not draw');
  count.reset();
  assert.deepEqual(count.order(3), [1, 2, 0], 'a new execution has taken none');
  assert.deepEqual(new FaultCount(0).order(3), [0]);
  const unbounded = new FaultCount(undefined);
  for (let i = 0; i < 5; i++) unbounded.took(alloc, 1);
  assert.deepEqual(unbounded.order(2), [1, 0]);
});

/**
 * A fallback that runs only when the third of three allocations fails, in a thread racing another
 * on a shared variable (so every failure of an earlier allocation has many interleavings below it).
 */
function fallbackAtThird() {
  return program('fallback at the third allocation', [
    {
      name: 't0',
      body: function* (w) {
        for (let i = 0; i < 3; i++) {
          yield* w.local();
          const failed = w.exec.choose('kmalloc GFP_ATOMIC', ['succeed', 'fail'], { fault: true });
          if (failed === 1 && i === 2) w.exec.report('assertion', 'the fallback of the third allocation ran', []);
          yield* w.write('x', i);
        }
      },
    },
    {
      name: 't1',
      body: function* (w) {
        for (let i = 0; i < 4; i++) yield* w.write('x', 10 + i);
      },
    },
  ]);
}

test('the fault sweep fails each allocation of the first schedule on its own right after the first execution: under --faults 1, the third allocation\'s fallback is reached at the third execution, not after every interleaving below the first failure', () => {
  for (const s of exhaustive(1)) {
    const r = explore(fallbackAtThird(), s, { stopAtFirst: true });
    assert.deepEqual(r.violations.map((v) => [v.violation.title, v.execution]), [['the fallback of the third allocation ran', 2]], s.name);
    // 0: the search's first execution fails the first allocation; 1, 2: the sweep fails the second, then the third.
  }
  for (const s of exhaustive(1)) {
    const whole = explore(fallbackAtThird(), s, {});
    assert.equal(whole.complete, true);
    assert.ok(whole.executions > 20, `${s.name}: ${whole.executions} executions in all, so the order matters`);
  }
});
