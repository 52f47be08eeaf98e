/**
 * struct mutex (kernel/locking/mutex.c, kernel/locking/mutex-debug.c, include/linux/cleanup.h
 * guard(mutex), Linux v6.19).
 *
 * mutex_lock() may sleep: it calls might_sleep() first, so taking a mutex in atomic context is a
 * `sleep-in-atomic` report even when the mutex is free. A contended mutex blocks the thread (its
 * acquire step has a blocker) without keeping its CPU: a sleeping task does not hold off other tasks.
 * If the caller was atomic anyway, it keeps its preempt count while it waits, so its CPU stays
 * unusable, and the sim may then find a deadlock (fine: the first report is the finding).
 *
 * Any waiter may get the mutex when it is released (the scheduler chooses): a superset of Linux's
 * hand-off and optimistic-spinning orders. A thread locking a mutex it holds is reported by lockdep
 * as recursive locking and then waits forever, as in Linux.
 */
import { step, type Blocker, type ObjectId, type Sim, type Step, type Thread } from '../../../sim/index.ts';
import type { SyncCore } from '../../model/kernel.ts';
import type { LockClass, LockdepMap } from './lockdep.ts';
import { might_sleep } from '../sched/core.ts';

export class mutex implements LockdepMap {
  /** The task that holds it; null when unlocked. */
  owner: Thread | null = null;
  readonly steps: { readonly mutex_lock: Step; readonly mutex_trylock: Step; readonly mutex_unlock: Step };

  constructor(
    readonly name: string,
    readonly obj: ObjectId,
    readonly lockClass: LockClass,
  ) {
    const held: Blocker = {
      blocks: () => this.owner !== null,
      describe: () => `mutex ${this.name} held by ${this.owner?.name ?? 'nobody'}`,
    };
    this.steps = {
      mutex_lock: step('mutex_lock', 'acquire', obj, held),
      mutex_trylock: step('mutex_trylock', 'acquire', obj),
      mutex_unlock: step('mutex_unlock', 'release', obj),
    };
  }
}

/** mutex_init() and DEFINE_MUTEX() in one; the lockdep class is `className` (default: the name). */
export function mutex_init(k: Pick<SyncCore, 'exec' | 'lockdep'>, name: string, className: string = name): mutex {
  return new mutex(name, k.exec.objects.register(name), k.lockdep.lockClass(className));
}

export function* mutex_lock(k: SyncCore, m: mutex): Sim {
  might_sleep(k, 'mutex_lock');
  k.lockdep.acquire(m);
  yield m.steps.mutex_lock;
  m.owner = k.exec.current;
  if (k.exec.tracing) k.exec.log('lock', `mutex_lock ${m.name}`);
}

/** True if it took the mutex. Never sleeps, so no might_sleep(); lockdep hears only of a success. */
export function* mutex_trylock(k: SyncCore, m: mutex): Sim<boolean> {
  yield m.steps.mutex_trylock;
  if (m.owner !== null) return false;
  m.owner = k.exec.current;
  k.lockdep.acquire(m, 'trylock');
  if (k.exec.tracing) k.exec.log('lock', `mutex_trylock ${m.name}`);
  return true;
}

export function* mutex_unlock(k: SyncCore, m: mutex): Sim {
  yield m.steps.mutex_unlock;
  const t = k.exec.current;
  if (m.owner !== t) {
    // debug_mutex_unlock(): only the owner may unlock. The mutex is left as it was.
    k.exec.report('assertion', `WARNING: CPU: ${t.ctx.cpu} PID: ${t.id} at kernel/locking/mutex.c __mutex_unlock_slowpath`, [
      'DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current)',
      `mutex ${m.name} owned by ${m.owner === null ? 'nobody (not locked)' : `${m.owner.name}/${m.owner.id}`}, unlocked by ${t.name}/${t.id}`,
      ...k.exec.callTrace(t),
    ]);
    return;
  }
  k.lockdep.release(m);
  m.owner = null;
  if (k.exec.tracing) k.exec.log('lock', `mutex_unlock ${m.name}`);
}

/**
 * Racy read of whether anyone holds `m`, as Linux's; meant for assertions about a mutex the caller
 * holds (lockdep_assert_held-style) and for tests.
 */
export function mutex_is_locked(m: mutex): boolean {
  return m.owner !== null;
}

/**
 * guard(mutex)(&m) for the rest of `body`: lock, run, unlock on the way out. There is no
 * try/finally: an exception in the model is a ModelInvariantError that ends the execution, and an
 * unlock step yielded from a finally block would only delay it.
 */
export function* withMutex<T>(k: SyncCore, m: mutex, body: () => Sim<T>): Sim<T> {
  yield* mutex_lock(k, m);
  const result = yield* body();
  yield* mutex_unlock(k, m);
  return result;
}
