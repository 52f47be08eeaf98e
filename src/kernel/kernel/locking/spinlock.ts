/**
 * spinlock_t (include/linux/spinlock.h, include/linux/spinlock_api_smp.h, kernel/locking/spinlock_debug.c,
 * Linux v6.19).
 *
 * As in Linux, taking a spinlock first disables preemption (and, for the _irq/_irqsave variants,
 * interrupts), then tells lockdep, then spins. A thread spinning here keeps its preempt count, so the
 * sim's CPU-exclusion rule keeps every other task off its CPU while it waits, exactly like a CPU
 * busy-waiting with preemption off. An interrupt handler may still fire on that CPU unless
 * interrupts are off; if the handler then spins on a lock the interrupted task holds, nothing on the
 * CPU can run again: the self-deadlock of docs/kernel/pitfalls.md §3 (pagetable_free_kernel() takes its
 * lock with plain spin_lock(), so it must never be called from hard-IRQ context).
 *
 * Recursion and wrong-owner unlocks are the CONFIG_DEBUG_SPINLOCK checks (spin_bug()). Recursion is
 * checked before lockdep, so it is reported as "spinlock recursion" rather than lockdep's "recursive
 * locking"; the thread then spins forever, as the kernel would. After a wrong-owner report the lock
 * and the preempt count are left as they were (the kernel would unlock anyway; the run is already
 * a finding).
 */
import { step, type Blocker, type ObjectId, type Sim, type Step, type Thread } from '../../../sim/index.ts';
import type { SyncCore } from '../../model/kernel.ts';
import type { LockClass, LockdepMap } from './lockdep.ts';
import {
  local_irq_disable,
  local_irq_enable,
  local_irq_restore,
  local_irq_save,
  preempt_disable,
  preempt_enable,
  type IrqFlags,
} from '../../include/linux/preempt.ts';
import { preemption_point } from '../sched/core.ts';

export class spinlock_t implements LockdepMap {
  /** The thread that holds it; null when unlocked. */
  owner: Thread | null = null;
  /** Steps are immutable: built once per lock so that taking a lock allocates nothing. */
  readonly steps: {
    readonly spin_lock: Step;
    readonly spin_lock_irq: Step;
    readonly spin_lock_irqsave: Step;
    readonly spin_unlock: Step;
    readonly spin_unlock_irq: Step;
    readonly spin_unlock_irqrestore: Step;
  };

  constructor(
    readonly name: string,
    readonly obj: ObjectId,
    readonly lockClass: LockClass,
  ) {
    const held: Blocker = {
      blocks: () => this.owner !== null,
      describe: () => `spinlock ${this.name} held by ${this.owner?.name ?? 'nobody'}`,
    };
    this.steps = {
      spin_lock: step('spin_lock', 'acquire', obj, held),
      spin_lock_irq: step('spin_lock_irq', 'acquire', obj, held),
      spin_lock_irqsave: step('spin_lock_irqsave', 'acquire', obj, held),
      spin_unlock: step('spin_unlock', 'release', obj),
      spin_unlock_irq: step('spin_unlock_irq', 'release', obj),
      spin_unlock_irqrestore: step('spin_unlock_irqrestore', 'release', obj),
    };
  }
}

/**
 * spin_lock_init() and DEFINE_SPINLOCK() in one: a new unlocked lock. Its lockdep class is
 * `className` (default: its name); locks that share a class name are one class, as locks
 * initialised at one site are in Linux.
 */
export function spin_lock_init(k: Pick<SyncCore, 'exec' | 'lockdep'>, name: string, className: string = name): spinlock_t {
  return new spinlock_t(name, k.exec.objects.register(name), k.lockdep.lockClass(className));
}

export function* spin_lock(k: SyncCore, lock: spinlock_t): Sim {
  yield* preemption_point(k);
  preempt_disable(k);
  yield* do_raw_spin_lock(k, lock, lock.steps.spin_lock);
}

export function* spin_unlock(k: SyncCore, lock: spinlock_t): Sim {
  yield lock.steps.spin_unlock;
  if (do_raw_spin_unlock(k, lock)) preempt_enable(k);
}

/** Interrupts off (whatever they were), then the lock. */
export function* spin_lock_irq(k: SyncCore, lock: spinlock_t): Sim {
  yield* preemption_point(k);
  local_irq_disable(k);
  preempt_disable(k);
  yield* do_raw_spin_lock(k, lock, lock.steps.spin_lock_irq);
}

/** Unlock and turn interrupts on unconditionally. */
export function* spin_unlock_irq(k: SyncCore, lock: spinlock_t): Sim {
  yield lock.steps.spin_unlock_irq;
  if (!do_raw_spin_unlock(k, lock)) return;
  local_irq_enable(k);
  preempt_enable(k);
}

/** Saves the interrupt state, turns interrupts off, takes the lock; returns the saved state. */
export function* spin_lock_irqsave(k: SyncCore, lock: spinlock_t): Sim<IrqFlags> {
  yield* preemption_point(k);
  const flags = local_irq_save(k);
  preempt_disable(k);
  yield* do_raw_spin_lock(k, lock, lock.steps.spin_lock_irqsave);
  return flags;
}

export function* spin_unlock_irqrestore(k: SyncCore, lock: spinlock_t, flags: IrqFlags): Sim {
  yield lock.steps.spin_unlock_irqrestore;
  if (!do_raw_spin_unlock(k, lock)) return;
  local_irq_restore(k, flags);
  preempt_enable(k);
}

/** Lockdep, then spin until the lock is free (the blocker of the acquire step), then own it. */
function* do_raw_spin_lock(k: SyncCore, lock: spinlock_t, acquire: Step): Sim {
  const t = k.exec.current;
  if (lock.owner === t) {
    // debug_spin_lock_before(): the owner spinning on its own lock never gets out.
    spin_bug(k, lock, 'recursion');
  } else {
    k.lockdep.acquire(lock);
  }
  yield acquire;
  lock.owner = t;
  if (k.exec.tracing) k.exec.log('lock', `${acquire.label} ${lock.name}`);
}

/** Releases the lock if the current thread owns it; false (after the report) otherwise. */
function do_raw_spin_unlock(k: SyncCore, lock: spinlock_t): boolean {
  const t = k.exec.current;
  if (lock.owner !== t) {
    spin_bug(k, lock, lock.owner === null ? 'already unlocked' : 'wrong owner');
    return false;
  }
  k.lockdep.release(lock);
  lock.owner = null;
  if (k.exec.tracing) k.exec.log('lock', `spin_unlock ${lock.name}`);
  return true;
}

/** spin_bug()/spin_dump(): the CONFIG_DEBUG_SPINLOCK splat. */
function spin_bug(k: SyncCore, lock: spinlock_t, msg: 'recursion' | 'already unlocked' | 'wrong owner'): void {
  const t = k.exec.current;
  const owner = lock.owner;
  k.exec.report(msg === 'recursion' ? 'deadlock' : 'assertion', `BUG: spinlock ${msg} on CPU#${t.ctx.cpu}, ${t.name}/${t.id}`, [
    ` lock: ${lock.name}, .magic: dead4ead, .owner: ${owner === null ? '<none>/-1' : `${owner.name}/${owner.id}`}, .owner_cpu: ${owner === null ? -1 : owner.ctx.cpu}`,
    `CPU: ${t.ctx.cpu} PID: ${t.id} Comm: ${t.name} context: ${t.ctx.kind} preempt_count: ${t.ctx.preemptCount}`,
    ...k.exec.callTrace(t),
  ]);
}
