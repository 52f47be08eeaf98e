/**
 * Scheduling points (kernel/sched/core.c, include/linux/kernel.h, kernel/Kconfig.preempt; Linux v6.19).
 *
 * might_sleep() (__might_sleep): a function that may sleep, called in atomic context, prints "BUG:
 * sleeping function called from invalid context"; here a `sleep-in-atomic` violation with the same
 * evidence. Under PREEMPT_VOLUNTARY it is also a scheduling point (might_resched()), as
 * cond_resched() is under PREEMPT_NONE and PREEMPT_VOLUNTARY: the model marks the step that follows
 * (Thread.resched), and the sim lets another task of the CPU run there (src/sim/execution.ts).
 *
 * Under PREEMPT (full) a task may lose its CPU at any instruction where preemption is enabled. The
 * model's steps are atomic, so the preemptible stretch just before an atomic section begins
 * (preempt_disable(), local_irq_save()) would be folded into the step before it — and the window
 * "after queue_work(), before the next spin_lock()" would never be seen. preemption_point() makes
 * that instant a step of its own, where another thread of the CPU could take over.
 */
import { in_atomic, irqs_disabled, NO_OBJECT, step, type Sim, type Step } from '../../../sim/index.ts';
import type { ExecCore } from '../../model/kernel.ts';

export function might_sleep(k: ExecCore, where: string): void {
  const t = k.exec.current;
  if (!in_atomic(t.ctx)) {
    t.resched ??= 'might_resched';
    return;
  }
  k.exec.report('sleep-in-atomic', `BUG: sleeping function called from invalid context at ${where}`, [
    `in_atomic(): ${t.ctx.preemptCount > 0 || t.ctx.kind !== 'task' ? 1 : 0}, irqs_disabled(): ${irqs_disabled(t.ctx) ? 1 : 0}, pid: ${t.id}, name: ${t.name}`,
    `preempt_count: ${t.ctx.preemptCount}, context: ${t.ctx.kind}`,
    ...k.exec.callTrace(t),
  ]);
}

const COND_RESCHED: Step = step('cond_resched', 'local', NO_OBJECT);

/** cond_resched(): a scheduling point under every preemption model (a no-op in atomic context). */
export function* cond_resched(k: ExecCore): Sim {
  const t = k.exec.current;
  if (in_atomic(t.ctx)) return;
  t.resched = 'cond_resched';
  yield COND_RESCHED;
}

const PREEMPTION_POINT: Step = step('preemption point', 'local', NO_OBJECT);

/**
 * Called just before code enters an atomic section: a step here when another thread of the CPU
 * could take it now (Execution.preemptibleHere()), none otherwise (a step nobody can use would only
 * lengthen every execution).
 */
export function* preemption_point(k: ExecCore): Sim {
  if (k.exec.preemptibleHere()) yield PREEMPTION_POINT;
}
