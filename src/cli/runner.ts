/**
 * The one contained runner: every command that runs a design given by path, or splits its work
 * (check --workers, the study), runs its jobs (src/job/jobs.ts) here, on a pool of worker threads
 * watched by one watchdog, with one way to stop them (Ctrl-C).
 *
 * Each worker publishes its progress in three words of a SharedArrayBuffer (src/job/guard.ts:
 * which execution the job is building, which choice it is at, and STOP). The parent polls them;
 * when they stop moving for --execution-timeout, a design hook has not returned: the parent
 * terminates that worker and runs the job again in a fresh one (it is deterministic), telling it to
 * cut the job's execution at that choice — recorded as an `assertion` there. A job that hangs in k
 * executions costs k timeouts and k re-runs. A worker that answered stays up for the next job, so
 * loading the TypeScript sources is paid once per worker, not once per job.
 */
import { Worker } from 'node:worker_threads';
import { InvalidArgumentError } from 'commander';
import { BUILD, CHOICE, LOADING, PROGRESS_BYTES, STOP, type HangPoint } from '../job/guard.ts';
import { designOfBuild, designsOf, runJob, type Job, type JobResult } from '../job/jobs.ts';
import { UsageError } from './context.ts';
import { RUNNER_WORKER } from './entry-points.ts';
import { CLI_INPUTS, isDesignPath } from './load.ts';
import { durationOf } from './parse.ts';
import type { RunnerReply, RunnerTask } from './runner-worker.ts';


/** `--execution-timeout`: the limit in ms, from a duration already parsed from `value`. */
export function executionTimeout(ms: number, value: string): number {
  if (ms < 10 || ms > 86_400_000) throw new InvalidArgumentError(`--execution-timeout expects 10ms to 24h, got '${value}'`);
  return ms;
}

/** The --execution-timeout option, the same on every command that runs designs. */
export const EXECUTION_TIMEOUT = [
  '--execution-timeout <duration>',
  'a design given by path (and check --workers, the study): a hook that does not return for this long is reported (assertion) and its execution ends there',
  (value: string) => executionTimeout(durationOf('--execution-timeout')(value), value),
  10_000,
] as const;

/** The execution timeout as the watchdog's violation prints it: the flag's value, never a measured time. */
export function limitText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Whether a job must run in a watched worker: it runs a user's design module. */
export function mustContain(job: Job): boolean {
  return designsOf(job).some(isDesignPath);
}

/** Ctrl-C for the workers of one run: `request()` tells every running job to stop starting executions. */
export class WorkerStop {
  requested = false;
  readonly running = new Set<Int32Array>();

  request(): void {
    this.requested = true;
    for (const progress of this.running) Atomics.store(progress, STOP, 1);
  }
}

export interface RunnerOptions {
  /** Worker threads at most (never more than jobs). */
  readonly workers: number;
  readonly timeoutMs: number;
  readonly stop?: WorkerStop;
  /** Told each job's result as it arrives (progress), with the job's index. */
  readonly done?: (index: number, result: unknown) => void;
}

/** Runs `jobs` on watched workers and returns their results in job order. */
export async function runContained<J extends Job>(jobs: readonly J[], options: RunnerOptions): Promise<JobResult<J>[]> {
  const limit = limitText(options.timeoutMs);
  const results: JobResult<J>[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(options.workers, jobs.length)) }, () => new WatchedWorker(options.stop));
  try {
    await Promise.all(
      workers.map(async (w) => {
        while (next < jobs.length) {
          const i = next++;
          results[i] = (await w.runToEnd(jobs[i], limit, options.timeoutMs)) as JobResult<J>;
          options.done?.(i, results[i]);
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
  return results;
}

type Attempt = { readonly result: unknown } | { readonly hang: HangPoint };

/** One worker thread and its progress words; replaced by a fresh one when a job hangs in it. */
class WatchedWorker {
  private readonly progress = new Int32Array(new SharedArrayBuffer(PROGRESS_BYTES));
  private worker: Worker | null = null;

  constructor(private readonly stop: WorkerStop | undefined) {
    stop?.running.add(this.progress);
    if (stop?.requested === true) Atomics.store(this.progress, STOP, 1);
  }

  /** Runs `job` until an attempt finishes, cutting each execution a hook hung in. */
  async runToEnd(job: Job, limit: string, timeoutMs: number): Promise<unknown> {
    const hangs: HangPoint[] = [];
    for (;;) {
      const outcome = await this.attempt({ job, hangs, limit }, timeoutMs);
      if ('result' in outcome) return outcome.result;
      const { hang } = outcome;
      if (hang.build === LOADING) {
        throw new UsageError(
          hang.exitCode === undefined
            ? `--design ${designOfBuild(job, 0)}: the module did not finish loading within ${limit} (--execution-timeout): a loop at its top level?`
            : `--design ${designOfBuild(job, 0)}: the module ended the process (process.exit(${hang.exitCode})) while loading`,
        );
      }
      if (hang.choice < 0 && hang.exitCode !== undefined) {
        throw new UsageError(`--design ${designOfBuild(job, Math.max(0, hang.build))}: the module ended the process (process.exit(${hang.exitCode})) before any execution ran`);
      }
      if (hang.choice < 0) {
        throw new UsageError(`--design ${designOfBuild(job, hang.build)}: install() or boot did not return within ${limit} (--execution-timeout)`);
      }
      if (hangs.some((h) => h.build === hang.build && h.choice === hang.choice)) {
        throw new UsageError(`--design ${designOfBuild(job, hang.build)}: a hook did not return within ${limit} after a data choice, and cutting the execution there did not stop it`);
      }
      hangs.push(hang);
    }
  }

  async close(): Promise<void> {
    this.stop?.running.delete(this.progress);
    const w = this.worker;
    this.worker = null;
    if (w !== null) await w.terminate();
  }

  private attempt(task: RunnerTask, timeoutMs: number): Promise<Attempt> {
    const progress = this.progress;
    progress[BUILD] = -1;
    progress[CHOICE] = -1;
    const worker = (this.worker ??= new Worker(RUNNER_WORKER, { workerData: { progress: progress.buffer } }));
    return new Promise((resolve, reject) => {
      let seen = '';
      let since = performance.now();
      const settle = (f: () => void) => {
        clearInterval(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        f();
      };
      // Loading the sources is not the design's time: the clock starts at the job's first build.
      const timer = setInterval(
        () => {
          const now = performance.now();
          const build = Atomics.load(progress, BUILD);
          const choice = Atomics.load(progress, CHOICE);
          const at = `${build}/${choice}`;
          if (build === -1 || at !== seen) {
            seen = at;
            since = now;
          } else if (now - since >= timeoutMs) {
            settle(() => {
              this.worker = null;
              void worker.terminate();
              resolve({ hang: { build, choice } });
            });
          }
        },
        Math.max(10, Math.min(250, timeoutMs / 4)),
      );
      const onMessage = (reply: RunnerReply) => settle(() => ('result' in reply ? resolve({ result: reply.result }) : reject(new UsageError(reply.usage))));
      const onError = (err: Error) => settle(() => ((this.worker = null), reject(err)));
      // A worker that ends before it answers was ended by the design (process.exit() in a hook, or
      // at its module's top level): cut the execution there, as for a hang.
      const onExit = (code: number) =>
        settle(() => {
          this.worker = null;
          resolve({ hang: { build: Atomics.load(progress, BUILD), choice: Atomics.load(progress, CHOICE), exitCode: code } });
        });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(task);
    });
  }
}

/**
 * Runs `jobs` and returns their results in job order: in this thread, one after the other, when one
 * worker is asked and no job runs a user's design module (no start-up cost); else contained.
 */
export async function runJobs<J extends Job>(jobs: readonly J[], options: RunnerOptions): Promise<JobResult<J>[]> {
  if (options.workers > 1 || jobs.some(mustContain)) return runContained(jobs, options);
  const results: JobResult<J>[] = [];
  for (const job of jobs) {
    results.push(await runJob(job, CLI_INPUTS));
    options.done?.(results.length - 1, results[results.length - 1]);
  }
  return results;
}
