/**
 * Measurement 1, raw step cost: simulated steps per second of kptsim on a fixed scenario, over the
 * steps per second of the execution core driving bare generator threads (the ceiling: every thread
 * does nothing but yield a preallocated step that writes one shared object, so the threads
 * ping-pong on it), with the same number of threads, the same scheduler and the same steps per
 * execution, measured in alternation in the same run. kptsim's time includes building the world
 * (boot, oracles) for every execution, as an exploration pays it. A third figure, plain generators
 * resumed by a bare loop with no execution core, shows what the core itself costs. Rates are on
 * this process's CPU time (stats.ts cpuNow), not the wall clock.
 */
import type { Design } from '../src/designs/index.ts';
import { RandomScheduler, below, executionRng, type Program } from '../src/explore/index.ts';
import { programOf } from '../src/job/program.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { Execution, step, type Sim } from '../src/sim/index.ts';
import { cpuNow, figure, type Figure } from './stats.ts';

export interface StepCostOptions {
  readonly design: Design;
  readonly scenario: Scenario;
  /** kptsim executions per sample. */
  readonly executions: number;
  readonly runs: number;
}

const GROUP = '1. raw step cost';

export function measureStepCost(o: StepCostOptions): Figure[] {
  const program = programOf(o.design, o.scenario);
  // The shape of the fixed scenario: its thread count and mean steps per execution.
  const probe = new RandomScheduler(0);
  probe.beginExecution(0);
  const shapeExec = program.build(probe);
  const shape = shapeExec.run();
  const threads = shapeExec.threads.length;
  const stepsPerExecution = shape.steps;
  // Warm-up, so that the first chunk does not pay for compiling the model.
  kptsimSteps(program, Math.min(10, o.executions), 1000);
  coreSteps(threads, stepsPerExecution, Math.min(10, o.executions));

  const kptsim: number[] = [];
  const core: number[] = [];
  const bare: number[] = [];
  const ratio: number[] = [];
  // Each run alternates short chunks of the three loops, so machine noise (the cores are shared)
  // falls on all of them alike; a run's figure is its steps over its summed time.
  const chunks = 4;
  for (let r = 0; r < o.runs; r++) {
    const sum = { k: [0, 0], c: [0, 0], b: [0, 0] };
    for (let c = 0; c < chunks; c++) {
      add(sum.c, coreSteps(threads, stepsPerExecution, Math.ceil((o.executions * 4) / chunks)));
      add(sum.k, kptsimSteps(program, Math.ceil(o.executions / chunks), r * chunks + c));
      add(sum.b, bareSteps(threads, Math.ceil((stepsPerExecution * o.executions * 4) / chunks)));
    }
    const rate = ([steps, ms]: number[]) => (steps / ms) * 1000;
    kptsim.push(rate(sum.k));
    core.push(rate(sum.c));
    bare.push(rate(sum.b));
    ratio.push(rate(sum.k) / rate(sum.c));
  }
  const tag = `${o.design.name} on ${o.scenario.name}, ${threads} threads`;
  return [
    figure(GROUP, `kptsim steps/s (${tag})`, 'steps/s', kptsim),
    figure(GROUP, `ceiling: execution core, ${threads} bare threads`, 'steps/s', core),
    figure(GROUP, `kptsim / ceiling`, 'ratio', ratio, { target: { op: '>=', value: 0.4 } }),
    figure(GROUP, `plain generators, no core (for scale)`, 'steps/s', bare),
  ];
}

function add(into: number[], [steps, ms]: readonly [number, number]): void {
  into[0] += steps;
  into[1] += ms;
}

/** [steps, ms] of `executions` kptsim executions under a random scheduler. */
function kptsimSteps(program: Program, executions: number, seed: number): [number, number] {
  const scheduler = new RandomScheduler(seed);
  let steps = 0;
  const t0 = cpuNow();
  for (let i = 0; i < executions; i++) {
    scheduler.beginExecution(i);
    steps += program.build(scheduler).run().steps;
  }
  return [steps, cpuNow() - t0];
}

/** [steps, ms] of the execution core running `threads` threads that only yield. */
export function coreSteps(threads: number, stepsPerExecution: number, executions: number): [number, number] {
  const scheduler = new RandomScheduler(1);
  const perThread = Math.max(1, Math.ceil(stepsPerExecution / threads));
  let steps = 0;
  const t0 = cpuNow();
  for (let i = 0; i < executions; i++) {
    scheduler.beginExecution(i);
    const exec = new Execution(scheduler, { stopOnViolation: true });
    const shared = exec.objects.register('ping-pong');
    const ping = step('ping_pong', 'write', shared);
    for (let t = 0; t < threads; t++) {
      exec.spawn({ name: `t${t}`, cpu: -1 }, function* (): Sim {
        for (let s = 0; s < perThread; s++) yield ping;
      });
    }
    steps += exec.run().steps;
  }
  return [steps, cpuNow() - t0];
}

/** [steps, ms] of plain generators resumed by a loop that picks one at random (no core). */
function bareSteps(threads: number, totalSteps: number): [number, number] {
  const ping = step('ping_pong', 'write', 0);
  const body = function* (): Generator<typeof ping, void, undefined> {
    for (;;) yield ping;
  };
  const gens = Array.from({ length: threads }, body);
  const rng = executionRng(1, 0);
  let sink = 0;
  const t0 = cpuNow();
  for (let s = 0; s < totalSteps; s++) {
    const g = gens[below(rng, threads)];
    if (g.next().value === ping) sink++;
  }
  const ms = cpuNow() - t0;
  if (sink !== totalSteps) throw new Error('bare loop lost steps');
  return [totalSteps, ms];
}
