/**
 * The watchdog's guard, the side that runs with the work (in a watched worker, src/cli/runner.ts):
 * it publishes, at every scheduling choice, which execution it is building and which choice it is
 * at, in two words of a SharedArrayBuffer (two stores per step), and cuts the executions an
 * earlier worker hung in. A design hook that never returns (a synchronous loop: no yield, so no
 * step ever ends) cannot be stopped from inside its thread; the runner sees the words stop moving
 * for --execution-timeout, terminates the worker and re-runs the same work (it is deterministic),
 * which this guard then abandons at that choice, recording an `assertion` against the thread and
 * the hook's step — like the kernel's soft-lockup watchdog (kernel/watchdog.c watchdog_timer_fn(),
 * "BUG: soft lockup - CPU#n stuck"), which also sees only that a CPU stopped making progress.
 *
 * What is recorded depends only on where the hook hung (execution, choice, thread, label), never on
 * how long it ran: the limit is a flag value, the elapsed time is not in the result.
 */
import type { ExecutionGuard, GuardRecord } from '../explore/index.ts';
import { lastSteps, type ChoicePoint, type Execution, type Scheduler, type Violation } from '../sim/index.ts';
import { withHang } from './label.ts';

/** Where a hook never returned: the n-th execution built by the job (pilot and shrinking count), at its c-th choice. */
export interface HangPoint {
  readonly build: number;
  /** -1: before the first choice (the design's install() or the world's boot). */
  readonly choice: number;
  /** The worker ended there instead (a design hook called process.exit()), with this exit code. */
  readonly exitCode?: number;
}

/** The words of the progress buffer: build number, choice index, and STOP (Ctrl-C). */
export const BUILD = 0;
export const CHOICE = 1;
/** Set to 1 by the parent on Ctrl-C: the job stops starting executions (stoppedBy 'interrupted'). */
export const STOP = 2;
export const PROGRESS_BYTES = 12;
/** In the BUILD word: a design module is being imported (before any build). */
export const LOADING = -2;

/** The job's side of Ctrl-C: asked before each execution. */
export function stopRequested(progress: Int32Array): () => boolean {
  return () => Atomics.load(progress, STOP) === 1;
}

export class WatchdogGuard implements ExecutionGuard {
  private builds = 0;
  private readonly hangs: ReadonlyMap<number, HangPoint>;
  private readonly records = new Map<Violation, GuardRecord>();
  private exec: Execution | null = null;

  constructor(
    private readonly progress: Int32Array,
    hangs: readonly HangPoint[],
    private readonly limit: string,
  ) {
    this.hangs = new Map(hangs.map((h) => [h.build, h]));
  }

  wrap(scheduler: Scheduler): Scheduler {
    const n = this.builds++;
    const progress = this.progress;
    progress[BUILD] = n;
    progress[CHOICE] = -1;
    this.exec = null;
    const hang = this.hangs.get(n);
    return {
      beginExecution: (index) => scheduler.beginExecution(index),
      choose: (point) => {
        if (point.index === hang?.choice && this.exec !== null) return this.cut(this.exec, point, scheduler, hang.exitCode);
        progress[CHOICE] = point.index;
        return scheduler.choose(point);
      },
    };
  }

  built(exec: Execution): void {
    this.exec = exec;
  }

  recorded(violation: Violation): GuardRecord | undefined {
    return this.records.get(violation);
  }

  /**
   * The choice after which a hook never returned: record it against that thread and step, and end
   * the execution there. The choice itself is made and recorded (exhaustive strategies check that
   * a re-execution made every choice of the path they replay); the chosen step does not run.
   */
  private cut(exec: Execution, point: ChoicePoint, scheduler: Scheduler, exitCode: number | undefined): number | 'abandon' {
    const answer = scheduler.choose(point);
    if (answer === 'abandon') return answer;
    // A thread choice hangs in the step it starts; a data choice in the rest of the running step.
    const thread = point.kind === 'thread' ? exec.threads[point.threadIds?.[answer] ?? -1] : exec.current;
    const label = point.kind === 'thread' ? (point.steps?.[answer]?.label ?? 'its next step') : (thread?.pending?.label ?? 'its step');
    const step = point.kind === 'thread' ? exec.stepCount + 1 : exec.stepCount;
    const name = thread?.name ?? 'boot';
    const violation: Violation = {
      kind: 'assertion',
      title:
        exitCode === undefined
          ? `watchdog: BUG: soft lockup - ${name} stuck in ${label}: a design hook did not return`
          : `BUG: ${name} in ${label}: a design hook ended the process (process.exit(${exitCode}))`,
      details: [
        exitCode === undefined
          ? `design hook did not return within ${this.limit} (--execution-timeout) at step ${step} (label ${label})`
          : `design hook called process.exit(${exitCode}) at step ${step} (label ${label}): a design is a plugin of the kernel model, never of kptsim`,
        'the execution ends there: the worker running it was stopped and the work re-run up to that step (check goes on with the next execution); replay stops at the same step',
        // The hook never returned, so no stack of it can be taken: what the thread did before it.
        `Last steps: ${thread === undefined || thread.recent.length === 0 ? '' : `${lastSteps(thread)}, then `}${label} (never returned)`,
      ],
      thread: name,
      step,
    };
    exec.violations.push(violation);
    if (exec.tracing) exec.log('violation', `assertion: ${violation.title}`);
    const hang = { limit: this.limit, choice: point.index, ...(exitCode === undefined ? {} : { exitCode }) };
    this.records.set(violation, {
      choices: [...exec.choices, { kind: point.kind, reason: point.reason, options: point.options, chosen: answer }],
      label: (label) => withHang(label, hang),
    });
    exec.abandon();
    return answer;
  }
}
