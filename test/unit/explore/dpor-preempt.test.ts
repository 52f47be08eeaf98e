/**
 * The preemption models against the explorers (src/sim/execution.ts, runnable rules;
 * src/kernel/kernel/sched/core.ts). Random small programs whose tasks share CPUs, with sleeping
 * locks, atomic sections, cond_resched() and might_sleep() points and preemption points:
 *  - under each model, DPOR reaches every final state and deadlock unbounded DFS reaches;
 *  - PREEMPT_NONE's outcomes are among PREEMPT_VOLUNTARY's, and those among PREEMPT (full)'s, as
 *    Kconfig.preempt promises (each model allows every interleaving of the one before).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DfsScheduler, DporScheduler, explore, type Program } from '../../../src/explore/index.ts';
import { NO_OBJECT, PREEMPT_MODES, step, type PreemptMode, type Sim, type Thread } from '../../../src/sim/index.ts';
import { program, type World } from './programs.ts';

type Op =
  | { readonly op: 'read' | 'write'; readonly v: number }
  | { readonly op: 'cond_resched' | 'might_sleep' | 'point' }
  | { readonly op: 'locked' | 'atomic'; readonly body: readonly Op[] };

const leaf: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('read' as const, 'write' as const), v: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('cond_resched' as const, 'might_sleep' as const, 'point' as const) }) },
);
const { op: opArb } = fc.letrec<{ op: Op }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small' },
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('locked' as const, 'atomic' as const), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
  ),
}));
// Mostly tasks of one CPU, so that who may take it is what the models decide.
const threadArb = fc.record({
  cpu: fc.constantFrom(0, 0, 0, 1),
  kind: fc.constantFrom('task' as const, 'task' as const, 'task' as const, 'hardirq' as const),
  ops: fc.array(opArb, { minLength: 1, maxLength: 3 }),
});
type RandomThread = { readonly cpu: number; readonly kind: 'task' | 'hardirq'; readonly ops: readonly Op[] };

const writes = new WeakMap<Thread, number>();
const POINT = step('preemption point', 'local', NO_OBJECT);

function* runOps(w: World, t: Thread, ops: readonly Op[], log: number[]): Sim {
  for (const o of ops) {
    switch (o.op) {
      case 'read':
        log.push(yield* w.read(`v${o.v}`));
        break;
      case 'write':
        // The value names the thread and its write, not its step count (which differs between models).
        writes.set(t, (writes.get(t) ?? 0) + 1);
        yield* w.write(`v${o.v}`, 100 * (t.id + 1) + writes.get(t)!);
        break;
      case 'cond_resched':
        if (t.ctx.preemptCount > 0) break;
        t.resched = 'cond_resched';
        yield step('cond_resched', 'local', NO_OBJECT);
        break;
      case 'might_sleep':
        if (t.ctx.preemptCount === 0) t.resched ??= 'might_resched';
        yield step('might_sleep', 'local', NO_OBJECT);
        break;
      case 'point':
        if (w.exec.preemptibleHere()) yield POINT;
        break;
      case 'locked': // a sleeping lock (a mutex): waiting for it gives the CPU up
        if (w.lock('M').holder === t) break;
        yield* w.acquire('M', t);
        yield* runOps(w, t, o.body, log);
        yield* w.release('M');
        break;
      case 'atomic': // preempt_disable() ... preempt_enable(), with its preemption point first
        if (w.exec.preemptibleHere()) yield POINT;
        t.ctx.preemptCount++;
        yield* runOps(w, t, o.body, log);
        yield step('preempt_enable', 'local', NO_OBJECT);
        t.ctx.preemptCount--;
        break;
    }
  }
}

function randomProgram(threads: readonly RandomThread[], mode: PreemptMode, worlds: World[]): Program {
  return program(
    `random ${mode}`,
    threads.map((spec, id) => ({ name: `t${id}`, cpu: spec.cpu, kind: spec.kind, body: (w, t) => runOps(w, t, spec.ops, (w.logs[id] = [])) })),
    (w) => worlds.push(w),
    mode,
  );
}

function outcomes(worlds: readonly World[]): Set<string> {
  const seen = new Set<string>();
  for (const w of worlds) {
    if (w.exec.violations.some((v) => v.kind === 'deadlock')) seen.add('deadlock');
    else if (w.exec.threads.every((t) => t.done)) seen.add(`${w.v('v0').value},${w.v('v1').value}|${w.logs.map((l) => l.join('.')).join('/')}`);
  }
  return seen;
}

test('under each preemption model dpor reaches the final states and deadlocks unbounded dfs reaches, and none ⊆ voluntary ⊆ full', () => {
  let compared = 0;
  let narrower = 0;
  fc.assert(
    fc.property(fc.array(threadArb, { minLength: 2, maxLength: 3 }), (threads) => {
      const byMode = new Map<PreemptMode, Set<string>>();
      for (const mode of PREEMPT_MODES) {
        const dfsWorlds: World[] = [];
        const dfs = explore(randomProgram(threads, mode, dfsWorlds), new DfsScheduler(), { budget: 600 });
        fc.pre(dfs.complete);
        const dporWorlds: World[] = [];
        const dpor = explore(randomProgram(threads, mode, dporWorlds), new DporScheduler(), {});
        assert.equal(dpor.complete, true);
        const want = outcomes(dfsWorlds);
        assert.deepEqual([...outcomes(dporWorlds)].sort(), [...want].sort(), mode);
        byMode.set(mode, want);
      }
      const [none, voluntary, full] = PREEMPT_MODES.map((m) => byMode.get(m)!);
      for (const o of none) assert.ok(voluntary.has(o), `none reaches ${o}, voluntary does not`);
      for (const o of voluntary) assert.ok(full.has(o), `voluntary reaches ${o}, full does not`);
      if (none.size < full.size) narrower++;
      compared++;
    }),
    { seed: 20261203, numRuns: 120 },
  );
  assert.ok(compared >= 100, `only ${compared} programs were small enough for dfs`);
  // The models must differ somewhere, or this test compares nothing.
  assert.ok(narrower >= 5, `PREEMPT_NONE reached fewer outcomes than full in only ${narrower} programs`);
});

test('a task keeps its CPU under PREEMPT_NONE until it calls cond_resched(), and loses it between any two steps under full', () => {
  // a writes v0 = 1 then v0 = 2; b, on the same CPU, reads v0 once. Only where a may lose its CPU
  // between the two writes can b read 1.
  const reads = (mode: PreemptMode, ops: readonly Op[]) => {
    const worlds: World[] = [];
    const p = program(
      `keep ${mode} ${ops.map((o) => o.op).join()}`,
      [
        { name: 'a', cpu: 0, body: (w, t) => runOps(w, t, ops, (w.logs[0] = [])) },
        { name: 'b', cpu: 0, body: (w, t) => runOps(w, t, [{ op: 'read', v: 0 }], (w.logs[1] = [])) },
      ],
      (w) => worlds.push(w),
      mode,
    );
    explore(p, new DfsScheduler(), {});
    return new Set(worlds.filter((w) => w.exec.threads.every((t) => t.done)).map((w) => w.logs[1].join())).size;
  };
  const write: Op = { op: 'write', v: 0 };
  // How many values b can read: 3 (before, between, after the writes) or 2 (not between).
  assert.equal(reads('full', [write, write]), 3);
  assert.equal(reads('none', [write, write]), 2);
  assert.equal(reads('voluntary', [write, write]), 2);
  assert.equal(reads('none', [write, { op: 'cond_resched' }, write]), 3);
  assert.equal(reads('none', [write, { op: 'might_sleep' }, write]), 2);
  assert.equal(reads('voluntary', [write, { op: 'might_sleep' }, write]), 3);
});
