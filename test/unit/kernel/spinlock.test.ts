import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler } from '../../../src/explore/index.ts';
import type { SyncCore } from '../../../src/kernel/model/kernel.ts';
import {
  spin_lock,
  spin_lock_init,
  spin_lock_irq,
  spin_lock_irqsave,
  spin_unlock,
  spin_unlock_irq,
  spin_unlock_irqrestore,
  type spinlock_t,
} from '../../../src/kernel/kernel/locking/spinlock.ts';
import { irqs_disabled, NO_OBJECT, step, type Scheduler, type Sim, type SpawnOptions } from '../../../src/sim/index.ts';
import { newExecution, newSyncCore, runThreads, ScriptedScheduler } from '../../helpers/sim.ts';

const local = step('work', 'local', NO_OBJECT);

function world(scheduler?: Scheduler) {
  const exec = newExecution(scheduler);
  const k = newSyncCore(exec);
  return { exec, k, lock: spin_lock_init(k, 'kernel_pgtable_work.lock') };
}

type Body = (k: SyncCore, lock: spinlock_t) => Sim;

function run(scheduler: Scheduler | undefined, threads: ReadonlyArray<[Partial<SpawnOptions>, Body]>) {
  const { exec, k, lock } = world(scheduler);
  return { lock, result: runThreads(exec, threads.map(([o, b]) => [o, () => b(k, lock)] as const)) };
}

test('spin_lock disables preemption (preempt_count 1 while held) and spin_unlock re-enables it', () => {
  const seen: unknown[] = [];
  const { result, lock } = run(undefined, [
    [
      {},
      function* (k, lock) {
        const ctx = k.exec.current.ctx;
        yield* spin_lock(k, lock);
        seen.push(ctx.preemptCount, lock.owner?.name);
        yield* spin_unlock(k, lock);
        seen.push(ctx.preemptCount);
      },
    ],
  ]);
  assert.deepEqual(seen, [1, 't0', 0]);
  assert.equal(lock.owner, null);
  assert.deepEqual(result.violations, []);
});

/** Two CPUs bump a counter in a critical section of several steps; returns the most inside at once. */
function maxInside(lockIt: boolean, seed: number): number {
  let inside = 0;
  let max = 0;
  const body: Body = function* (k, lock) {
    for (let i = 0; i < 2; i++) {
      if (lockIt) yield* spin_lock(k, lock);
      inside++;
      max = Math.max(max, inside);
      yield local;
      yield local;
      inside--;
      if (lockIt) yield* spin_unlock(k, lock);
      yield local;
    }
  };
  const { result } = run(new RandomScheduler(seed), [
    [{ cpu: 0 }, body],
    [{ cpu: 1 }, body],
  ]);
  assert.equal(result.status, 'quiescent');
  assert.deepEqual(result.violations, []);
  return max;
}

test('spin_lock excludes: two CPUs never hold the same spinlock at once', () => {
  for (let seed = 0; seed < 100; seed++) assert.equal(maxInside(true, seed), 1, `seed ${seed}`);
  assert.ok([...Array(100).keys()].some((seed) => maxInside(false, seed) > 1), 'without the lock the sections overlap');
});

test('a task spinning on a contended spinlock keeps its CPU: no other task runs there until it gets the lock', () => {
  const log: string[] = [];
  // The spinner's spin_lock() first offers the bystander a preemption point (sched/core.ts), not taken here.
  const { result } = run(new ScriptedScheduler(['holder', 'holder', 'spinner', 'spinner']), [
    [
      { name: 'holder', cpu: 0 },
      function* (k, lock) {
        yield* spin_lock(k, lock);
        log.push('holder locked');
        yield local;
        yield* spin_unlock(k, lock);
      },
    ],
    [
      { name: 'spinner', cpu: 1 },
      function* (k, lock) {
        yield* spin_lock(k, lock);
        log.push('spinner locked');
        yield* spin_unlock(k, lock);
      },
    ],
    [
      { name: 'bystander', cpu: 1 },
      function* () {
        log.push('bystander ran');
      },
    ],
  ]);
  assert.equal(result.status, 'quiescent');
  // While the spinner spins (blocked, preempt_count 1), its CPU offers nothing else.
  assert.deepEqual(result.choices[4].options, ['holder']);
  assert.deepEqual(log, ['holder locked', 'spinner locked', 'bystander ran']);
});

test('spin_lock of a spinlock the thread already holds is "spinlock recursion" (debug_spin_lock_before)', () => {
  const { result } = run(undefined, [
    [
      {},
      function* (k, lock) {
        yield* spin_lock(k, lock);
        yield* spin_lock(k, lock);
      },
    ],
  ]);
  assert.equal(result.violations[0].kind, 'deadlock');
  assert.equal(result.violations[0].title, 'BUG: spinlock recursion on CPU#0, t0/0');
  assert.equal(result.violations[0].details[0], ' lock: kernel_pgtable_work.lock, .magic: dead4ead, .owner: t0/0, .owner_cpu: 0');
  // It then spins forever, which the execution sees as a hung task.
  assert.equal(result.status, 'deadlock');
  assert.equal(result.violations.length, 2);
});

test('spin_unlock of a spinlock another thread holds is "spinlock wrong owner"; of a free one, "already unlocked"', () => {
  const { result, lock } = run(new ScriptedScheduler(['t0', 't0', 't1', 't1']), [
    [
      {},
      function* (k, lock) {
        yield* spin_lock(k, lock);
        yield local;
      },
    ],
    [
      {},
      function* (k, lock) {
        yield* spin_unlock(k, lock);
      },
    ],
  ]);
  assert.equal(result.violations[0].title, 'BUG: spinlock wrong owner on CPU#1, t1/1');
  assert.equal(result.violations[0].kind, 'assertion');
  assert.equal(lock.owner?.name, 't0', 'the lock stays with its owner');
  const free = run(undefined, [[{}, (k, lock) => spin_unlock(k, lock)]]).result;
  assert.equal(free.violations[0].title, 'BUG: spinlock already unlocked on CPU#0, t0/0');
  assert.equal(free.violations.length, 1, 'no lockdep or preempt_count splat on top');
});

test('spin_lock_irqsave disables interrupts and spin_unlock_irqrestore restores the saved state', () => {
  const seen: boolean[] = [];
  const { result } = run(undefined, [
    [
      {},
      function* (k, lock) {
        const ctx = k.exec.current.ctx;
        const flags = yield* spin_lock_irqsave(k, lock);
        seen.push(irqs_disabled(ctx));
        yield* spin_unlock_irqrestore(k, lock, flags);
        seen.push(irqs_disabled(ctx));
        yield* spin_lock_irq(k, lock);
        seen.push(irqs_disabled(ctx));
        yield* spin_unlock_irq(k, lock);
        seen.push(irqs_disabled(ctx), ctx.preemptCount !== 0);
      },
    ],
  ]);
  assert.deepEqual(seen, [true, false, true, false, false]);
  assert.deepEqual(result.violations, []);
});

/** A task taking the lock (plainly or irqsave) and a hard IRQ on the same CPU taking it plainly. */
function taskAndIrq(scheduler: Scheduler, irqsave: boolean) {
  return run(scheduler, [
    [
      { name: 'cpu0:vfree', cpu: 0 },
      function* (k, lock) {
        if (irqsave) {
          const flags = yield* spin_lock_irqsave(k, lock);
          yield local;
          yield* spin_unlock_irqrestore(k, lock, flags);
        } else {
          yield* spin_lock(k, lock);
          yield local;
          yield* spin_unlock(k, lock);
        }
      },
    ],
    [
      { name: 'irq0', cpu: 0, kind: 'hardirq' },
      function* (k, lock) {
        yield* spin_lock(k, lock);
        yield* spin_unlock(k, lock);
      },
    ],
  ]).result;
}

test('a hard IRQ spinning on a plain spin_lock held by the task it interrupted deadlocks the CPU (pagetable_free_kernel is not for hard-IRQ context)', () => {
  // The task takes the lock; the interrupt lands inside the critical section and spins.
  // The task starts, passes the preemption point before spin_lock() (the interrupt could land there), takes the lock.
  const result = taskAndIrq(new ScriptedScheduler(['cpu0:vfree', 'cpu0:vfree', 'cpu0:vfree', 'irq0']), false);
  assert.equal(result.status, 'deadlock');
  const hung = result.violations.find((v) => v.title.startsWith('INFO: task'));
  assert.ok(hung !== undefined);
  assert.deepEqual(hung.details, [
    'cpu0:vfree (cpu 0) blocked in work: waiting for its CPU is held by an atomic section',
    'irq0 (cpu 0) blocked in spin_lock: waiting for spinlock kernel_pgtable_work.lock held by cpu0:vfree',
  ]);
  // Lockdep names the cause: a class used in hard-IRQ context and with interrupts enabled.
  assert.ok(result.violations.some((v) => v.title === 'WARNING: inconsistent lock state'));
});

test('with spin_lock_irqsave in the task the interrupt never lands inside the critical section', () => {
  for (let seed = 0; seed < 100; seed++) {
    const result = taskAndIrq(new RandomScheduler(seed), true);
    assert.equal(result.status, 'quiescent', `seed ${seed}`);
    assert.deepEqual(result.violations, [], `seed ${seed}`);
  }
  const plain = [...Array(100).keys()].map((seed) => taskAndIrq(new RandomScheduler(seed), false).status);
  assert.ok(plain.includes('deadlock') && plain.includes('quiescent'), 'with plain spin_lock some schedules hang');
});
