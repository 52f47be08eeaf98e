/**
 * One execution: a set of simulated threads driven to quiescence by a Scheduler.
 *
 * At each scheduling point the execution computes the runnable threads, asks the scheduler which
 * runs, records the choice with what was offered, and resumes that thread for one step. Rules of
 * runnability (mirroring a preemptible kernel):
 *  - a thread whose pending step has a Blocker that blocks it is not runnable;
 *  - on a CPU where an interrupt handler has started, only that handler runs until it returns;
 *  - on a CPU where a started task is atomic (preempt count or irqs off), no other task runs there,
 *    and an interrupt handler may fire only while that task has interrupts enabled.
 * When nothing is runnable and a non-daemon thread has work left, that is a deadlock.
 */
import type { Choice, ChoiceKind, ChoicePoint, Scheduler } from './choice.ts';
import { in_interrupt, newContext, type ContextKind, type PreemptMode } from './context.ts';
import { NO_OBJECT, ObjectNames, type Step } from './step.ts';
import { HappensBefore } from './happens-before.ts';
import { StackDepot, captureStack, kernelFrames, parseStack, type Track } from './stack.ts';
import { Thread, lastSteps, type ThreadBody } from './thread.ts';
import type { TraceCategory, TraceEvent } from './trace.ts';
import { FATAL_KINDS, KernelOops, ModelInvariantError, type ReportWhere, type Violation, type ViolationKind } from './violation.ts';

export interface ExecutionOptions {
  /** Stop with status 'step-limit' after this many steps (a bound, reported as such). */
  readonly maxSteps?: number;
  /**
   * Stop at the first fatal violation (FATAL_KINDS, or reported fatal) when checking; every other
   * violation is recorded and the execution goes on. Without it, run on whatever happens (demos,
   * measurements).
   */
  readonly stopOnViolation?: boolean;
  /** Record the human-readable event trace. */
  readonly trace?: boolean;
}

export type ExecutionStatus = 'quiescent' | 'deadlock' | 'step-limit' | 'abandoned' | 'violation';

export interface ExecutionResult {
  readonly status: ExecutionStatus;
  readonly steps: number;
  readonly choices: readonly Choice[];
  readonly violations: readonly Violation[];
}

export interface SpawnOptions {
  readonly name: string;
  readonly cpu: number;
  readonly kind?: ContextKind;
  readonly daemon?: boolean;
}

const DEFAULT_MAX_STEPS = 1_000_000;

/**
 * How long an execution cut by the step bound must have made no progress to be a livelock: a
 * quarter of the bound, and at least a thousand steps (every modelled kernel path writes shared
 * state far more often; a hook that yields forever never does).
 */
export function livelockWindow(maxSteps: number): number {
  return Math.max(1000, Math.floor(maxSteps / 4));
}

export class Execution {
  readonly threads: Thread[] = [];
  readonly choices: Choice[] = [];
  readonly violations: Violation[] = [];
  readonly events: TraceEvent[] | null;
  readonly objects = new ObjectNames();
  /**
   * Told each step just before it runs, with the thread that takes it (which the step's `obj` and
   * `access` say it touches): for observers that follow synchronisation, such as the hazard
   * oracle's ordering of invalidation completions before frees. Must not change the model.
   */
  readonly stepListeners: ((thread: Thread, step: Step) => void)[] = [];
  /** Happens-before between the threads, once a data-race detector asked for it (trackHappensBefore). */
  private hb: HappensBefore | null = null;
  /** The allocation and free tracks, while the execution records stacks (recordStacks); null otherwise. */
  stacks: StackDepot | null = null;
  stepCount = 0;
  private running: Thread | null = null;
  private preemption: PreemptMode = 'full';
  /** The task that last ran on each CPU: under PREEMPT_NONE/VOLUNTARY it keeps the CPU until it gives it up. */
  private readonly onCpu: (Thread | undefined)[] = [];
  private abandoned = false;
  /** Checks that only make sense once everything has settled (leaks, accounting), run at quiescence. */
  private readonly quiescenceChecks: (() => void)[] = [];
  private atQuiescence = false;
  /** A fatal violation was reported (see stopOnViolation). */
  private fatal = false;
  /** A violation this accepts ends the execution like a fatal one (stopWhen). */
  private until: ((v: Violation) => boolean) | null = null;
  /** The last step that changed something another thread can see, or ended a thread (livelockWindow). */
  private lastProgress = 0;
  private schedulerFailed = false;
  private readonly maxSteps: number;
  private readonly stopOnViolation: boolean;
  /** The runnable set of the last thread choice, its option names and ids, its Choice per answer (pickThread). */
  private lastRunnable: readonly Thread[] = [];
  private lastOptions: readonly string[] = [];
  private lastIds: readonly number[] = [];
  private lastRecords: Choice[] = [];

  constructor(
    private readonly scheduler: Scheduler,
    options: ExecutionOptions = {},
  ) {
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.stopOnViolation = options.stopOnViolation ?? false;
    this.events = options.trace ? [] : null;
  }

  get tracing(): boolean {
    return this.events !== null;
  }

  /**
   * From now on, reports carry the running thread's kernel call stack and the model keeps
   * allocation and free tracks (src/sim/stack.ts). Costly: for the one execution whose reports are
   * printed, called after the world is built and before it runs (boot allocates before any task).
   */
  recordStacks(): void {
    this.stacks ??= new StackDepot();
  }

  /**
   * A report's trace of `thread`: "Call Trace:" and its kernel stack, one function a line, innermost
   * first, when stacks are recorded and it is the thread running; else its last steps. `helper`: the
   * report helper asking for its caller, left out of the stack.
   */
  callTrace(thread: Thread, helper?: (...args: never[]) => unknown): string[] {
    if (this.stacks === null || thread !== this.running) return [`Last steps: ${lastSteps(thread)}`];
    return ['Call Trace:', ...captureStack(thread, helper ?? this.callTrace).map((f) => ` ${f}`)];
  }

  /** callTrace() on one line, for a report that names where something happened inside another line. */
  callChain(thread: Thread): string {
    if (this.stacks === null || thread !== this.running) return `last steps ${lastSteps(thread)}`;
    return captureStack(thread).join(' < ');
  }

  /** What the running thread is doing now, for the stack depot; null when stacks are not recorded or no thread runs. */
  track(): Track | null {
    const t = this.running;
    if (this.stacks === null || t === null) return null;
    return { pid: t.id, comm: t.name, cpu: t.ctx.cpu, step: this.stepCount, stack: captureStack(t) };
  }

  /** The thread whose step is running now, or null (at boot, at quiescence). */
  get currentOrNull(): Thread | null {
    return this.running;
  }

  /** The thread whose step is running now. Model code asks this for its kernel context. */
  get current(): Thread {
    if (this.running === null) throw new ModelInvariantError('no simulated thread is running');
    return this.running;
  }

  /** The kernel's preemption model, set at boot before any thread runs. */
  setPreemption(mode: PreemptMode): void {
    this.preemption = mode;
  }

  /**
   * Whether some other thread could take the running task's CPU right now: an interrupt handler of
   * its CPU while interrupts are on (every model), or another task of its CPU under PREEMPT (full)
   * while preemption is enabled. Where that is so, the kernel model makes the instant a step
   * (preemption_point()) before it enters an atomic section, which would otherwise fold it into the
   * step before.
   */
  preemptibleHere(): boolean {
    const t = this.current;
    const c = t.ctx;
    if (c.kind !== 'task' || c.cpu < 0 || c.irqsDisabledDepth > 0) return false;
    const tasksToo = this.preemption === 'full' && c.preemptCount === 0;
    for (const o of this.threads) {
      if (o === t || o.done || o.ctx.cpu !== c.cpu) continue;
      if (tasksToo || in_interrupt(o.ctx)) return true;
    }
    return false;
  }

  /** From now on, keep happens-before between the threads (happens-before.ts); set up at boot, before any thread runs. */
  trackHappensBefore(): HappensBefore {
    this.hb ??= new HappensBefore(this.objects);
    return this.hb;
  }

  spawn(options: SpawnOptions, body: ThreadBody): Thread {
    const kind = options.kind ?? (options.cpu < 0 ? 'device' : 'task');
    const thread = new Thread(this.threads.length, options.name, newContext(options.cpu, kind), options.daemon ?? false, body);
    this.threads.push(thread);
    this.hb?.spawned(thread, this.running);
    return thread;
  }

  /**
   * A nondeterministic data choice (GFP_ATOMIC failure, IOMMU speculation), recorded like a thread
   * pick. `fault`: option 0 is "no fault" and every other option injects one (an allocation
   * failure), which strategies count against --faults; hardware nondeterminism is not a fault.
   */
  choose(reason: string, options: readonly string[], how?: { readonly fault?: boolean }): number {
    return this.decide('data', reason, options, how?.fault === true);
  }

  /**
   * Ends the execution at the choice being made, once it is recorded: the chosen thread does not
   * run. For a scheduler that must stop a step it knows will never return (src/job/guard.ts).
   */
  abandon(): void {
    this.abandoned = true;
  }

  /** Registers a check to run when the execution reaches quiescence (before run() returns). */
  onQuiescence(check: () => void): void {
    this.quiescenceChecks.push(check);
  }

  /**
   * With stopOnViolation, ends the execution after the step that reports a violation `until`
   * accepts, as a fatal one does: a shrinking candidate is judged by its finding, and what runs
   * after it (most of a long workload) cannot change that.
   */
  stopWhen(until: (v: Violation) => boolean): void {
    this.until = until;
  }

  /**
   * Reports a violation of the modelled kernel. With stopOnViolation the execution ends after this
   * step when the violation is fatal (FATAL_KINDS, or `where.fatal`), and goes on otherwise.
   */
  report(kind: ViolationKind, title: string, details: readonly string[], where: ReportWhere = {}): void {
    const thread = this.running;
    const by = thread?.name ?? (this.atQuiescence ? 'quiescence' : 'boot');
    const violation: Violation = {
      kind,
      title,
      details,
      thread: by,
      step: this.stepCount,
      ...(where.site === undefined ? {} : { site: where.site }),
      ...(where.pfn === undefined ? {} : { pfn: where.pfn }),
    };
    if (where.fatal === true || FATAL_KINDS.has(kind) || this.until?.(violation) === true) this.fatal = true;
    this.violations.push(violation);
    if (this.events !== null) this.log('violation', `${kind}: ${title}`);
  }

  /** Adds to the event trace; callers guard with `tracing` when the text is costly to build. */
  log(cat: TraceCategory, text: string): void {
    if (this.events === null) return;
    this.events.push({ step: this.stepCount, thread: this.running?.name ?? (this.atQuiescence ? 'quiescence' : 'boot'), cat, text });
  }

  run(): ExecutionResult {
    if (this.stacks === null) return this.loop();
    // An oops's report takes its stack from the exception, captured at the throw.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = Infinity;
    try {
      return this.loop();
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  private loop(): ExecutionResult {
    for (;;) {
      if (this.abandoned) return this.finish('abandoned');
      if (this.stopOnViolation && this.fatal) return this.finish('violation');
      if (this.stepCount >= this.maxSteps) {
        if (this.stepCount - this.lastProgress >= livelockWindow(this.maxSteps)) this.reportLivelock();
        return this.finish('step-limit');
      }
      const runnable = this.runnableThreads();
      if (runnable.length === 0) {
        const stuck = this.threads.filter((t) => !t.done && !t.daemon);
        if (stuck.length === 0) {
          this.atQuiescence = true;
          for (const check of this.quiescenceChecks) check();
          return this.finish(this.stopOnViolation && this.violations.length > 0 ? 'violation' : 'quiescent');
        }
        this.reportDeadlock(stuck);
        return this.finish('deadlock');
      }
      const chosen = this.pickThread(runnable);
      if (chosen === null) return this.finish('abandoned');
      this.running = chosen;
      if (chosen.ctx.kind === 'task' && chosen.ctx.cpu >= 0) this.onCpu[chosen.ctx.cpu] = chosen;
      this.stepCount++;
      const next = chosen.pending;
      if (next !== null && next.obj !== NO_OBJECT && next.access !== 'read' && next.access !== 'local') this.lastProgress = this.stepCount;
      if (next !== null) {
        this.hb?.before(chosen, next);
        const listeners = this.stepListeners;
        for (let i = 0; i < listeners.length; i++) listeners[i](chosen, next);
      }
      try {
        chosen.resume();
      } catch (err) {
        if (err instanceof ModelInvariantError || this.schedulerFailed) throw err;
        this.oops(chosen, err);
      } finally {
        this.running = null;
      }
      if (next !== null) this.hb?.after(chosen, next);
      if (chosen.done) this.lastProgress = this.stepCount;
    }
  }

  private finish(status: ExecutionStatus): ExecutionResult {
    return { status, steps: this.stepCount, choices: this.choices, violations: this.violations };
  }

  /**
   * Forced choices (one option) are still offered to the scheduler: strategies such as PCT count
   * steps, and a replay checks that the model offers the same single thread.
   */
  private pickThread(runnable: readonly Thread[]): Thread | null {
    // The runnable set rarely changes from one step to the next: keep it, its names, its ids and
    // its Choice records (all read-only, so choices may share them) until it does, instead of
    // building them at every step.
    const last = this.lastRunnable;
    let same = last.length === runnable.length;
    for (let i = 0; same && i < runnable.length; i++) same = last[i] === runnable[i];
    if (!same) {
      this.lastRunnable = runnable;
      this.lastOptions = runnable.map((t) => t.name);
      this.lastIds = runnable.map((t) => t.id);
      this.lastRecords = [];
    }
    const stable = this.lastRunnable;
    const point = new ThreadChoicePoint(this.lastOptions, this.lastIds, this.choices.length, stable);
    const index = this.ask(point, this.lastRecords);
    return this.abandoned ? null : stable[index];
  }

  private decide(kind: ChoiceKind, reason: string, options: readonly string[], fault: boolean): number {
    // The recorded Choice has no fault flag: tokens replay as before, and a replay checks kind, reason and options.
    return this.ask(fault ? { kind, reason, options, index: this.choices.length, fault } : { kind, reason, options, index: this.choices.length }, null);
  }

  /** Asks the scheduler and records the answer; `records` caches the Choice per answer for these options. */
  private ask(point: ChoicePoint, records: Choice[] | null): number {
    const { kind, reason, options } = point;
    if (options.length === 0) throw new ModelInvariantError(`choice '${reason}' offered no options`);
    let answer: number | 'abandon';
    try {
      answer = this.scheduler.choose(point);
    } catch (err) {
      // A scheduler's failure (a replay that diverged) is never the modelled kernel's oops.
      this.schedulerFailed = true;
      throw err;
    }
    if (answer === 'abandon') {
      this.abandoned = true;
      return 0;
    }
    if (!Number.isInteger(answer) || answer < 0 || answer >= options.length) {
      throw new ModelInvariantError(`scheduler answered ${answer} to '${reason}' with ${options.length} options`);
    }
    let record = records?.[answer];
    if (record === undefined) {
      record = { kind, reason, options, chosen: answer };
      if (records !== null) records[answer] = record;
    }
    this.choices.push(record);
    return answer;
  }

  private runnableThreads(): Thread[] {
    const threads = this.threads;
    // CPUs that some started thread may be holding (an interrupt handler, an atomic task): only
    // there does cpuAdmits need to look at the other threads. CPUs past 30 are always looked at.
    let held = 0;
    for (const o of threads) {
      const c = o.ctx;
      if (c.cpu < 0 || o.done || !o.started) continue;
      if (c.kind === 'hardirq' || c.kind === 'softirq' || c.preemptCount > 0 || c.irqsDisabledDepth > 0) held |= c.cpu < 31 ? 1 << c.cpu : 0;
    }
    const runnable: Thread[] = [];
    for (const t of threads) {
      if (t.done) continue;
      const blocker = t.pending?.blocker;
      if (blocker !== undefined && blocker.blocks(t)) continue;
      const cpu = t.ctx.cpu;
      if (cpu >= 0 && (cpu >= 31 || (held & (1 << cpu)) !== 0) && !this.cpuAdmits(t)) continue;
      if (this.preemption !== 'full' && cpu >= 0 && t.ctx.kind === 'task' && this.cpuKeptFrom(t)) continue;
      runnable.push(t);
    }
    return runnable;
  }

  /**
   * Under PREEMPT_NONE/VOLUNTARY: whether the task that last ran on `t`'s CPU still keeps it — it
   * has not ended, is not asleep (its step blocked) and is not at a scheduling point this model
   * honours (cond_resched() in both; might_sleep() too under voluntary).
   */
  private cpuKeptFrom(t: Thread): boolean {
    const o = this.onCpu[t.ctx.cpu];
    if (o === undefined || o === t || o.done) return false;
    if (o.pending?.blocker?.blocks(o) === true) return false;
    return o.resched === null || (o.resched === 'might_resched' && this.preemption === 'none');
  }

  /** Whether the CPU `t` is pinned to lets it run now (see the header comment). */
  private cpuAdmits(t: Thread): boolean {
    const isInterrupt = t.ctx.kind === 'hardirq' || t.ctx.kind === 'softirq';
    for (const other of this.threads) {
      if (other === t || other.ctx.cpu !== t.ctx.cpu || !other.started || other.done) continue;
      const o = other.ctx;
      if (o.kind === 'hardirq' || o.kind === 'softirq') return false;
      const atomic = o.preemptCount > 0 || o.irqsDisabledDepth > 0;
      if (atomic && (!isInterrupt || o.irqsDisabledDepth > 0)) return false;
    }
    return true;
  }

  /**
   * Code of the modelled kernel — a design's hook — threw: that is the kernel oopsing in that
   * thread. Report it as an `assertion` at this step, with the exception, and kill the thread (as
   * an oops kills the task); the model itself is intact, so the execution goes on.
   */
  private oops(thread: Thread, err: unknown): void {
    const context = `CPU: ${thread.ctx.cpu} PID: ${thread.id} Comm: ${thread.name}`;
    if (err instanceof KernelOops) {
      this.report('assertion', err.title, [...err.details, context, ...this.unwoundTrace(thread, err)]);
      thread.kill();
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    // Only the file's name: a report must read the same on every machine (no absolute paths).
    const at = ((e.stack ?? '').split('\n').find((l) => l.includes(' at ')) ?? '').replace(/(?:file:\/\/)?\/(?:[^\s()/]+\/)+/g, '');
    this.report('assertion', `Oops: ${e.name}: ${e.message} in ${thread.name}`, [
      `exception in a kernel hook at step ${this.stepCount}, in ${thread.pending?.label ?? 'its last step'}`,
      ...(at ? [`thrown ${at.trim()}`] : []),
      context,
      ...this.unwoundTrace(thread, e),
    ]);
    thread.kill();
  }

  /** The trace of an oops: the kernel stack where `err` was thrown (its hooks' frames unwound with it), or the last steps. */
  private unwoundTrace(thread: Thread, err: Error): string[] {
    if (this.stacks === null) return [`Last steps: ${lastSteps(thread)}`];
    return ['Call Trace:', ...kernelFrames(parseStack(err.stack ?? ''), []).map((f) => ` ${f}`)];
  }

  /**
   * The step bound cut an execution that had stopped making progress: for livelockWindow(maxSteps)
   * steps no step wrote, acquired or released anything another thread can see and no thread ended —
   * a hook that yields forever, the soft-lockup watchdog's case (kernel/watchdog.c
   * watchdog_timer_fn()). A cut that is not that is a bound, not a violation: status 'step-limit'
   * says the execution is incomplete, and nothing is reported. Blamed on the thread that took the
   * last step, with where every unfinished thread stood.
   */
  private reportLivelock(): void {
    let last: Thread | undefined;
    for (let i = this.choices.length - 1; i >= 0 && last === undefined; i--) {
      const c = this.choices[i];
      if (c.kind === 'thread') last = this.threads.find((t) => t.name === c.options[c.chosen]);
    }
    const name = last?.name ?? 'boot';
    const stuck = this.threads.filter((t) => !t.done && (t === last || !t.daemon));
    const idle = this.stepCount - this.lastProgress;
    this.violations.push({
      kind: 'assertion',
      title: `watchdog: BUG: soft lockup - ${name} made no progress for ${idle} steps (livelock)`,
      details: [
        `no step changed shared state or ended a thread in the last ${idle} steps before the step limit (--max-steps ${this.maxSteps}) at step ${this.stepCount}: a hook that never returns (yields forever)?`,
        ...stuck.map((t) => `${t.name} at ${t.pending?.label ?? 'its end'}, ${t.steps} steps; last steps: ${lastSteps(t)}`),
      ],
      thread: name,
      step: this.stepCount,
    });
    if (this.events !== null) this.log('violation', `assertion: no progress for ${idle} steps before the step limit ${this.maxSteps}`);
  }

  private reportDeadlock(stuck: Thread[]): void {
    const details = this.threads
      .filter((t) => !t.done)
      .map((t) => {
        const why = t.pending?.blocker?.blocks(t) ? t.pending.blocker.describe() : 'its CPU is held by an atomic section';
        return `${t.name} (cpu ${t.ctx.cpu}) blocked in ${t.pending?.label}: waiting for ${why}`;
      });
    this.running = null;
    this.report('deadlock', `INFO: task ${stuck[0].name} blocked with no thread able to run`, details);
  }
}

/**
 * The point of a thread choice. Each option's pending step is gathered only when a strategy reads
 * `steps` (DPOR does; random and PCT do not), and must be read during `choose()`: once the chosen
 * thread runs, its pending step is another.
 */
class ThreadChoicePoint implements ChoicePoint {
  readonly kind = 'thread';
  readonly reason = 'schedule';
  private gathered: readonly Step[] | undefined;

  constructor(
    readonly options: readonly string[],
    readonly threadIds: readonly number[],
    readonly index: number,
    private readonly runnable: readonly Thread[],
  ) {}

  get steps(): readonly Step[] {
    if (this.gathered === undefined) this.gathered = this.runnable.map((t) => t.pending as Step);
    return this.gathered;
  }
}
