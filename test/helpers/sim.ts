/** Test harness: run simulated threads to the end under a chosen scheduler. */
import { RoundRobinScheduler } from '../../src/explore/index.ts';
import { DEFAULT_CONFIG, type KernelConfig } from '../../src/kernel/model/config.ts';
import type { SyncCore } from '../../src/kernel/model/kernel.ts';
import { Lockdep } from '../../src/kernel/kernel/locking/lockdep.ts';
import {
  Execution,
  type ChoicePoint,
  type ExecutionOptions,
  type ExecutionResult,
  type Scheduler,
  type Sim,
  type SpawnOptions,
  type Thread,
} from '../../src/sim/index.ts';

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

/**
 * Picks threads by name in the order given (failing loudly if one is not runnable), then the
 * lowest-id runnable thread once the script is used up; data choices take option 0.
 */
export class ScriptedScheduler implements Scheduler {
  private next = 0;

  constructor(private readonly script: readonly string[]) {}

  beginExecution(index: number): boolean {
    this.next = 0;
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    if (point.kind !== 'thread' || this.next >= this.script.length) return 0;
    const want = this.script[this.next++];
    const i = point.options.indexOf(want);
    if (i < 0) throw new Error(`script step ${this.next - 1}: ${want} is not runnable among [${point.options.join(',')}]`);
    return i;
  }
}

/** The names of the threads the scheduler picked, in order. */
export function chosenThreads(result: ExecutionResult): string[] {
  return result.choices.filter((c) => c.kind === 'thread').map((c) => c.options[c.chosen]);
}

/** The exec/config/lockdep core that locks and workqueues take. */
export function newSyncCore(exec: Execution, config: KernelConfig = DEFAULT_CONFIG): SyncCore {
  return { exec, config, lockdep: new Lockdep(exec) };
}
