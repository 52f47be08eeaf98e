/**
 * The one worker entry of the contained runner (runner.ts): it runs the jobs it is sent, one at a
 * time, under the watchdog's guard on the progress words it was given, and posts each result back
 * (plain data). It loads designs and scenarios itself: a design holds functions and cannot be posted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DesignContractError } from '../job/inputs.ts';
import type { HangPoint } from '../job/guard.ts';
import { JobInputError, runJob, type Job } from '../job/jobs.ts';
import { UsageError } from './context.ts';
import { CLI_INPUTS, isDesignPath } from './load.ts';
import { BUILD, LOADING } from '../job/guard.ts';

/** What the runner posts: a job, the hang points to cut in it, and the limit as the report prints it. */
export interface RunnerTask {
  readonly job: Job;
  readonly hangs: readonly HangPoint[];
  readonly limit: string;
}

/** What the worker posts back: the job's result, or a bad-input error to print as such. */
export type RunnerReply = { readonly result: unknown } | { readonly usage: string };

const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);

/**
 * The inputs, with a design module's import marked in the progress words: a module that loops at
 * its top level never finishes loading, and the runner's watchdog must see that too.
 */
const inputs = {
  ...CLI_INPUTS,
  async design(spec: string) {
    if (!isDesignPath(spec)) return CLI_INPUTS.design(spec);
    Atomics.store(progress, BUILD, LOADING);
    try {
      return await CLI_INPUTS.design(spec);
    } finally {
      Atomics.store(progress, BUILD, -1);
    }
  },
};

parentPort?.on('message', async (task: RunnerTask) => {
  let reply: RunnerReply;
  try {
    reply = { result: await runJob(task.job, inputs, { progress, hangs: task.hangs, limit: task.limit }) };
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof DesignContractError || err instanceof JobInputError)) throw err;
    reply = { usage: err.message };
  }
  parentPort?.postMessage(reply);
});
