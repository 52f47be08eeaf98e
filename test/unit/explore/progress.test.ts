import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DfsScheduler, DporScheduler, RandomScheduler, explore, exploreAsync, type ExplorationProgress, type ExplorationStrategy, type ExploreOptions, type Program } from '../../../src/explore/index.ts';
import { counter, writers } from './programs.ts';

/**
 * A fake clock that an execution moves on: each build of `program` takes `msPerExecution`, so the
 * time of every report is a function of the executions alone, however often the explorer reads it.
 */
function timed(program: Program, msPerExecution: number): { program: Program; now: () => number } {
  let t = 1_000_000;
  return {
    program: {
      identity: program.identity,
      build(scheduler) {
        t += msPerExecution;
        return program.build(scheduler);
      },
    },
    now: () => t,
  };
}

function reports(program: Program, make: () => ExplorationStrategy, options: ExploreOptions): ExplorationProgress[] {
  const seen: ExplorationProgress[] = [];
  explore(program, make(), { ...options, onProgress: (p) => seen.push(p) });
  return seen;
}

test('with a clock, progress is reported by time as well as by count: after any execution that ends 250 ms after the last report', () => {
  // dfs covers writers(1, 2) in 10 executions; each takes 100 ms on the clock.
  const byTime = timed(writers([1, 2]), 100);
  const seen = reports(byTime.program, () => new DfsScheduler(), { now: byTime.now, progressEvery: 1000 });
  assert.deepEqual(
    seen.map((p) => [p.executions, p.elapsedMs]),
    [
      [3, 300],
      [6, 600],
      [9, 900],
      [10, 1000],
    ],
  );
  // By count too: every 4th execution, and whenever 250 ms passed since the last report of either kind.
  const both = timed(writers([1, 2]), 100);
  assert.deepEqual(
    reports(both.program, () => new DfsScheduler(), { now: both.now, progressEvery: 4 }).map((p) => p.executions),
    [3, 4, 7, 8, 10],
  );
  // Another interval (the last execution is due by time, and the end is reported as always).
  const slow = timed(writers([1, 2]), 100);
  assert.deepEqual(
    reports(slow.program, () => new DfsScheduler(), { now: slow.now, progressEvery: 1000, progressEveryMs: 450 }).map((p) => p.executions),
    [5, 10, 10],
  );
  // Without a clock: by count only, as before.
  assert.deepEqual(
    reports(writers([1, 2]), () => new DfsScheduler(), { progressEvery: 3 }).map((p) => p.executions),
    [3, 6, 9, 10],
  );
});

test('slow executions (dpor taking 400 ms each): the first report comes within the first second, and the next at most a second apart', () => {
  const slow = timed(counter(3, false), 400);
  const seen = reports(slow.program, () => new DporScheduler(), { now: slow.now });
  assert.ok(seen.length >= 3, `${seen.length} reports`);
  const times = seen.map((p) => p.elapsedMs!);
  assert.ok(times[0] <= 1000, `first report at ${times[0]} ms`);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] <= 1000, `reports at ${times[i - 1]} and ${times[i]} ms`);
  // Not one per 100 executions: dpor here runs far fewer than 100.
  assert.ok(seen.at(-1)!.executions < 100);
});

test('the clock decides only when progress is reported, never what is explored', () => {
  const run = (msPerExecution: number | null, strategy: () => ExplorationStrategy, options: ExploreOptions = {}) => {
    const clock = msPerExecution === null ? null : timed(counter(3, false), msPerExecution);
    const seen: number[] = [];
    const r = explore(clock?.program ?? counter(3, false), strategy(), { ...options, now: clock?.now, onProgress: (p) => seen.push(p.executions) });
    const { elapsedMs: _elapsed, ...rest } = r;
    return { rest, seen };
  };
  for (const strategy of [() => new DporScheduler(), () => new RandomScheduler(7)]) {
    const options = { budget: 40 };
    const none = run(null, strategy, options);
    const fast = run(1, strategy, options);
    const slow = run(300, strategy, options);
    const every = run(5, strategy, { ...options, progressEveryMs: 0 });
    assert.deepEqual(fast.rest, none.rest);
    assert.deepEqual(slow.rest, none.rest);
    assert.deepEqual(every.rest, none.rest);
    assert.notDeepEqual(slow.seen, none.seen, 'the slow clock reported more often');
    assert.deepEqual(every.seen, Array.from({ length: none.rest.executions }, (_, i) => i + 1).concat(none.rest.executions), 'progressEveryMs 0: after every execution, and once at the end');
  }
});

test('exploreAsync reports by time too, on the clock it pauses by', async () => {
  const slow = timed(writers([1, 2]), 300);
  const seen: number[] = [];
  const r = await exploreAsync(slow.program, new DfsScheduler(), { now: slow.now, pause: async () => {}, onProgress: (p) => seen.push(p.executions) });
  assert.equal(r.executions, 10);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10]);
});
