import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DfsScheduler, DporScheduler, explore, type Program } from '../../../src/explore/index.ts';
import { NO_OBJECT, step, type Sim, type Thread } from '../../../src/sim/index.ts';
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

// Random small programs: DPOR must reach the final states DFS reaches. Threads read and write two
// variables, take two locks (nested, so lock-order deadlocks happen), enter atomic sections, make
// data choices (some of them injected faults, under a fault bound of 0, 1, 2 or none, the same for
// both), and may be interrupt handlers sharing a CPU with a task (a handler spinning on a
// lock its interrupted task holds is a deadlock). Compared: every final state of a run that
// completed (shared values and every value each thread read or chose), and whether some run
// deadlocks. Where a deadlock leaves a thread's purely local steps unrun is not compared: see
// the header of dpor.ts for why those orders are not told apart.
type Op =
  | { readonly op: 'read'; readonly v: number }
  | { readonly op: 'write'; readonly v: number }
  | { readonly op: 'choose'; readonly fault: boolean }
  | { readonly op: 'locked'; readonly l: number; readonly body: readonly Op[] }
  | { readonly op: 'atomic'; readonly body: readonly Op[] };

const leaf: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('read' as const), v: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('write' as const), v: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('choose' as const), fault: fc.boolean() }),
);
const { op: opArb } = fc.letrec<{ op: Op }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small' },
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('locked' as const), l: fc.integer({ min: 0, max: 1 }), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('atomic' as const), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
  ),
}));
const threadArb = fc.record({
  cpu: fc.integer({ min: -1, max: 1 }),
  kind: fc.constantFrom('task' as const, 'task' as const, 'hardirq' as const),
  ops: fc.array(opArb, { minLength: 1, maxLength: 2 }),
});
type RandomThread = { readonly cpu: number; readonly kind: 'task' | 'hardirq'; readonly ops: readonly Op[] };

function* runOps(w: World, t: Thread, ops: readonly Op[], log: number[]): Sim {
  for (const o of ops) {
    if (o.op === 'read') log.push(yield* w.read(`v${o.v}`));
    else if (o.op === 'write') yield* w.write(`v${o.v}`, 10 * (t.id + 1) + log.length);
    else if (o.op === 'choose') {
      yield step('choose', 'local', NO_OBJECT);
      // An injected fault logs 201 (option 1); a plain data choice 100 or 101.
      log.push((o.fault ? 200 : 100) + w.exec.choose(o.fault ? 'kmalloc GFP_ATOMIC' : 'pick', ['a', 'b'], { fault: o.fault }));
    } else if (o.op === 'locked') {
      if (w.lock(`L${o.l}`).holder === t) continue; // not recursive
      yield* w.acquire(`L${o.l}`, t);
      yield* runOps(w, t, o.body, log);
      yield* w.release(`L${o.l}`);
    } else {
      yield step('preempt_disable', 'local', NO_OBJECT);
      t.ctx.preemptCount++;
      yield* runOps(w, t, o.body, log);
      yield step('preempt_enable', 'local', NO_OBJECT);
      t.ctx.preemptCount--;
    }
  }
}

function randomProgram(threads: readonly RandomThread[], worlds: World[]): Program {
  return program(
    'random',
    threads.map((spec, id) => ({
      name: `t${id}`,
      cpu: spec.cpu,
      // A device (cpu -1) is never an interrupt handler.
      kind: spec.cpu < 0 ? 'device' : spec.kind,
      body: (w, t) => runOps(w, t, spec.ops, (w.logs[id] = [])),
    })),
    (w) => worlds.push(w),
  );
}

function outcomes(worlds: readonly World[]): string[] {
  const seen = new Set<string>();
  for (const w of worlds) {
    if (w.exec.violations.some((v) => v.kind === 'deadlock')) seen.add('deadlock');
    else if (w.exec.threads.every((t) => t.done)) seen.add(`${w.v('v0').value},${w.v('v1').value}|${w.logs.map((l) => l.join('.')).join('/')}`);
    // else: abandoned as redundant (every runnable thread asleep)
  }
  return [...seen].sort();
}

/** The faults a world injected: its threads' logged 201s. */
const injected = (w: World) => w.logs.flat().filter((x) => x === 201).length;

test('dpor reaches the final states, read values and deadlocks dfs reaches (random programs: locks, atomic sections, interrupts, data choices, fault bounds)', () => {
  let compared = 0;
  let bounded = 0;
  fc.assert(
    fc.property(fc.array(threadArb, { minLength: 2, maxLength: 3 }), fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }), (threads, faults) => {
      const dfsWorlds: World[] = [];
      const dporWorlds: World[] = [];
      const dfs = explore(randomProgram(threads, dfsWorlds), new DfsScheduler({ faults }), { budget: 400 });
      fc.pre(dfs.complete);
      const dpor = explore(randomProgram(threads, dporWorlds), new DporScheduler({ faults }), {});
      assert.equal(dpor.complete, true);
      assert.deepEqual(outcomes(dporWorlds), outcomes(dfsWorlds));
      assert.ok(dpor.executions <= dfs.executions);
      if (faults !== undefined) {
        for (const w of [...dfsWorlds, ...dporWorlds]) assert.ok(injected(w) <= faults, `${injected(w)} faults injected, bound ${faults}`);
        bounded++;
      }
      compared++;
    }),
    { seed: 20240611, numRuns: 150 },
  );
  assert.equal(compared, 150);
  assert.ok(bounded > 60, `${bounded} of 150 programs ran under a bound`);
});
