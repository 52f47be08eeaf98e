/** Test harness: a booted kernel (the design under test's hooks, or the generic ones) and its threads. */
import { RoundRobinScheduler } from '../../src/explore/index.ts';
import type { DeviceSpec } from '../../src/kernel/boot.ts';
import { boot } from '../../src/kernel/boot.ts';
import { DEFAULT_CONFIG, type KernelConfig } from '../../src/kernel/config.ts';
import type { KernelHooks } from '../../src/kernel/hooks.ts';
import type { Kernel } from '../../src/kernel/kernel.ts';
import type { ExecutionResult, Scheduler, Sim, SpawnOptions, Thread } from '../../src/sim/index.ts';
import { newExecution, runThreads } from './sim.ts';

export interface TestKernelOptions {
  readonly scheduler?: Scheduler;
  readonly config?: Partial<KernelConfig>;
  readonly hooks?: Partial<KernelHooks>;
  readonly devices?: readonly DeviceSpec[];
}

export function bootTestKernel(options: TestKernelOptions = {}): Kernel {
  const exec = newExecution(options.scheduler ?? new RoundRobinScheduler());
  return boot(exec, {
    config: { ...DEFAULT_CONFIG, ...options.config },
    install: () => options.hooks ?? {},
    devices: options.devices ?? [{ name: 'dev0', sid: 0x100 }],
  });
}

type Body = ((t: Thread) => Sim) | [Partial<SpawnOptions>, (t: Thread) => Sim];

/** Spawns the bodies as task threads (cpu i for body i) and runs the kernel's execution to the end. */
export function runKernel(k: Kernel, bodies: readonly Body[]): ExecutionResult {
  return runThreads(k.exec, bodies);
}

/** The violation kinds an execution reported, in order. */
export function kinds(result: ExecutionResult): string[] {
  return result.violations.map((v) => v.kind);
}
