import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  countPreemptions,
  encodeToken,
  explore,
  RandomScheduler,
  renderSchedule,
  replayChoices,
  replayToken,
  reportsKind,
  scheduleOf,
  ScheduleScheduler,
  shrink,
} from '../../../src/explore/index.ts';
import type { Choice } from '../../../src/sim/index.ts';
import { counter, program, window } from './programs.ts';

/** A violation found by random scheduling: many preemptions in a long schedule. */
function randomFailure(seed: number) {
  const p = window(10, 10);
  const found = explore(p, new RandomScheduler(seed), { budget: 500, stopAtFirst: true });
  assert.equal(found.stoppedBy, 'first-violation', `seed ${seed} found nothing`);
  return { p, choices: found.violations[0].choices };
}

test('a bug one preemption deep, found by a long random schedule, shrinks to one preemption and still reproduces', () => {
  for (const seed of [1, 2, 3]) {
    const { p, choices } = randomFailure(seed);
    assert.ok(countPreemptions(choices) > 1, `seed ${seed}: the random schedule should preempt more than once`);
    const shrunk = shrink(p, choices, reportsKind('assertion'));
    assert.equal(shrunk.shrunk.preemptions, 1, `seed ${seed}`);
    assert.ok(shrunk.original.preemptions > shrunk.shrunk.preemptions);
    assert.equal(shrunk.budgetCut, false);
    // The shrunk schedule is the writer opening the window, then the reader running to its read.
    assert.deepEqual(renderSchedule(shrunk.choices), ['writer x2', 'reader x12 (preempts writer)'], `seed ${seed}`);
    assert.equal(shrunk.shrunk.steps, 14);
    assert.ok(shrunk.shrunk.steps <= shrunk.original.steps);
    // It replays deterministically, from the choice list and from its token.
    const replayed = replayChoices(p, shrunk.choices).result;
    assert.deepEqual(replayed.violations.map((v) => v.title), ['reader saw the window open']);
    const fromToken = replayToken(p, encodeToken(p.identity, shrunk.choices)).result;
    assert.deepEqual(fromToken.choices, shrunk.choices);
    assert.deepEqual(fromToken.violations, shrunk.result.violations);
  }
});

test('shrinking refuses a schedule that does not reproduce the violation', () => {
  const p = window(2);
  const quiet = p.build(new ScheduleScheduler({ switches: [], data: [] }));
  const result = quiet.run();
  assert.equal(result.violations.length, 0);
  assert.throws(() => shrink(p, result.choices, reportsKind('assertion')), /^Error: shrink: the schedule to shrink does not reproduce the violation$/);
});

test('a lost update shrinks to one preemption: t0 loads, t1 runs its increment, t0 stores', () => {
  const p = counter(2, false);
  const found = explore(p, new RandomScheduler(4), { budget: 200, stopAtFirst: true });
  assert.equal(countPreemptions(found.violations[0].choices), 4);
  const shrunk = shrink(p, found.violations[0].choices, reportsKind('assertion'));
  assert.deepEqual(shrunk.result.violations.map((v) => v.title), ['lost update: count is 1 after 2 increments']);
  assert.equal(shrunk.shrunk.preemptions, 1);
  assert.deepEqual(renderSchedule(shrunk.choices), ['t0 x2', 't1 x3 (preempts t0)', 't0 x1']);
  assert.deepEqual(shrunk.schedule.switches, [{ after: 't0', steps: 2, thread: 't1' }]);
});

test('shrinking keeps the data choice a bug needs and drops the thread switches it does not, as long as the report comes no later', () => {
  const p = failingAllocation(2);
  const found = explore(p, new RandomScheduler(2), { budget: 100, stopAtFirst: true });
  assert.ok(countPreemptions(found.violations[0].choices) > 0);
  const shrunk = shrink(p, found.violations[0].choices, reportsKind('leak'));
  // Both measured up to the report (step 6): the original's sixth switch comes after it.
  assert.deepEqual([shrunk.original.preemptions, shrunk.original.steps], [5, 6]);
  // Without the switch the noise runs first and the leak is reported at step 9, later than the
  // original's 6: that schedule is not taken. One switch lets the allocation run at step 2.
  assert.deepEqual([shrunk.shrunk.preemptions, shrunk.shrunk.steps], [1, 4]);
  assert.deepEqual(shrunk.schedule, { switches: [{ after: 'noise', steps: 1, thread: 'alloc' }], data: [{ thread: 'alloc', steps: 3, nth: 0, value: 1 }] });
  // A leak is not fatal: the execution goes on to its end after the report.
  assert.deepEqual(renderSchedule(shrunk.choices), ['noise x1', 'alloc x3 (preempts noise)', 'alloc_pages GFP_ATOMIC = fail', 'alloc x1', 'noise x5']);
});

test('a run budget stops shrinking early and says so', () => {
  const { p, choices } = randomFailure(1);
  const shrunk = shrink(p, choices, reportsKind('assertion'), { maxRuns: 3 });
  assert.equal(shrunk.runs, 3);
  assert.equal(shrunk.budgetCut, true);
  assert.deepEqual(shrunk.result.violations.map((v) => v.kind), ['assertion']);
});

test('a schedule rewritten as departures from the default order replays the same choices', () => {
  const p = window(5, 3);
  for (let seed = 1; seed <= 20; seed++) {
    const s = new RandomScheduler(seed, 1);
    s.beginExecution(0);
    const original = p.build(s).run();
    const guided = new ScheduleScheduler(scheduleOf(original.choices));
    guided.beginExecution(0);
    assert.deepEqual(p.build(guided).run().choices, original.choices, `seed ${seed}`);
  }
});

test('the readable schedule lists runs of one thread, marks preemptions, and shows non-default data values', () => {
  const pick = (options: string[], chosen: number): Choice => ({ kind: 'thread', reason: 'schedule', options, chosen });
  const choices: Choice[] = [
    pick(['a', 'b'], 0),
    pick(['a', 'b'], 0),
    pick(['a', 'b'], 1),
    { kind: 'data', reason: 'alloc_pages GFP_ATOMIC', options: ['ok', 'fail'], chosen: 1 },
    pick(['b'], 0),
    pick(['a'], 0),
  ];
  assert.deepEqual(renderSchedule(choices), ['a x2', 'b x1 (preempts a)', 'alloc_pages GFP_ATOMIC = fail', 'b x1', 'a x1']);
  assert.equal(countPreemptions(choices), 1);
});

/** Noise writes racing an allocation, after `before` local steps, whose failure path leaks: a data choice and thread switches. */
function failingAllocation(before = 1) {
  return program('alloc', [
    {
      name: 'noise',
      body: function* (w) {
        for (let k = 0; k < 5; k++) yield* w.write('x', k);
      },
    },
    {
      name: 'alloc',
      body: function* (w) {
        for (let i = 0; i < before; i++) yield* w.local();
        if (w.exec.choose('alloc_pages GFP_ATOMIC', ['ok', 'fail']) === 1) w.exec.report('leak', 'allocation failure path leaks the page', []);
        yield* w.local();
      },
    },
  ]);
}

test('shrinking never reports more steps or more preemptions than it started from (property: random failures of three programs)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.constantFrom('window', 'counter', 'alloc'), (seed, which) => {
      const p = which === 'window' ? window(6, 6) : which === 'counter' ? counter(3, false) : failingAllocation();
      const found = explore(p, new RandomScheduler(seed), { budget: 200, stopAtFirst: true });
      if (found.violations.length === 0) return;
      const shrunk = shrink(p, found.violations[0].choices, reportsKind(found.violations[0].kind), { maxRuns: 60 });
      assert.ok(shrunk.shrunk.steps <= shrunk.original.steps, `steps ${shrunk.original.steps} -> ${shrunk.shrunk.steps}`);
      assert.ok(shrunk.shrunk.preemptions <= shrunk.original.preemptions, `preemptions ${shrunk.original.preemptions} -> ${shrunk.shrunk.preemptions}`);
      assert.equal(shrunk.shrunk.steps, shrunk.result.violations.find((v) => v.kind === found.violations[0].kind)?.step, 'steps are counted to the report');
    }),
    { numRuns: 60, seed: 15 },
  );
});

test('with stopAt, candidates end at their finding (or where they can no longer be taken), and the shrunk schedule is the same and is run to its end', () => {
  const p = failingAllocation(2);
  const found = explore(p, new RandomScheduler(2), { budget: 100, stopAtFirst: true });
  const plain = shrink(p, found.violations[0].choices, reportsKind('leak'));
  const cut = shrink(p, found.violations[0].choices, reportsKind('leak'), { stopAt: (v) => v.kind === 'leak' });
  assert.deepEqual(cut.choices, plain.choices);
  assert.deepEqual([cut.shrunk, cut.original], [plain.shrunk, plain.original]);
  // The token's execution is whole: the noise thread's writes after the leak are in it.
  assert.equal(cut.result.status, plain.result.status);
  assert.equal(cut.result.steps, plain.result.steps);
});
