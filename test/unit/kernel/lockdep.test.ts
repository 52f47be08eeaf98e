import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler } from '../../../src/explore/index.ts';
import type { SyncCore } from '../../../src/kernel/model/kernel.ts';
import type { LockdepMap } from '../../../src/kernel/kernel/locking/lockdep.ts';
import { mutex_init, mutex_lock, mutex_trylock, mutex_unlock, type mutex } from '../../../src/kernel/kernel/locking/mutex.ts';
import { spin_lock, spin_lock_init, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore } from '../../../src/kernel/kernel/locking/spinlock.ts';
import type { Scheduler, Sim, SpawnOptions, Violation } from '../../../src/sim/index.ts';
import { newExecution, newSyncCore, runThreads, ScriptedScheduler } from '../../helpers/sim.ts';

/** Named mutexes A, B, C and threads that each take a list of them in order (nested), then release. */
function nested(orders: ReadonlyArray<readonly string[]>, scheduler: Scheduler = oneAfterAnother(), opts: Partial<SpawnOptions>[] = []) {
  const exec = newExecution(scheduler);
  const k = newSyncCore(exec);
  const locks = new Map<string, mutex>(['A', 'B', 'C'].map((n) => [n, mutex_init(k, n)]));
  const result = runThreads(
    exec,
    orders.map((order, i) => [
      opts[i] ?? {},
      function* (): Sim {
        for (const n of order) yield* mutex_lock(k, locks.get(n)!);
        for (const n of [...order].reverse()) yield* mutex_unlock(k, locks.get(n)!);
      },
    ]),
  );
  return { k, result };
}

/** Each thread runs to its end before the next starts (the lowest-id runnable thread always runs). */
const oneAfterAnother = () => new ScriptedScheduler([]);

const titles = (vs: readonly Violation[]) => vs.map((v) => v.title);

test('AB-BA lock order is reported by lockdep (possible circular locking dependency) without the deadlock happening', () => {
  const { result } = nested([['A', 'B'], ['B', 'A']]);
  assert.equal(result.status, 'quiescent');
  assert.equal(result.violations.length, 1);
  const v = result.violations[0];
  assert.equal(v.kind, 'deadlock');
  assert.equal(v.title, 'WARNING: possible circular locking dependency detected');
  assert.equal(v.thread, 't1');
  const d = v.details;
  assert.equal(d[0], 't1/1 is trying to acquire lock:');
  assert.match(d[1], /^ {2}\(A\), at: /);
  assert.deepEqual(d.slice(2, 6), ['but task is already holding lock:', '  (B)', 'which lock already depends on the new lock.', 'the existing dependency chain (in reverse order) is:']);
  assert.match(d[6], /^-> #1 \(B\): acquired while holding \(A\) by t0\/0 at step \d+: /);
  assert.equal(d[7], '-> #0 (A): being acquired while holding (B) by t1/1 at step ' + v.step);
  assert.deepEqual(d.slice(-11), [
    'other info that might help us debug this:',
    ' Possible unsafe locking scenario:',
    '       CPU0                    CPU1',
    '       ----                    ----',
    '  lock(B);',
    '                               lock(A);',
    '                               lock(B);',
    '  lock(A);',
    ' *** DEADLOCK ***',
    // As in Linux, the lock being acquired is not yet among the held ones.
    '1 lock held by t1/1:',
    ' #0: (B)',
  ]);
});

test('a three-lock cycle is reported with the whole chain (Chain exists of)', () => {
  const { result } = nested([['A', 'B'], ['B', 'C'], ['C', 'A']]);
  assert.deepEqual(titles(result.violations), ['WARNING: possible circular locking dependency detected']);
  const d = result.violations[0].details;
  assert.ok(d.includes('Chain exists of:'));
  assert.ok(d.includes('  A --> B --> C'));
  assert.match(d[6], /^-> #2 \(C\): acquired while holding \(B\) by t1\/1/);
  assert.match(d[7], /^-> #1 \(B\): acquired while holding \(A\) by t0\/0/);
});

test('each inversion is reported once', () => {
  const { result } = nested([['A', 'B'], ['B', 'A'], ['B', 'A']]);
  assert.equal(result.violations.length, 1);
});

test('a consistent lock order is silent under every schedule tried', () => {
  for (let seed = 0; seed < 50; seed++) {
    const { result } = nested([['A', 'B', 'C'], ['A', 'C'], ['B', 'C']], new RandomScheduler(seed), [{ cpu: 0 }, { cpu: 1 }, { cpu: 1 }]);
    assert.deepEqual(result.violations, [], `seed ${seed}`);
    assert.equal(result.status, 'quiescent');
  }
});

test('lockdep reports AB-BA under every schedule, including the ones that really deadlock', () => {
  let hung = 0;
  for (let seed = 0; seed < 50; seed++) {
    const { result } = nested([['A', 'B'], ['B', 'A']], new RandomScheduler(seed));
    assert.equal(result.violations[0].title, 'WARNING: possible circular locking dependency detected', `seed ${seed}`);
    if (result.status === 'deadlock') hung++;
  }
  assert.ok(hung > 0, 'some schedules should deadlock for real');
});

test('a trylock adds no dependency: it cannot wait, so it cannot close a cycle', () => {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const [a, b] = [mutex_init(k, 'A'), mutex_init(k, 'B')];
  const result = runThreads(exec, [
    function* () {
      yield* mutex_lock(k, a);
      yield* mutex_lock(k, b);
      yield* mutex_unlock(k, b);
      yield* mutex_unlock(k, a);
      yield* mutex_lock(k, b);
      assert.equal(yield* mutex_trylock(k, a), true);
      yield* mutex_unlock(k, a);
      yield* mutex_unlock(k, b);
    },
  ]);
  assert.deepEqual(result.violations, []);
});

test('held() lists the locks a thread holds in acquisition order; releasing out of order is fine', () => {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const [a, b] = [mutex_init(k, 'A'), spin_lock_init(k, 'B')];
  const seen: string[][] = [];
  const names = (k: SyncCore) => k.lockdep.held(k.exec.current).map((l) => l.name);
  const result = runThreads(exec, [
    function* () {
      yield* mutex_lock(k, a);
      yield* spin_lock(k, b);
      seen.push(names(k));
      yield* mutex_unlock(k, a);
      seen.push(names(k));
      yield* spin_unlock(k, b);
      seen.push(names(k));
    },
  ]);
  assert.deepEqual(seen, [['A', 'B'], ['B'], []]);
  assert.deepEqual(result.violations, []);
});

test('releasing a lock the thread does not hold is "bad unlock balance"', () => {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const map: LockdepMap = { name: '(work_completion)(w)', lockClass: k.lockdep.lockClass('(work_completion)(w)') };
  const result = runThreads(exec, [
    function* () {
      k.lockdep.release(map);
    },
  ]);
  assert.equal(result.violations[0].kind, 'assertion');
  assert.equal(result.violations[0].title, 'WARNING: bad unlock balance detected!');
  assert.deepEqual(result.violations[0].details.slice(0, 1), ['t0/0 is trying to release lock ((work_completion)(w)) at:']);
  assert.ok(result.violations[0].details.includes('but there are no more locks to release!'));
});

test('locks sharing a class name are one class: nesting two of them is recursive locking', () => {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const [mm1, mm2] = [spin_lock_init(k, 'mm1.page_table_lock', '&mm->page_table_lock'), spin_lock_init(k, 'mm2.page_table_lock', '&mm->page_table_lock')];
  const result = runThreads(exec, [
    function* () {
      yield* spin_lock(k, mm1);
      yield* spin_lock(k, mm2);
      yield* spin_unlock(k, mm2);
      yield* spin_unlock(k, mm1);
    },
  ]);
  assert.deepEqual(titles(result.violations), ['WARNING: possible recursive locking detected']);
  assert.deepEqual(result.violations[0].details.slice(0, 4), [
    't0/0 is trying to acquire lock:',
    result.violations[0].details[1],
    'but task is already holding lock:',
    '  (mm1.page_table_lock)',
  ]);
  assert.match(result.violations[0].details[1], /^ {2}\(mm2\.page_table_lock\), at: /);
});

/** A task on CPU 0 and a hard IRQ on CPU 1 (so they never meet) taking one spinlock class. */
function irqUsage(taskIrqsave: boolean, irqFirst: boolean) {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const lock = spin_lock_init(k, 'kernel_pgtable_work.lock');
  const task = function* (): Sim {
    if (taskIrqsave) {
      const flags = yield* spin_lock_irqsave(k, lock);
      yield* spin_unlock_irqrestore(k, lock, flags);
    } else {
      yield* spin_lock(k, lock);
      yield* spin_unlock(k, lock);
    }
  };
  const irq = function* (): Sim {
    yield* spin_lock(k, lock);
    yield* spin_unlock(k, lock);
  };
  const irqThread: [Partial<SpawnOptions>, () => Sim] = [{ name: 'irq1', cpu: 1, kind: 'hardirq' }, irq];
  const taskThread: [Partial<SpawnOptions>, () => Sim] = [{ name: 'cpu0:vfree', cpu: 0 }, task];
  return runThreads(exec, irqFirst ? [irqThread, taskThread] : [taskThread, irqThread]);
}

test('a spinlock class taken in hard-IRQ context and elsewhere with interrupts on is "inconsistent lock state"', () => {
  const result = irqUsage(false, false);
  assert.equal(result.status, 'quiescent', 'the two never met: lockdep needs no unlucky interleaving');
  assert.equal(result.violations.length, 1);
  const v = result.violations[0];
  assert.equal(v.kind, 'deadlock');
  assert.equal(v.title, 'WARNING: inconsistent lock state');
  assert.equal(v.details[0], 'inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-W} usage.');
  assert.equal(v.details[1], 'irq1/1 [HC1[1]:SC0[0]:HE0:SE1] takes:');
  assert.match(v.details[4], /^ {2}cpu0:vfree\/0 at step \d+: /);
  assert.deepEqual(v.details.slice(9, 13), ['  lock(kernel_pgtable_work.lock);', '  <Interrupt>', '    lock(kernel_pgtable_work.lock);', ' *** DEADLOCK ***']);
  const reverse = irqUsage(false, true).violations;
  assert.equal(reverse[0].details[0], 'inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.');
});

test('spin_lock_irqsave in the task makes the class irq-safe: no inconsistent lock state', () => {
  assert.deepEqual(irqUsage(true, false).violations, []);
  assert.deepEqual(irqUsage(true, true).violations, []);
});
