/**
 * The kernel context a simulated thread runs in: which CPU, its preempt count, whether interrupts
 * are off, whether it is an interrupt handler. Mirrors what `in_atomic()`, `irqs_disabled()` and
 * `in_interrupt()` look at (include/linux/preempt.h), which is what `might_sleep()` checks.
 */

/**
 * The kernel's preemption model (kernel/Kconfig.preempt): PREEMPT_NONE switches tasks only where
 * one sleeps or calls cond_resched(); PREEMPT_VOLUNTARY also at might_sleep() (might_resched());
 * PREEMPT (full) wherever preemption is enabled. Each allows every interleaving of the one before.
 * Interrupt handlers interrupt whatever runs with interrupts on, in every model.
 */
export const PREEMPT_MODES = ['none', 'voluntary', 'full'] as const;

export type PreemptMode = (typeof PREEMPT_MODES)[number];

/** Where a thread runs: a task, a softirq or a hard interrupt handler, or a device (no CPU). */
export type ContextKind = 'task' | 'softirq' | 'hardirq' | 'device';

export interface KernelContext {
  /** The CPU it runs on; -1 for a device, which is not a CPU. */
  readonly cpu: number;
  readonly kind: ContextKind;
  /** Incremented by preempt_disable()/spin_lock(); non-zero means atomic. */
  preemptCount: number;
  /** local_irq_disable()/spin_lock_irqsave() nesting depth. */
  irqsDisabledDepth: number;
}

export function newContext(cpu: number, kind: ContextKind): KernelContext {
  return { cpu, kind, preemptCount: 0, irqsDisabledDepth: 0 };
}

export function irqs_disabled(ctx: KernelContext): boolean {
  return ctx.irqsDisabledDepth > 0;
}

export function in_interrupt(ctx: KernelContext): boolean {
  return ctx.kind === 'hardirq' || ctx.kind === 'softirq';
}

/** What `might_sleep()` refuses: any atomic section, interrupts off, or interrupt context. */
export function in_atomic(ctx: KernelContext): boolean {
  return ctx.preemptCount > 0 || ctx.irqsDisabledDepth > 0 || in_interrupt(ctx);
}
