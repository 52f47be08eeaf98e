/**
 * Containing a user design whose hook never returns (a synchronous loop: no yield, so no step ever
 * ends). Nothing inside the thread can stop it; only the thread's owner can. So `kptsim check`,
 * `run`, `compare` and `replay` run such a design in a worker thread that publishes, at every
 * scheduling choice, which execution it is building and which choice it is at, in two words of a
 * SharedArrayBuffer (two stores per step). The parent polls them; when they stop moving for
 * --execution-timeout, it terminates the worker and starts a new one that re-runs the same work (it
 * is deterministic) but abandons that execution at that choice, recording it as an `assertion`
 * against the thread and the hook's step — like the kernel's soft-lockup watchdog
 * (kernel/watchdog.c watchdog_timer_fn(), "BUG: soft lockup - CPU#n stuck"), which also sees only
 * that a CPU stopped making progress, never why.
 *
 * What is recorded depends only on where the hook hung (execution, choice, thread, label), never on
 * how long it ran: the limit is a flag value, the elapsed time is not in the result.
 */
import { Worker } from 'node:worker_threads';
import { replayLabel, type CheckOptions, type CheckResult, type ExecutionGuard, type GuardRecord, type HangLabel } from '../measure/check.ts';
import type { Slice } from '../explore/index.ts';
import { callTrace, type ChoicePoint, type Execution, type Scheduler, type Violation } from '../sim/index.ts';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './context.ts';
import { durationOf } from './parse.ts';

/** Where a hook never returned: the n-th execution built in the worker (pilot and shrinking count), at its c-th choice. */
export interface HangPoint {
  readonly build: number;
  /** -1: before the first choice (the design's install() or the world's boot). */
  readonly choice: number;
}

/** What every watched worker is given besides its task. */
export interface Watch {
  /** Three Int32 words: build number, choice index (see WatchdogGuard), and STOP (Ctrl-C). */
  readonly progress: SharedArrayBuffer;
  /** Executions to abandon where an earlier worker hung in them. */
  readonly hangs: readonly HangPoint[];
  /** The limit as printed in the violation, e.g. `10 s`. */
  readonly limit: string;
}

/** What the parent sends a check worker (check-worker.ts). */
export interface WorkerJob extends Watch {
  readonly design: string;
  readonly scenario: string;
  readonly options: Omit<CheckOptions, 'now' | 'onProgress' | 'slice' | 'guard'>;
  readonly slice: Slice;
  readonly label: string;
}

/** What a watched worker posts back: its result (plain data), or a bad-input error to print as such. */
export type WorkerReply<R = CheckResult> = { readonly result: R } | { readonly usage: string };

/** The worker entries (a .mjs that registers the TypeScript loader, then the .ts). */
const CHECK_WORKER = new URL('./check-worker.mjs', import.meta.url);
export const TIMED_WORKER = new URL('./timed-worker.mjs', import.meta.url);

/** `--execution-timeout`: the limit in ms, from a duration already parsed from `value`. */
export function executionTimeout(ms: number, value: string): number {
  if (ms < 10 || ms > 86_400_000) throw new InvalidArgumentError(`--execution-timeout expects 10ms to 24h, got '${value}'`);
  return ms;
}

/** The --execution-timeout option, the same on check, run, compare and replay. */
export const EXECUTION_TIMEOUT = [
  '--execution-timeout <duration>',
  'a design given by path (and check --workers): a hook that does not return for this long is reported (assertion) and its execution ends there',
  (value: string) => executionTimeout(durationOf('--execution-timeout')(value), value),
  10_000,
] as const;

/** The execution timeout as the watchdog's violation prints it: the flag's value, never a measured time. */
export function limitText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

const BUILD = 0;
const CHOICE = 1;
/** Set to 1 by the parent on Ctrl-C: the worker stops starting executions (stoppedBy 'interrupted'). */
const STOP = 2;
export const PROGRESS_BYTES = 12;

/** The worker's side of Ctrl-C: asked before each execution. */
export function stopRequested(progress: Int32Array): () => boolean {
  return () => Atomics.load(progress, STOP) === 1;
}

/** The guard a watched worker runs its task under, from the Watch it was sent. */
export function watchdogGuard(watch: Watch): WatchdogGuard {
  return new WatchdogGuard(new Int32Array(watch.progress), watch.hangs, watch.limit);
}

/**
 * The worker's side: publishes progress, and cuts the executions an earlier worker hung in. Also
 * what `kptsim replay` uses on a token recorded at such a cut, to stop at the same choice.
 */
export class WatchdogGuard implements ExecutionGuard {
  private builds = 0;
  private readonly hangs: ReadonlyMap<number, number>;
  private readonly records = new Map<Violation, GuardRecord>();
  private exec: Execution | null = null;

  constructor(
    private readonly progress: Int32Array,
    hangs: readonly HangPoint[],
    private readonly limit: string,
  ) {
    this.hangs = new Map(hangs.map((h) => [h.build, h.choice]));
  }

  wrap(scheduler: Scheduler): Scheduler {
    const n = this.builds++;
    const progress = this.progress;
    progress[BUILD] = n;
    progress[CHOICE] = -1;
    this.exec = null;
    const hangAt = this.hangs.get(n);
    return {
      beginExecution: (index) => scheduler.beginExecution(index),
      choose: (point) => {
        if (point.index === hangAt && this.exec !== null) return this.cut(this.exec, point, scheduler);
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
  private cut(exec: Execution, point: ChoicePoint, scheduler: Scheduler): number | 'abandon' {
    const answer = scheduler.choose(point);
    if (answer === 'abandon') return answer;
    // A thread choice hangs in the step it starts; a data choice in the rest of the running step.
    const thread = point.kind === 'thread' ? exec.threads[point.threadIds?.[answer] ?? -1] : exec.current;
    const label = point.kind === 'thread' ? (point.steps?.[answer]?.label ?? 'its next step') : (thread?.pending?.label ?? 'its step');
    const step = point.kind === 'thread' ? exec.stepCount + 1 : exec.stepCount;
    const name = thread?.name ?? 'boot';
    const violation: Violation = {
      kind: 'assertion',
      title: `watchdog: BUG: soft lockup - ${name} stuck in ${label}: a design hook did not return`,
      details: [
        `design hook did not return within ${this.limit} (--execution-timeout) at step ${step} (label ${label})`,
        'the execution ends there: the worker running it was stopped and the work re-run up to that step (check goes on with the next execution); replay stops at the same step',
        `Call Trace: ${label}${thread === undefined || thread.recent.length === 0 ? '' : ` <- ${callTrace(thread)}`}`,
      ],
      thread: name,
      step,
    };
    exec.violations.push(violation);
    if (exec.tracing) exec.log('violation', `assertion: ${violation.title}`);
    const hang: HangLabel = { limit: this.limit, choice: point.index };
    this.records.set(violation, {
      choices: [...exec.choices, { kind: point.kind, reason: point.reason, options: point.options, chosen: answer }],
      label: (label) => {
        const [design, scenario, maxSteps] = JSON.parse(label) as [string, string, number?];
        return replayLabel(design, scenario, maxSteps, hang);
      },
    });
    exec.abandon();
    return answer;
  }
}

type Attempt<R> = { readonly result: R } | { readonly hang: HangPoint };

/**
 * Runs `job` in check workers until one finishes: each time a hook stops making progress for
 * `timeoutMs`, the worker is terminated and a new one re-runs the exploration abandoning that
 * execution there. Each restart repeats the work done before the hang (deterministically); a
 * design that hangs in k executions costs k timeouts plus k re-runs.
 */
export function runWatched(job: Omit<WorkerJob, 'progress' | 'hangs'>, timeoutMs: number, stop?: WorkerStop): Promise<CheckResult> {
  return watched<CheckResult>(CHECK_WORKER, job, () => job.design, timeoutMs, stop);
}

/**
 * The same for any watched worker entry (`worker`), given `job` with its limit: the worker builds a
 * WatchdogGuard from the Watch it is sent alongside, and posts back a WorkerReply<R>. `design`
 * names the design module the hung build ran, for the error when cutting cannot help.
 */
export async function watched<R>(worker: URL, job: { readonly limit: string }, design: (build: number) => string, timeoutMs: number, stop?: WorkerStop): Promise<R> {
  const hangs: HangPoint[] = [];
  for (;;) {
    const progress = new SharedArrayBuffer(PROGRESS_BYTES);
    stop?.running.add(progress);
    if (stop?.requested === true) Atomics.store(new Int32Array(progress), STOP, 1);
    const outcome = await attempt<R>(worker, { ...job, progress, hangs }, timeoutMs).finally(() => stop?.running.delete(progress));
    if ('result' in outcome) return outcome.result;
    const { hang } = outcome;
    if (hang.choice < 0) {
      throw new UsageError(`--design ${design(hang.build)}: install() or boot did not return within ${job.limit} (--execution-timeout)`);
    }
    if (hangs.some((h) => h.build === hang.build && h.choice === hang.choice)) {
      throw new UsageError(`--design ${design(hang.build)}: a hook did not return within ${job.limit} after a data choice, and cutting the execution there did not stop it`);
    }
    hangs.push(hang);
  }
}

/** Ctrl-C for the workers of one run: `request()` tells every running worker to stop starting executions. */
export class WorkerStop {
  requested = false;
  readonly running = new Set<SharedArrayBuffer>();

  request(): void {
    this.requested = true;
    for (const progress of this.running) Atomics.store(new Int32Array(progress), STOP, 1);
  }
}

function attempt<R>(entry: URL, job: Watch, timeoutMs: number): Promise<Attempt<R>> {
  return new Promise((resolve, reject) => {
    const progress = new Int32Array(job.progress);
    progress[BUILD] = -1;
    progress[CHOICE] = -1;
    const worker = new Worker(entry, { workerData: job });
    let settled = false;
    let seen = '';
    let since = performance.now();
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      f();
    };
    // Loading tsx and the modules is not the design's time: the clock starts at the first build.
    const timer = setInterval(
      () => {
        const now = performance.now();
        const build = Atomics.load(progress, BUILD);
        const choice = Atomics.load(progress, CHOICE);
        const at = `${build}/${choice}`;
        if (build < 0 || at !== seen) {
          seen = at;
          since = now;
        } else if (now - since >= timeoutMs) {
          settle(() => {
            void worker.terminate();
            resolve({ hang: { build, choice } });
          });
        }
      },
      Math.max(10, Math.min(250, timeoutMs / 4)),
    );
    worker.once('message', (reply: WorkerReply<R>) => {
      settle(() => ('result' in reply ? resolve({ result: reply.result }) : reject(new UsageError(reply.usage))));
    });
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`watched worker exited with code ${code} before it answered`))));
  });
}
