/**
 * might_sleep() (kernel/sched/core.c __might_sleep): a function that may sleep, called in atomic
 * context, prints "BUG: sleeping function called from invalid context". Here that is a
 * `sleep-in-atomic` violation with the same evidence the kernel prints.
 */
import { in_atomic, irqs_disabled } from '../../../sim/index.ts';
import type { ExecCore } from '../../model/kernel.ts';

export function might_sleep(k: ExecCore, where: string): void {
  const t = k.exec.current;
  if (!in_atomic(t.ctx)) return;
  k.exec.report('sleep-in-atomic', `BUG: sleeping function called from invalid context at ${where}`, [
    `in_atomic(): ${t.ctx.preemptCount > 0 || t.ctx.kind !== 'task' ? 1 : 0}, irqs_disabled(): ${irqs_disabled(t.ctx) ? 1 : 0}, pid: ${t.id}, name: ${t.name}`,
    `preempt_count: ${t.ctx.preemptCount}, context: ${t.ctx.kind}`,
    ...k.exec.callTrace(t),
  ]);
}
