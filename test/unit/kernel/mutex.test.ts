import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler } from '../../../src/explore/index.ts';
import type { SyncCore } from '../../../src/kernel/model/kernel.ts';
import { mutex_init, mutex_is_locked, mutex_lock, mutex_trylock, mutex_unlock, withMutex, type mutex } from '../../../src/kernel/kernel/locking/mutex.ts';
import { preempt_disable, preempt_enable } from '../../../src/kernel/include/linux/preempt.ts';
import { spin_lock, spin_lock_init, spin_unlock } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { NO_OBJECT, step, type Scheduler, type Sim, type SpawnOptions } from '../../../src/sim/index.ts';
import { newExecution, newSyncCore, runThreads, ScriptedScheduler } from '../../helpers/sim.ts';

const local = step('work', 'local', NO_OBJECT);

type Body = (k: SyncCore, m: mutex) => Sim;

function run(scheduler: Scheduler | undefined, threads: ReadonlyArray<[Partial<SpawnOptions>, Body]>) {
  const exec = newExecution(scheduler);
  const k = newSyncCore(exec);
  const m = mutex_init(k, 'iommu_sva_lock');
  return { k, m, result: runThreads(exec, threads.map(([o, b]) => [o, () => b(k, m)] as const)) };
}

test('mutex_lock in atomic context is sleep-in-atomic (might_sleep), even when the mutex is free', () => {
  const { result } = run(undefined, [
    [
      { name: 'cpu0:vmalloc' },
      function* (k, m) {
        preempt_disable(k);
        yield* mutex_lock(k, m);
        yield* mutex_unlock(k, m);
        preempt_enable(k);
      },
    ],
  ]);
  assert.equal(result.violations.length, 1);
  assert.equal(result.violations[0].kind, 'sleep-in-atomic');
  assert.equal(result.violations[0].title, 'BUG: sleeping function called from invalid context at mutex_lock');
  assert.equal(result.status, 'quiescent');
});

test('mutex_lock under a spinlock is sleep-in-atomic (the v1 flush_tlb_kernel_range bug shape)', () => {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const m = mutex_init(k, 'iommu_sva_lock');
  const lock = spin_lock_init(k, 'vmap_area_lock');
  const result = runThreads(exec, [
    function* () {
      yield* spin_lock(k, lock);
      yield* mutex_lock(k, m);
      yield* mutex_unlock(k, m);
      yield* spin_unlock(k, lock);
    },
  ]);
  assert.deepEqual(
    result.violations.map((v) => v.kind),
    ['sleep-in-atomic'],
  );
  assert.equal(result.violations[0].details[1], 'preempt_count: 1, context: task');
});

test('mutex_lock excludes: two tasks never hold the mutex at once, and a waiter sleeps without holding its CPU', () => {
  let overlapped = false;
  let bystanderRanWhileWaiting = false;
  for (let seed = 0; seed < 100; seed++) {
    let inside = 0;
    let waiting = false;
    const body: Body = function* (k, m) {
      waiting = true;
      yield* mutex_lock(k, m);
      waiting = false;
      inside++;
      overlapped ||= inside > 1;
      yield local;
      yield local;
      inside--;
      yield* mutex_unlock(k, m);
    };
    const { result } = run(new RandomScheduler(seed), [
      [{ cpu: 0 }, body],
      [{ cpu: 1 }, body],
      [
        { name: 'bystander', cpu: 1 },
        function* () {
          for (let i = 0; i < 4; i++) {
            bystanderRanWhileWaiting ||= waiting && inside === 1;
            yield local;
          }
        },
      ],
    ]);
    assert.equal(result.status, 'quiescent');
    assert.deepEqual(result.violations, []);
  }
  assert.equal(overlapped, false);
  assert.ok(bystanderRanWhileWaiting, 'a task on the sleeper\'s CPU runs while it waits');
});

test('mutex_trylock takes a free mutex and fails at once on a held one, without sleeping', () => {
  const got: boolean[] = [];
  const { result, m } = run(new ScriptedScheduler(['t0', 't0', 't1', 't1']), [
    [
      {},
      function* (k, m) {
        yield* mutex_lock(k, m);
        yield local;
        yield* mutex_unlock(k, m);
      },
    ],
    [
      {},
      function* (k, m) {
        got.push(yield* mutex_trylock(k, m));
        yield local;
        const taken = yield* mutex_trylock(k, m);
        got.push(taken, mutex_is_locked(m));
        if (taken) yield* mutex_unlock(k, m);
      },
    ],
  ]);
  assert.deepEqual(got, [false, true, true]);
  assert.equal(mutex_is_locked(m), false);
  assert.deepEqual(result.violations, []);
});

test('mutex_unlock by a task that does not own the mutex is a DEBUG_MUTEXES warning', () => {
  const { result, m } = run(new ScriptedScheduler(['t0', 't0', 't1', 't1']), [
    [
      {},
      function* (k, m) {
        yield* mutex_lock(k, m);
        yield local;
        yield* mutex_unlock(k, m);
      },
    ],
    [{}, (k, m) => mutex_unlock(k, m)],
  ]);
  assert.equal(result.violations.length, 1);
  assert.equal(result.violations[0].kind, 'assertion');
  assert.equal(result.violations[0].details[0], 'DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)');
  assert.equal(result.violations[0].details[1], 'mutex iommu_sva_lock owned by t0/0, unlocked by t1/1');
  assert.equal(mutex_is_locked(m), false, 'the owner still unlocks it afterwards');
});

test('mutex_lock of a mutex the task holds is recursive locking (lockdep) and the task hangs', () => {
  const { result } = run(undefined, [
    [
      {},
      function* (k, m) {
        yield* mutex_lock(k, m);
        yield* mutex_lock(k, m);
      },
    ],
  ]);
  assert.equal(result.violations[0].kind, 'deadlock');
  assert.equal(result.violations[0].title, 'WARNING: possible recursive locking detected');
  assert.equal(result.status, 'deadlock');
});

test('withMutex (guard(mutex)) holds the mutex exactly while the body runs and returns its value', () => {
  const seen: boolean[] = [];
  let value = 0;
  const { result, m } = run(undefined, [
    [
      {},
      function* (k, m) {
        value = yield* withMutex(k, m, function* () {
          seen.push(mutex_is_locked(m));
          yield local;
          return 42;
        });
        seen.push(mutex_is_locked(m));
      },
    ],
  ]);
  assert.deepEqual(seen, [true, false]);
  assert.equal(value, 42);
  assert.equal(m.owner, null);
  assert.deepEqual(result.violations, []);
});
