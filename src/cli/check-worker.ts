/**
 * One worker thread of `kptsim check --workers N`: runs its slice of the exploration and posts the
 * result back. Loads the design and scenario itself (they hold functions and cannot be posted).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Slice } from '../explore/index.ts';
import { check, type CheckOptions } from '../measure/check.ts';
import { loadDesign, loadScenario } from './load.ts';

export interface WorkerJob {
  readonly design: string;
  readonly scenario: string;
  readonly options: Omit<CheckOptions, 'now' | 'onProgress' | 'slice'>;
  readonly slice: Slice;
  readonly label: string;
}

const job = workerData as WorkerJob;
const design = await loadDesign(job.design);
const scenario = loadScenario(job.scenario);
const result = check(design, scenario, { ...job.options, slice: job.slice, now: () => performance.now() }, job.label);
parentPort?.postMessage(result);
