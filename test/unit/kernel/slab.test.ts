/** kmalloc/kzalloc/kfree (src/kernel/mm/slab.ts): the GFP rules, KASAN's slab reports, kmemleak. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeakOracle } from '../../../src/check/leak.ts';
import { GFP_ATOMIC, GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { spin_lock, spin_lock_init, spin_unlock } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { kfree, kmalloc, kmemleak_not_leak, kzalloc, slab_read, slab_write, type SlabObject } from '../../../src/kernel/mm/slab.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { dependent, type ChoicePoint, type Scheduler, type Sim, type Step } from '../../../src/sim/index.ts';
import { bootTestKernel, kinds, runClean, runKernel } from '../../helpers/kernel.ts';

/** Round robin over threads; a data choice named in `fail` gets its last option ('fail'). */
class FailingScheduler implements Scheduler {
  readonly asked: ChoicePoint[] = [];
  constructor(private readonly fail: readonly string[]) {}
  beginExecution(index: number): boolean {
    return index === 0;
  }
  choose(point: ChoicePoint): number {
    if (point.kind === 'thread') return 0;
    this.asked.push(point);
    return this.fail.includes(point.reason) ? point.options.length - 1 : 0;
  }
}

test('kmalloc(GFP_KERNEL) may sleep: under a spinlock it is a sleep-in-atomic bug (slab_pre_alloc_hook → might_alloc); GFP_ATOMIC there, or GFP_KERNEL outside, is fine', () => {
  const k = bootTestKernel();
  const lock = spin_lock_init(k, 'test_lock');
  const result = runKernel(k, [
    function* (): Sim {
      yield* kfree(k, yield* kmalloc(k, 1, GFP_KERNEL));
      yield* spin_lock(k, lock);
      yield* kfree(k, yield* kmalloc(k, 2, GFP_ATOMIC));
      yield* kfree(k, yield* kzalloc(k, 0, GFP_KERNEL));
      yield* spin_unlock(k, lock);
    },
  ]);
  assert.deepEqual(kinds(result), ['sleep-in-atomic']);
  assert.equal(result.violations[0].title, 'BUG: sleeping function called from invalid context at kzalloc');
});

test('kmalloc(GFP_ATOMIC) never sleeps but may fail: under fault injection it is a recorded data choice named after the function, and "fail" returns NULL', () => {
  const scheduler = new FailingScheduler(['kzalloc GFP_ATOMIC']);
  const k = bootTestKernel({ config: { failAtomicAllocations: true }, scheduler });
  let got: Array<SlabObject<number> | null> = [];
  runClean(k, function* () {
    got = [yield* kmalloc(k, 1, GFP_ATOMIC), yield* kzalloc(k, 0, GFP_ATOMIC), yield* kmalloc(k, 3, GFP_KERNEL)];
    for (const p of got) yield* kfree(k, p);
  });
  assert.deepEqual(
    scheduler.asked.map((p) => [p.kind, p.reason, p.options]),
    [
      ['data', 'kmalloc GFP_ATOMIC', ['succeed', 'fail']],
      ['data', 'kzalloc GFP_ATOMIC', ['succeed', 'fail']],
    ],
    'GFP_KERNEL offers no failure',
  );
  assert.notEqual(got[0], null);
  assert.equal(got[1], null);
  assert.notEqual(got[2], null);
});

test('without fault injection GFP_ATOMIC offers no choice', () => {
  const scheduler = new FailingScheduler([]);
  const k = bootTestKernel({ scheduler });
  runClean(k, function* () {
    yield* kfree(k, yield* kmalloc(k, 1, GFP_ATOMIC));
  });
  assert.deepEqual(scheduler.asked, []);
});

test('kfree(NULL) is a no-op; a second kfree of an object is KASAN\'s double-free, and a kfree of a pointer kmalloc never returned its invalid-free', () => {
  const k = bootTestKernel();
  const other = bootTestKernel();
  let foreign: SlabObject<number> | null = null;
  runClean(other, function* () {
    foreign = yield* kmalloc(other, 7, GFP_KERNEL);
    kmemleak_not_leak(other, foreign!);
  });
  const result = runKernel(k, [
    function* (): Sim {
      yield* kfree(k, null);
      const p = yield* kmalloc(k, 1, GFP_KERNEL);
      yield* kfree(k, p);
      yield* kfree(k, p);
      yield* kfree(k, foreign);
    },
  ]);
  assert.deepEqual(kinds(result), ['use-after-free', 'use-after-free']);
  assert.deepEqual(result.violations.map((v) => v.title), ['BUG: KASAN: double-free in kfree', 'BUG: KASAN: invalid-free in kfree']);
  assert.equal(result.violations[0].details[0], 'Second free of kmalloc object 0 by task t0');
});

test('a read or write through the pointer after kfree is KASAN\'s slab-use-after-free; before it, each access is one step on the object and sees the last write', () => {
  const k = bootTestKernel();
  const seen: number[] = [];
  const result = runKernel(k, [
    function* (): Sim {
      const p = (yield* kzalloc(k, { pt: 0 }, GFP_KERNEL))!;
      yield* slab_write(k, p, 'rec->pt = pt', { pt: 0x42 });
      seen.push((yield* slab_read(k, p, 'READ_ONCE(rec->pt)')).pt);
      yield* kfree(k, p);
      seen.push((yield* slab_read(k, p, 'READ_ONCE(rec->pt)')).pt);
      yield* slab_write(k, p, 'rec->pt = 0', { pt: 0 });
    },
  ]);
  assert.deepEqual(seen, [0x42, 0x42], 'the stale read sees what the object last held');
  assert.deepEqual(result.violations.map((v) => v.title), ['BUG: KASAN: slab-use-after-free in READ_ONCE(rec->pt)', 'BUG: KASAN: slab-use-after-free in rec->pt = 0']);
  assert.match(result.violations[0].details[0], /^Read of kmalloc object 0 by task t0$/);
  assert.match(result.violations[1].details[0], /^Write of kmalloc object 0 by task t0$/);
});

test('kfree and every access are steps on the object, a read and a free of it dependent: the scheduler orders a reader in another thread before or after the free', () => {
  const k = bootTestKernel();
  const steps: Step[] = [];
  runClean(k, function* () {
    const p = (yield* kmalloc(k, 5, GFP_KERNEL))!;
    const it = (function* (): Sim {
      yield* slab_read(k, p, 'READ_ONCE(*p)');
      yield* kfree(k, p);
    })();
    for (let r = it.next(); !r.done; r = it.next()) {
      steps.push(r.value);
      yield r.value;
    }
  });
  assert.deepEqual(steps.map((s) => `${s.label} ${s.access} ${k.exec.objects.describe(s.obj)}`), ['READ_ONCE(*p) read kmalloc object 0', 'kfree write kmalloc object 0']);
  assert.ok(dependent(steps[0], steps[1]));
});

/** Runs `body` on a kernel with the leak oracle attached, and returns the leak reports. */
function leaksOf(body: (k: Kernel) => Sim): string[] {
  const k = bootTestKernel();
  new LeakOracle(k);
  const result = runKernel(k, [() => body(k)]);
  return result.violations.filter((v) => v.kind === 'leak').map((v) => v.title);
}

test('kmemleak: an object never kfreed by quiescence is reported with the task that allocated it; a freed one, or one declared with kmemleak_not_leak(), is not', () => {
  assert.deepEqual(
    leaksOf(function* (k) {
      yield* kmalloc(k, 'lost', GFP_KERNEL);
      yield* kfree(k, yield* kmalloc(k, 'freed', GFP_KERNEL));
      kmemleak_not_leak(k, (yield* kmalloc(k, 'kept', GFP_KERNEL))!);
    }),
    ['unreferenced object kmalloc object 0: comm "t0"'],
  );
});
