/**
 * DPOR against unbounded DFS on the data-race detector (src/kernel/kernel/kcsan.ts over
 * src/sim/happens-before.ts). Random small programs whose threads make plain loads and stores of
 * two watched words — some under a lock, some only when a synchronising variable holds a value
 * another thread writes, so whether both accesses of a race happen in one execution depends on the
 * order — must give the same set of data-race reports under both: a reduction that skipped an order
 * reaching a race would show as a report dfs has and dpor has not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DfsScheduler, DporScheduler, explore, type Program } from '../../../src/explore/index.ts';
import { Kcsan } from '../../../src/kernel/kernel/kcsan.ts';
import { Lockdep } from '../../../src/kernel/kernel/locking/lockdep.ts';
import { step, type Sim, type Thread } from '../../../src/sim/index.ts';
import { program, type World } from './programs.ts';

type Op =
  | { readonly op: 'load' | 'store'; readonly d: number }
  | { readonly op: 'publish'; readonly value: number }
  | { readonly op: 'if-published'; readonly value: number; readonly body: readonly Op[] }
  | { readonly op: 'locked'; readonly body: readonly Op[] };

const access: fc.Arbitrary<Op> = fc.record({ op: fc.constantFrom('load' as const, 'store' as const), d: fc.integer({ min: 0, max: 1 }) });
const { op: opArb } = fc.letrec<{ op: Op }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small' },
    { weight: 4, arbitrary: access },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('publish' as const), value: fc.integer({ min: 1, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('if-published' as const), value: fc.integer({ min: 1, max: 2 }), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('locked' as const), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
  ),
}));
const threadArb = fc.array(opArb, { minLength: 1, maxLength: 3 });

/** Each build's detector and the data object of each watched word. */
const detectors = new WeakMap<World, { kcsan: Kcsan; words: number[] }>();

function detector(w: World) {
  let d = detectors.get(w);
  if (d === undefined) {
    const words = [w.exec.objects.register('d0', true), w.exec.objects.register('d1', true)];
    d = { kcsan: new Kcsan(w.exec, new Lockdep(w.exec), (word) => `d${words.indexOf(word)}`), words };
    detectors.set(w, d);
  }
  return d;
}

/** A plain load or store of word `d`, its step named after where it is in the program (the report's function). */
function* plain(w: World, d: number, write: boolean, where: string): Sim {
  const { kcsan, words } = detector(w);
  yield step(where, write ? 'write' : 'read', words[d]);
  kcsan.access(words[d], write, plain);
}

function* runOps(w: World, t: Thread, ops: readonly Op[], where: string): Sim {
  for (const [i, o] of ops.entries()) {
    const here = `${where}.${i}`;
    switch (o.op) {
      case 'load':
      case 'store':
        yield* plain(w, o.d, o.op === 'store', `${here}:${o.op} d${o.d}`);
        break;
      case 'publish': // a WRITE_ONCE-style store of a variable that synchronises
        yield* w.write('flag', o.value);
        break;
      case 'if-published':
        if ((yield* w.read('flag')) === o.value) yield* runOps(w, t, o.body, here);
        break;
      case 'locked':
        if (w.lock('L').holder === t) {
          yield* runOps(w, t, o.body, here);
          break;
        }
        yield* w.acquire('L', t);
        yield* runOps(w, t, o.body, here);
        yield* w.release('L');
        break;
    }
  }
}

function racyProgram(threads: readonly (readonly Op[])[], worlds: World[]): Program {
  return program(
    'racy',
    threads.map((ops, id) => ({
      name: `t${id}`,
      body: (w, t) => {
        detector(w);
        return runOps(w, t, ops, `t${id}`);
      },
    })),
    (w) => worlds.push(w),
  );
}

function reports(worlds: readonly World[]): string[] {
  return [...new Set(worlds.flatMap((w) => w.exec.violations.filter((v) => v.kind === 'data-race').map((v) => v.title)))].sort();
}

test('dpor reports the data races unbounded dfs reports, on random programs with locks and order-dependent accesses', () => {
  let compared = 0;
  let racy = 0;
  let orderDependent = 0;
  fc.assert(
    fc.property(fc.array(threadArb, { minLength: 2, maxLength: 3 }), (threads) => {
      const dfsWorlds: World[] = [];
      const dfs = explore(racyProgram(threads, dfsWorlds), new DfsScheduler(), { budget: 600 });
      fc.pre(dfs.complete);
      const dporWorlds: World[] = [];
      const dpor = explore(racyProgram(threads, dporWorlds), new DporScheduler(), {});
      assert.equal(dpor.complete, true);
      const want = reports(dfsWorlds);
      assert.deepEqual(reports(dporWorlds), want);
      compared++;
      if (want.length > 0) racy++;
      // A race some executions show and others do not: the order decides, and dpor must reach it.
      if (want.some((r) => dfsWorlds.some((w) => !w.exec.violations.some((v) => v.title === r)))) orderDependent++;
    }),
    { seed: 20261204, numRuns: 150 },
  );
  assert.ok(compared >= 100, `only ${compared} programs were small enough for dfs`);
  // Or this test compares nothing that matters.
  assert.ok(racy >= 30, `only ${racy} programs had a race`);
  assert.ok(orderDependent >= 10, `only ${orderDependent} programs had a race that depends on the order`);
});
