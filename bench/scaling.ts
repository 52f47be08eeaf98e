/**
 * Measurement 4, scaling: the same check split over two worker threads against one worker, as
 * `kptsim check --workers N` splits it (execution i goes to worker i mod N). Only random and pct
 * are split in this codebase — dfs and dpor explore one tree and run whole (docs/usage.md, Checking) —
 * so the job is a pct check with a fixed budget. Workers load their modules first and start
 * together on a signal, so the figure is the exploration's speed-up, not tsx's start-up; the two
 * runs must give the same merged result (executions and violations), which is checked.
 *
 * On a machine whose cores other processes share, the wall-clock speed-up says more about them
 * than about kptsim. Beside it: the speed-up two dedicated cores would give, from each worker
 * thread's own CPU time (Linux /proc/thread-self): one worker's CPU time over the slower of two.
 */
import { Worker } from 'node:worker_threads';
import { sliceOf, type StrategyName } from '../src/explore/index.ts';
import { mergeChecks } from '../src/job/check.ts';
import type { CheckResult } from '../src/job/check-result.ts';
import type { ScalingJob, ScalingReply } from './scaling-job.ts';
import { figure, now, type Figure } from './stats.ts';

const GROUP = '4. scaling';

export interface ScalingOptions {
  readonly design: string;
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly budget: number;
  readonly runs: number;
}

export async function measureScaling(o: ScalingOptions): Promise<Figure[]> {
  const one: number[] = [];
  const two: number[] = [];
  const speedup: number[] = [];
  const cpuSpeedup: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const a = await runSplit(o, 1);
    const b = await runSplit(o, 2);
    if (summary(a.result) !== summary(b.result)) {
      throw new Error(`scaling: --workers 2 gave a different result than --workers 1:\n${summary(a.result)}\n${summary(b.result)}`);
    }
    one.push(a.ms);
    two.push(b.ms);
    speedup.push(a.ms / b.ms);
    const slowest = Math.max(...b.cpuMs);
    if (a.cpuMs[0] > 0 && slowest > 0) cpuSpeedup.push(a.cpuMs[0] / slowest);
  }
  const job = `${o.strategy} --budget ${o.budget}, ${o.design} on ${o.scenario}`;
  return [
    figure(GROUP, `1 worker (${job})`, 'ms', one),
    figure(GROUP, `2 workers`, 'ms', two),
    figure(GROUP, `speed-up, 2 workers over 1`, 'x', speedup, { target: { op: '>=', value: 1.8 } }),
    figure(GROUP, `speed-up on 2 dedicated cores (from each worker's CPU time)`, 'x', cpuSpeedup, {
      note: cpuSpeedup.length === 0 ? 'no per-thread CPU times here' : 'one worker CPU time / slower of two',
    }),
  ];
}

function summary(r: CheckResult): string {
  return JSON.stringify({ executions: r.executions, violations: r.violations.map((v) => [v.kind, v.message, v.execution, v.occurrences, v.replay]) });
}

async function runSplit(o: ScalingOptions, workers: number): Promise<{ ms: number; cpuMs: number[]; result: CheckResult }> {
  const started = Array.from({ length: workers }, (_, w) => {
    const job: ScalingJob = { design: o.design, scenario: o.scenario, strategy: o.strategy, budget: o.budget, slice: sliceOf({ index: 0, count: 1 }, w, workers) };
    const worker = new Worker(new URL('./scaling-worker.mjs', import.meta.url), { workerData: job });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { worker, ready };
  });
  await Promise.all(started.map((s) => s.ready));
  const t0 = now();
  const replies = await Promise.all(
    started.map(
      ({ worker }) =>
        new Promise<ScalingReply>((resolve, reject) => {
          worker.once('message', (m: ScalingReply) => resolve(m));
          worker.once('error', reject);
          worker.postMessage('go');
        }),
    ),
  );
  const ms = now() - t0;
  await Promise.all(started.map(({ worker }) => worker.terminate()));
  return { ms, cpuMs: replies.map((r) => r.cpuMs ?? 0), result: mergeChecks(replies.map((r) => r.result)) };
}
