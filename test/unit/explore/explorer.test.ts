import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DfsScheduler,
  DporScheduler,
  explore,
  isStrategyName,
  RandomScheduler,
  replayChoices,
  STRATEGIES,
  STRATEGY_NAMES,
  type ExplorationProgress,
} from '../../../src/explore/index.ts';
import { counter, writers } from './programs.ts';

test('an exhaustive strategy that runs out of executions by itself is complete; a budget cut is not', () => {
  const full = explore(writers([1, 2]), new DfsScheduler(), {});
  assert.deepEqual([full.executions, full.complete, full.stoppedBy], [10, true, 'finished']);
  const cut = explore(writers([1, 2]), new DfsScheduler(), { budget: 4 });
  assert.deepEqual([cut.executions, cut.complete, cut.stoppedBy], [4, false, 'budget']);
  // A budget exactly the size of the space does not hide that the space was covered.
  const exact = explore(writers([1, 2]), new DfsScheduler(), { budget: 10 });
  assert.deepEqual([exact.executions, exact.complete, exact.stoppedBy], [10, true, 'finished']);
  const bounded = explore(writers([1, 2]), new DfsScheduler({ preemptionBound: 0 }), {});
  assert.deepEqual([bounded.complete, bounded.stoppedBy], [false, 'finished']);
});

test('random and pct are never complete, whatever they ran', () => {
  for (const name of ['random', 'pct'] as const) {
    const r = explore(writers([1, 1]), STRATEGIES[name]({ seed: 1 }), { budget: 50 });
    assert.equal(r.complete, false, name);
    assert.equal(r.executions, 50, name);
  }
});

test('a time limit on the injected clock stops the loop between executions', () => {
  let t = 1000;
  const now = () => (t += 10); // every reading advances 10 ms
  const r = explore(writers([2, 2]), new RandomScheduler(1), { timeMs: 100, now });
  assert.equal(r.stoppedBy, 'time');
  assert.equal(r.complete, false);
  assert.ok(r.executions > 0 && r.executions < 10, `${r.executions} executions`);
  assert.ok(r.elapsedMs !== undefined && r.elapsedMs >= 100);
  assert.throws(() => explore(writers([1]), new RandomScheduler(1), { timeMs: 5 }), /^TypeError: explore: timeMs needs a now\(\) clock$/);
});

test('stopAtFirst ends at the first execution with a violation; without it every distinct violation is kept once, with a count', () => {
  const first = explore(counter(2, false), new DfsScheduler(), { stopAtFirst: true });
  assert.equal(first.stoppedBy, 'first-violation');
  assert.equal(first.violations.length, 1);
  assert.equal(first.violations[0].occurrences, 1);
  assert.equal(first.violations[0].execution, first.executions - 1);
  const all = explore(counter(2, false), new DfsScheduler(), {});
  assert.equal(all.violations.length, 1);
  assert.ok(all.violations[0].occurrences > 1);
  assert.equal(all.violations[0].status, 'violation');
});

test('a found violation carries the choice list that replays it', () => {
  const r = explore(counter(3, false), new DporScheduler(), {});
  assert.ok(r.violations.length > 0);
  for (const found of r.violations) {
    const { result } = replayChoices(counter(3, false), found.choices);
    assert.deepEqual(result.violations.map((v) => v.title), [found.violation.title]);
    assert.equal(result.steps, found.steps);
  }
});

test('progress is reported every N executions and once at the end, with coverage for dfs', () => {
  const seen: ExplorationProgress[] = [];
  const r = explore(writers([1, 2]), new DfsScheduler(), { onProgress: (p) => seen.push(p), progressEvery: 3 });
  assert.deepEqual(
    seen.map((p) => p.executions),
    [3, 6, 9, 10],
  );
  assert.equal(seen.at(-1)?.coverage, 1);
  assert.equal(r.executions, 10);
  const random: ExplorationProgress[] = [];
  explore(writers([1]), new RandomScheduler(1), { budget: 2, onProgress: (p) => random.push(p) });
  assert.deepEqual(random, [{ executions: 2, violations: 0, coverage: undefined, elapsedMs: undefined }]);
});

test('the same seed explores the same executions (random, pct)', () => {
  for (const name of ['random', 'pct'] as const) {
    const a = explore(counter(3, false), STRATEGIES[name]({ seed: 42 }), { budget: 40 });
    const b = explore(counter(3, false), STRATEGIES[name]({ seed: 42 }), { budget: 40 });
    assert.deepEqual(a, b, name);
  }
});

test('every strategy name has a factory that builds a strategy of that name', () => {
  assert.deepEqual(STRATEGY_NAMES, ['random', 'pct', 'dfs', 'dpor']);
  for (const name of STRATEGY_NAMES) assert.equal(STRATEGIES[name]({ seed: 1 }).name, name);
  assert.equal(isStrategyName('dpor'), true);
  assert.equal(isStrategyName('toString'), false);
  assert.equal(STRATEGIES.dfs({ preemptionBound: 0 }).exhaustive, true);
});
