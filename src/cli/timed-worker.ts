/**
 * One watched worker of `kptsim run`, `compare` or `replay` with a design given by path (see
 * watchdog.ts): runs the command's task under the watchdog's guard and posts the result back as
 * plain data; the parent prints it and writes the --perfetto/--html files.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DesignContractError } from '../designs/design.ts';
import { compareTask, type CompareInput } from './compare.ts';
import { UsageError } from './context.ts';
import { replayTask, type ReplayInput } from './replay.ts';
import { runTask, type RunInput } from './run.ts';
import type { Watch, WorkerReply } from './watchdog.ts';

/** What the parent sends: the task, and the Watch its guard is built from. */
export type TimedJob = Watch & ({ readonly task: 'run'; readonly input: RunInput } | { readonly task: 'compare'; readonly input: CompareInput } | { readonly task: 'replay'; readonly input: ReplayInput });

const job = workerData as TimedJob;
let reply: WorkerReply<unknown>;
try {
  reply = { result: await (job.task === 'run' ? runTask(job.input, job) : job.task === 'compare' ? compareTask(job.input, job) : replayTask(job.input, job)) };
} catch (err) {
  if (!(err instanceof UsageError || err instanceof DesignContractError)) throw err;
  reply = { usage: err.message };
}
parentPort?.postMessage(reply);
