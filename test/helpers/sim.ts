/** Test harness: run simulated threads to the end under a chosen scheduler. */
import { RoundRobinScheduler } from '../../src/explore/index.ts';
import { Execution, type ExecutionOptions, type Scheduler, type Sim, type SpawnOptions, type Thread } from '../../src/sim/index.ts';

/** A fresh execution (round robin unless a scheduler is given) that has begun execution 0. */
export function newExecution(scheduler: Scheduler = new RoundRobinScheduler(), options: ExecutionOptions = {}): Execution {
  scheduler.beginExecution(0);
  return new Execution(scheduler, { trace: true, ...options });
}

/** Spawns one task thread per body (cpu i for body i unless given) and runs the execution. */
export function runThreads(exec: Execution, bodies: ReadonlyArray<((t: Thread) => Sim) | [Partial<SpawnOptions>, (t: Thread) => Sim]>) {
  bodies.forEach((b, i) => {
    const [opts, body] = Array.isArray(b) ? b : [{}, b];
    exec.spawn({ name: opts.name ?? `t${i}`, cpu: opts.cpu ?? i, kind: opts.kind, daemon: opts.daemon }, body);
  });
  return exec.run();
}
