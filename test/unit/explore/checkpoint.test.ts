import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CheckpointError,
  DfsScheduler,
  DporScheduler,
  PctScheduler,
  RandomScheduler,
  explore,
  explorerSnapshotSchema,
  type ExplorationResult,
  type ExplorationStrategy,
  type ExplorerSnapshot,
  type Program,
} from '../../../src/explore/index.ts';
import { counter, program, window, writers } from './programs.ts';

/** What a result says, without the choice lists' object identity (compared by value anyway). */
function outcome(r: ExplorationResult) {
  return { ...r, elapsedMs: undefined };
}

/**
 * Runs the exploration once whole, saving a snapshot after every execution; then, from every
 * snapshot (through JSON and the schema, as a file would), resumes a fresh strategy and checks it
 * ends exactly as the whole run did.
 */
function resumesFromEverySnapshot(program: () => Program, strategy: () => ExplorationStrategy, budget: number): number {
  const snapshots: ExplorerSnapshot[] = [];
  const whole = explore(program(), strategy(), { budget, checkpoint: { due: () => true, save: (s) => snapshots.push(structuredClone(s)) } });
  assert.ok(snapshots.length >= 2, 'saved between executions and at the end');
  for (const snapshot of snapshots) {
    const fromFile = explorerSnapshotSchema.parse(JSON.parse(JSON.stringify(snapshot)));
    const resumed = explore(program(), strategy(), { budget, resume: fromFile });
    assert.deepEqual(outcome(resumed), outcome(whole), `resumed after ${snapshot.executions} executions`);
  }
  return snapshots.length;
}

test('dfs resumed from a snapshot after any execution explores the rest of the tree exactly (stack, positions, cut flag)', () => {
  resumesFromEverySnapshot(() => writers([2, 2]), () => new DfsScheduler(), Infinity);
  resumesFromEverySnapshot(() => writers([2, 2]), () => new DfsScheduler({ preemptionBound: 1 }), Infinity);
});

test('dpor resumed from a snapshot after any execution ends with the same executions, violations and completeness (sleep, backtrack and done sets)', () => {
  resumesFromEverySnapshot(() => counter(3, false), () => new DporScheduler(), Infinity);
  resumesFromEverySnapshot(() => counter(2, true), () => new DporScheduler(), Infinity);
});

test('random and pct resumed from any snapshot run the same remaining executions (execution i depends on (seed, i)), violations carried over by token', () => {
  resumesFromEverySnapshot(() => counter(3, false), () => new RandomScheduler(7), 25);
  resumesFromEverySnapshot(() => window(4), () => new PctScheduler(3, { depth: 2 }), 25);
  resumesFromEverySnapshot(() => window(4), () => new PctScheduler(3, { depth: 2, stepsEstimate: 40 }), 25);
});

test("a snapshot is refused by another strategy, and a violation whose token does not replay on the program is refused", () => {
  const snapshots: ExplorerSnapshot[] = [];
  explore(counter(2, false), new DfsScheduler(), { checkpoint: { due: () => false, save: (s) => snapshots.push(s) } });
  const [last] = snapshots;
  assert.ok(last.violations.length > 0, 'the racy counter shows a violation');
  assert.throws(() => explore(counter(2, false), new DporScheduler(), { resume: last }), (e: unknown) => e instanceof CheckpointError && /^strategy\.name: expected dpor, got dfs$/.test(e.message));
  const foreign = { ...last, strategy: new DfsScheduler().saveState() };
  assert.throws(
    () => explore(writers([1, 1]), new DfsScheduler(), { resume: foreign }),
    (e: unknown) => e instanceof CheckpointError && /^violations\.0\.token: does not replay on this program: /.test(e.message),
  );
});

/** A racy counter whose two threads each make a GFP_ATOMIC allocation that may fail (a fault point). */
function allocatingCounter(): Program {
  return program(
    'allocating counter',
    [0, 1].map((i) => ({
      name: `t${i}`,
      body: function* (w) {
        const failed = w.exec.choose('kmalloc GFP_ATOMIC', ['succeed', 'fail'], { fault: true });
        const seen = yield* w.read('count');
        yield* w.write('count', seen + 1 - failed);
      },
    })),
  );
}

test('dfs and dpor with a fault bound resume from any snapshot exactly (the fault-first order of each data node is saved)', () => {
  for (const faults of [undefined, 0, 1]) {
    resumesFromEverySnapshot(allocatingCounter, () => new DfsScheduler({ faults }), Infinity);
    resumesFromEverySnapshot(allocatingCounter, () => new DporScheduler({ faults }), Infinity);
  }
  resumesFromEverySnapshot(allocatingCounter, () => new RandomScheduler(3, Infinity, 1), 20);
  resumesFromEverySnapshot(allocatingCounter, () => new PctScheduler(3, { depth: 2, stepsEstimate: 10, faults: 1 }), 20);
});

test('a snapshot taken with another fault bound is refused, naming strategy.faults and both bounds', () => {
  const strategies = (faults?: number): ExplorationStrategy[] => [new DfsScheduler({ faults }), new DporScheduler({ faults }), new RandomScheduler(0, Infinity, faults), new PctScheduler(0, { faults })];
  strategies(1).forEach((s, i) => {
    const snapshots: ExplorerSnapshot[] = [];
    explore(allocatingCounter(), s, { budget: 2, checkpoint: { due: () => true, save: (x) => snapshots.push(x) } });
    const [first] = snapshots;
    for (const other of [strategies(2)[i], strategies(undefined)[i]]) {
      assert.throws(
        () => explore(allocatingCounter(), other, { resume: first }),
        (e: unknown) => e instanceof CheckpointError && /^strategy\.faults: the snapshot was taken with --faults 1, this run has (--faults 2|no fault bound \(any number of injected faults\)); /.test(e.message),
        `${s.name}`,
      );
    }
  });
});

test('a dpor snapshot from before fault-first (data nodes without an order) still resumes, exploring their options 0, 1, ...', () => {
  const snapshots: ExplorerSnapshot[] = [];
  const p = () =>
    program('one data choice', [
      {
        name: 't0',
        body: function* (w) {
          yield* w.write('x', w.exec.choose('iommu speculative walk', ['none', 'a', 'b']));
        },
      },
    ]);
  const whole = explore(p(), new DporScheduler(), { checkpoint: { due: () => true, save: (x) => snapshots.push(structuredClone(x)) } });
  assert.equal(whole.executions, 3);
  const old = JSON.parse(JSON.stringify(snapshots[0]), (key, value) => (key === 'order' ? undefined : value));
  assert.ok(JSON.stringify(old).includes('"kind":"data"') && !JSON.stringify(old).includes('order'));
  const resumed = explore(p(), new DporScheduler(), { resume: explorerSnapshotSchema.parse(old) });
  assert.deepEqual(outcome(resumed), outcome(whole));
});
