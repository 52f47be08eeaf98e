import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DfsScheduler, DporScheduler, explore, type Program } from '../../../src/explore/index.ts';
import { NO_OBJECT, step, type Sim } from '../../../src/sim/index.ts';
import { counter, program, writers, type World } from './programs.ts';

test('dpor runs threads that touch different objects once (every order is equivalent)', () => {
  const dpor = explore(writers([3, 3, 3], false), new DporScheduler(), {});
  assert.equal(dpor.executions, 1);
  assert.equal(dpor.complete, true);
  const dfs = explore(writers([2, 2, 2], false), new DfsScheduler(), {});
  assert.equal(dfs.executions, 1680); // 9! / (3!)^3
});

test('dpor explores every order of dependent steps: two writers of one variable, C(4,2) = 6 orders of the writes', () => {
  // thread_start is local, so only the 2 + 2 writes order; every order of them is a different trace.
  const dpor = explore(writers([2, 2]), new DporScheduler(), {});
  assert.equal(dpor.complete, true);
  assert.equal(dpor.executions, 6);
});

test('dpor finds the lost update of an unlocked load/store increment, like dfs', () => {
  const dpor = explore(counter(2, false), new DporScheduler(), {});
  const dfs = explore(counter(2, false), new DfsScheduler(), {});
  assert.deepEqual(
    dpor.violations.map((v) => v.violation.title),
    dfs.violations.map((v) => v.violation.title),
  );
  assert.deepEqual(dpor.violations.map((v) => v.kind), ['assertion']);
  assert.ok(dpor.executions < dfs.executions, `dpor ${dpor.executions} vs dfs ${dfs.executions}`);
});

test('dpor under a lock (blocked lock acquire vs unlock) finds nothing and is complete, like dfs', () => {
  const dpor = explore(counter(2, true), new DporScheduler(), {});
  const dfs = explore(counter(2, true), new DfsScheduler(), {});
  assert.deepEqual(dpor.violations, []);
  assert.deepEqual(dfs.violations, []);
  assert.equal(dpor.complete, true);
  // Both lock orders are explored: t1 takes the lock first in one execution.
  assert.ok(dpor.executions >= 2);
});

test('dpor on three racing incrementers: at least 10x fewer executions than dfs, same verdict', () => {
  for (const locked of [false, true]) {
    const dpor = explore(counter(3, locked), new DporScheduler(), {});
    const dfs = explore(counter(3, locked), new DfsScheduler(), {});
    assert.equal(dpor.complete, true);
    assert.equal(dfs.complete, true);
    assert.deepEqual(
      dpor.violations.map((v) => `${v.kind}: ${v.violation.title}`).sort(),
      dfs.violations.map((v) => `${v.kind}: ${v.violation.title}`).sort(),
      `locked=${locked}`,
    );
    assert.equal(dpor.violations.length, locked ? 0 : 2, `locked=${locked}`);
    assert.ok(dpor.executions * 10 <= dfs.executions, `locked=${locked}: dpor ${dpor.executions} vs dfs ${dfs.executions}`);
  }
});

test('dpor reorders a step with an atomic section that takes its CPU (preemption off is a dependence)', () => {
  // a and b share CPU 0. a: preempt_disable; write x; preempt_enable. b: write x, write y.
  // b can write x before a's section or after it, never inside: two final values of x.
  const finals = (strategy: DporScheduler | DfsScheduler) => {
    const seen = new Set<string>();
    const worlds: World[] = [];
    const p = program(
      'atomic',
      [
        {
          name: 'a',
          cpu: 0,
          body: function* (w, t) {
            yield step('preempt_disable', 'local', NO_OBJECT);
            t.ctx.preemptCount++;
            yield* w.write('x', 1);
            yield step('preempt_enable', 'local', NO_OBJECT);
            t.ctx.preemptCount--;
          },
        },
        {
          name: 'b',
          cpu: 0,
          body: function* (w) {
            yield* w.write('x', 2);
          },
        },
      ],
      (w) => worlds.push(w),
    );
    explore(p, strategy, {});
    for (const w of worlds) if (w.exec.threads.every((t) => t.done)) seen.add(String(w.v('x').value));
    return [...seen].sort();
  };
  assert.deepEqual(finals(new DfsScheduler()), ['1', '2']);
  assert.deepEqual(finals(new DporScheduler()), ['1', '2']);
});

// Random small programs: DPOR must reach exactly the final states DFS reaches.
type Op =
  | { readonly op: 'read'; readonly v: number }
  | { readonly op: 'write'; readonly v: number }
  | { readonly op: 'locked'; readonly l: number; readonly body: readonly Op[] } | { readonly op: 'atomic'; readonly body: readonly Op[] };

const leaf = fc.oneof(
  fc.record({ op: fc.constant('read' as const), v: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('write' as const), v: fc.integer({ min: 0, max: 1 }) }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('locked' as const), l: fc.integer({ min: 0, max: 1 }), body: fc.array(leaf, { minLength: 1, maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('atomic' as const), body: fc.array(leaf, { minLength: 1, maxLength: 2 }) }) },
);
const threadArb = fc.record({ cpu: fc.integer({ min: 0, max: 1 }), ops: fc.array(opArb, { minLength: 1, maxLength: 3 }) });

function randomProgram(threads: readonly { cpu: number; ops: readonly Op[] }[], worlds: World[]): Program {
  const run = function* (w: World, t: import('../../../src/sim/index.ts').Thread, ops: readonly Op[], id: number, log: number[]): Sim {
    for (const o of ops) {
      if (o.op === 'read') log.push(yield* w.read(`v${o.v}`));
      else if (o.op === 'write') yield* w.write(`v${o.v}`, id * 10 + log.length);
      else if (o.op === 'locked') {
        yield* w.acquire(`L${o.l}`, t);
        yield* run(w, t, o.body, id, log);
        yield* w.release(`L${o.l}`);
      } else {
        yield step('preempt_disable', 'local', NO_OBJECT);
        t.ctx.preemptCount++;
        yield* run(w, t, o.body, id, log);
        yield step('preempt_enable', 'local', NO_OBJECT);
        t.ctx.preemptCount--;
      }
    }
  };
  return program(
    'random',
    threads.map((spec, id) => ({
      name: `t${id}`,
      cpu: spec.cpu,
      body: function* (w, t) {
        const log: number[] = [];
        (w as World & { logs?: number[][] }).logs ??= [];
        (w as World & { logs: number[][] }).logs[id] = log;
        yield* run(w, t, spec.ops, id + 1, log);
      },
    })),
    (w) => worlds.push(w),
  );
}

function outcomes(worlds: readonly World[]): string[] {
  const seen = new Set<string>();
  for (const w of worlds) {
    if (!w.exec.threads.every((t) => t.done)) continue; // abandoned (sleep-set blocked)
    const logs = (w as World & { logs?: number[][] }).logs ?? [];
    seen.add(`${w.v('v0').value},${w.v('v1').value}|${logs.map((l) => l.join('.')).join('/')}`);
  }
  return [...seen].sort();
}

test('dpor reaches exactly the final states and read values dfs reaches (random programs with locks and atomic sections)', () => {
  fc.assert(
    fc.property(fc.array(threadArb, { minLength: 2, maxLength: 3 }), (threads) => {
      const dfsWorlds: World[] = [];
      const dporWorlds: World[] = [];
      const dfs = explore(randomProgram(threads, dfsWorlds), new DfsScheduler(), { budget: 20_000 });
      fc.pre(dfs.complete);
      const dpor = explore(randomProgram(threads, dporWorlds), new DporScheduler(), {});
      assert.equal(dpor.complete, true);
      assert.deepEqual(outcomes(dporWorlds), outcomes(dfsWorlds));
      assert.ok(dpor.executions <= dfs.executions);
    }),
    { seed: 20240611, numRuns: 150 },
  );
});
