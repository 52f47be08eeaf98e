/**
 * Where the time goes: a CPU profile (the V8 sampling profiler that `node --cpu-prof` writes, taken
 * here through node:inspector) of executions of the step-cost scenario, with self time summed by
 * layer — src/sim, src/hw, src/kernel, src/check, ... — split into building the world (boot,
 * oracles, workload threads) and running it, plus the garbage collector. It is what limits the
 * step-cost ratio of measurement 1: the execution core (src/sim) is one row of it.
 */
import { Session } from 'node:inspector/promises';
import type { Design } from '../src/designs/index.ts';
import { RandomScheduler } from '../src/explore/index.ts';
import { programOf } from '../src/job/program.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { figure, type Figure } from './stats.ts';

const GROUP = '7. profile: self time by layer';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileOptions {
  readonly design: Design;
  readonly scenario: Scenario;
  readonly executions: number;
}

export async function measureProfile(o: ProfileOptions): Promise<Figure[]> {
  const program = programOf(o.design, o.scenario);
  const scheduler = new RandomScheduler(7);
  // A named declaration: the profile finds the executions by this frame's name.
  function runAll(from: number, n: number): void {
    for (let i = from; i < from + n; i++) {
      scheduler.beginExecution(i);
      program.build(scheduler).run();
    }
  }
  runAll(0, Math.min(50, o.executions)); // warm-up: profile compiled code, not the first runs
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    runAll(1000, o.executions);
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    return layers(profile).map(([layer, share]) => figure(GROUP, layer, '% of CPU', [share * 100]));
  } finally {
    session.disconnect();
  }
}

/** Self time by layer, as shares of the samples taken inside the executions (and GC), largest first. */
function layers(p: CpuProfile): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Per node: its layer, or null when the sample is outside the measured executions.
  const layerOf = new Map<number, string | null>();
  const classify = (id: number): string | null => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    const frame = byId.get(id)?.callFrame;
    let result: string | null = null;
    if (frame?.functionName === '(garbage collector)') result = 'garbage collector';
    else {
      let inExecution = false;
      let building = false;
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const f = byId.get(cur)?.callFrame;
        if (f === undefined) break;
        if (f.functionName === 'buildWorld') building = true;
        if (f.functionName === 'runAll') inExecution = true;
      }
      if (inExecution && frame !== undefined) {
        const m = /\/src\/([a-z]+)\//.exec(frame.url);
        const layer = m === null ? 'builtins and libraries' : `src/${m[1]}`;
        result = `${building ? 'building the world' : 'running it'}: ${layer}`;
      }
    }
    layerOf.set(id, result);
    return result;
  };
  const sums = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const layer = classify(p.samples[i]);
    if (layer === null) continue;
    const dt = p.timeDeltas[i] ?? 0;
    sums.set(layer, (sums.get(layer) ?? 0) + dt);
    total += dt;
  }
  if (total === 0) return [];
  return [...sums]
    .map(([layer, t]): [string, number] => [layer, t / total])
    .filter(([, share]) => share >= 0.005)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
