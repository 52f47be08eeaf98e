/**
 * Preemption and local interrupt control (include/linux/preempt.h, include/linux/irqflags.h,
 * kernel/sched/core.c preempt_count_sub, Linux v6.19) on the running thread's KernelContext.
 *
 * These touch only the current thread's own context, so they are plain functions, not steps: the
 * sim's CPU-exclusion rule (src/sim/execution.ts) reads the context at the next scheduling point,
 * which is when a real CPU would first be able to act on it.
 *
 * Underflow (preempt_enable without a matching disable) is a bug of the modelled kernel, not of the
 * model: it is reported as the WARN that CONFIG_DEBUG_PREEMPT prints in preempt_count_sub()
 * (`DEBUG_LOCKS_WARN_ON(val > preempt_count())`), and, as there, the count is left unchanged.
 */
import type { ExecCore } from '../../model/kernel.ts';

/**
 * What local_irq_save() returns and local_irq_restore() takes: the interrupt-disable depth before
 * the save. Linux saves the IF bit; a depth restores the same on/off state and keeps nesting visible.
 */
export type IrqFlags = number;

export function preempt_disable(k: ExecCore): void {
  k.exec.current.ctx.preemptCount++;
}

export function preempt_enable(k: ExecCore): void {
  const t = k.exec.current;
  if (t.ctx.preemptCount === 0) {
    k.exec.report('assertion', `WARNING: CPU: ${t.ctx.cpu} PID: ${t.id} at kernel/sched/core.c preempt_count_sub`, [
      'DEBUG_LOCKS_WARN_ON(val > preempt_count())',
      `preempt_enable() in ${t.name} with preempt_count 0: unbalanced with preempt_disable()`,
      `context: ${t.ctx.kind}, irqs_disabled(): ${t.ctx.irqsDisabledDepth > 0 ? 1 : 0}`,
    ]);
    return;
  }
  t.ctx.preemptCount--;
}

/** Interrupts off; a no-op when they already are (Linux: cli). */
export function local_irq_disable(k: ExecCore): void {
  const ctx = k.exec.current.ctx;
  if (ctx.irqsDisabledDepth === 0) ctx.irqsDisabledDepth = 1;
}

/** Interrupts on, whatever the nesting (Linux: sti does not count). */
export function local_irq_enable(k: ExecCore): void {
  k.exec.current.ctx.irqsDisabledDepth = 0;
}

export function local_irq_save(k: ExecCore): IrqFlags {
  const ctx = k.exec.current.ctx;
  const flags = ctx.irqsDisabledDepth;
  ctx.irqsDisabledDepth = flags + 1;
  return flags;
}

/** Back to the state `flags` recorded: interrupts on again only if they were on at the save. */
export function local_irq_restore(k: ExecCore, flags: IrqFlags): void {
  k.exec.current.ctx.irqsDisabledDepth = flags;
}
