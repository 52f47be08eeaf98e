/**
 * A simulated thread: a generator function run step by step, with its kernel context and name
 * (`cpu0:vmalloc`, `kworker/u:1`, `dev0:dma`).
 */
import type { KernelContext } from './context.ts';
import type { Sim, Step } from './step.ts';

export type ThreadBody = (thread: Thread) => Sim;

/** Before its first step a thread has run none of its code: starting is a step like any other. */
export const THREAD_START: Step = { label: 'thread_start', access: 'local', obj: -1 };

export class Thread {
  /** The step the thread takes when next resumed; null once it has returned. */
  pending: Step | null = THREAD_START;
  /** Steps this thread has taken. */
  steps = 0;
  /**
   * The hooked kernel functions (src/kernel/model/hooks.ts) and work functions this thread is inside now,
   * outermost first: where a page-table page is freed, as a path (`pmd_free_pte_page > pte_free_kernel`).
   */
  readonly frames: string[] = [];
  /**
   * Whether the step this thread is about to take is a voluntary scheduling point: set while the
   * code before it runs (cond_resched(), or might_sleep()'s might_resched()), cleared when it next
   * runs. Under PREEMPT_NONE and PREEMPT_VOLUNTARY another task of its CPU runs only there
   * (Execution's runnable rule).
   */
  resched: 'cond_resched' | 'might_resched' | null = null;
  /** The last RECENT_STEPS step labels, a ring: `recentAt` is where the next one goes. */
  private readonly ring: string[] = [];
  private recentAt = 0;
  private generator: Sim | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly ctx: KernelContext,
    /** A daemon (kworker, device) may stay blocked at the end without that being a deadlock. */
    readonly daemon: boolean,
    private readonly body: ThreadBody,
  ) {}

  get done(): boolean {
    return this.pending === null;
  }

  get started(): boolean {
    return this.generator !== null;
  }

  /** Recent step labels, oldest first (a fresh array): what it did last, not where it is (captureStack). */
  get recent(): string[] {
    const ring = this.ring;
    return ring.length < RECENT_STEPS ? ring.slice() : [...ring.slice(this.recentAt), ...ring.slice(0, this.recentAt)];
  }

  /** Ends the thread where it stands (after an oops): it never runs again. */
  kill(): void {
    this.pending = null;
  }

  /** Runs the pending step: resumes the generator up to its next yield. */
  resume(): void {
    const pending = this.pending;
    if (pending === null) return;
    // A ring rather than push + shift: this runs at every step.
    if (this.ring.length < RECENT_STEPS) this.ring.push(pending.label);
    else {
      this.ring[this.recentAt] = pending.label;
      this.recentAt = (this.recentAt + 1) % RECENT_STEPS;
    }
    this.steps++;
    this.resched = null;
    if (this.generator === null) this.generator = this.body(this);
    const next = this.generator.next();
    this.pending = next.done ? null : next.value;
  }
}

const RECENT_STEPS = 12;

/**
 * The thread's recent steps, oldest first, repeats shown once with a count: "Last steps:" of a report
 * made without stacks (Execution.recordStacks) or about a thread not running. A history, not a call
 * stack.
 */
export function lastSteps(thread: Thread): string {
  const out: string[] = [];
  let last = '';
  let count = 0;
  for (const label of thread.recent) {
    if (label === last) {
      count++;
      continue;
    }
    if (count > 0) out.push(count > 1 ? `${last} x${count}` : last);
    last = label;
    count = 1;
  }
  if (count > 0) out.push(count > 1 ? `${last} x${count}` : last);
  return out.join(', ');
}
