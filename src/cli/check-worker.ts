/**
 * One worker thread of `kptsim check` (--workers N, or any user design: see watchdog.ts): runs its
 * slice of the exploration under the watchdog's guard and posts the result back. Loads the design
 * and scenario itself (they hold functions and cannot be posted).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DesignContractError } from '../designs/design.ts';
import { check } from '../measure/check.ts';
import { UsageError } from './context.ts';
import { loadDesign, loadScenario } from './load.ts';
import { WatchdogGuard, stopRequested, type WorkerJob, type WorkerReply } from './watchdog.ts';

const job = workerData as WorkerJob;
let reply: WorkerReply;
try {
  const design = await loadDesign(job.design);
  const scenario = loadScenario(job.scenario);
  const progress = new Int32Array(job.progress);
  const guard = new WatchdogGuard(progress, job.hangs, job.limit);
  reply = { result: check(design, scenario, { ...job.options, slice: job.slice, now: () => performance.now(), guard, shouldStop: stopRequested(progress) }, job.label) };
} catch (err) {
  if (!(err instanceof UsageError || err instanceof DesignContractError)) throw err;
  reply = { usage: err.message };
}
parentPort?.postMessage(reply);
