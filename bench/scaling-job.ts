/**
 * One worker of the scaling measurement: loads its design and scenario, says it is ready, and on
 * the parent's go runs its slice of the check (as `kptsim check --workers N` does) and posts the result.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { builtinDesign } from '../src/designs/index.ts';
import type { Slice, StrategyName } from '../src/explore/index.ts';
import { check } from '../src/job/check.ts';
import type { CheckResult } from '../src/job/check-result.ts';
import { builtinScenario } from '../src/scenario/scenario.ts';

export interface ScalingJob {
  readonly design: string;
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly budget: number;
  readonly slice: Slice;
}

const job = workerData as ScalingJob;
const design = builtinDesign(job.design);
const scenario = builtinScenario(job.scenario);
if (design === undefined || scenario === undefined) throw new Error(`scaling job: unknown ${job.design} or ${job.scenario}`);
const port = parentPort;
if (port === null) throw new Error('scaling-job.ts runs as a worker thread');
export interface ScalingReply {
  readonly result: CheckResult;
  /** CPU time this worker's thread used for the check, in ms; null where /proc/thread-self is absent. */
  readonly cpuMs: number | null;
}

/** This OS thread's user + system CPU time in ms (Linux /proc/thread-self/stat, clock ticks of 10 ms). */
function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5) (utime, stime) are the 12th and 13th after the command name.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

port.once('message', () => {
  const c0 = threadCpuMs();
  const result = check(design, scenario, { strategy: job.strategy, seed: 0, budget: job.budget, slice: job.slice, shrinkRuns: 0 }, 'bench');
  const c1 = threadCpuMs();
  const reply: ScalingReply = { result, cpuMs: c0 === null || c1 === null ? null : c1 - c0 };
  port.postMessage(reply);
});
port.postMessage('ready');
