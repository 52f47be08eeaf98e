/** Test harness: a booted kernel (the design under test's hooks, or the generic ones) and its threads. */
import { RoundRobinScheduler } from '../../src/explore/index.ts';
import type { DeviceSpec } from '../../src/kernel/model/boot.ts';
import { boot } from '../../src/kernel/model/boot.ts';
import { DEFAULT_CONFIG, type KernelConfig } from '../../src/kernel/model/config.ts';
import type { KernelHooks } from '../../src/kernel/model/hooks.ts';
import type { Kernel } from '../../src/kernel/model/kernel.ts';
import assert from 'node:assert/strict';
import type { Level, Va } from '../../src/hw/address.ts';
import { entry_leaf, entry_ptr, entry_table } from '../../src/kernel/arch/x86/include/asm/pgtable.ts';
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

/** Runs one task to the end and insists the kernel reported nothing. */
export function runClean(k: Kernel, body: () => Sim): void {
  const result = runKernel(k, [body]);
  assert.deepEqual(kinds(result), [], result.violations.map((v) => `${v.title}\n${v.details.join('\n')}`).join('\n'));
  assert.equal(result.status, 'quiescent');
}

/** The entry at `level` for `va` in init_mm, read straight from memory (no steps); null if a table above is missing. */
export function entryAt(k: Kernel, va: Va, level: Level): { ptr: number; value: bigint } | null {
  let table = k.init_mm.pgd;
  for (let l = (k.config.pagingLevels === 5 ? 5 : 4) as Level; ; l--) {
    const ptr = entry_ptr(table, va, l);
    const value = k.mem.read64(ptr);
    if (l === level) return { ptr, value };
    if (value === 0n || entry_leaf(value)) return null;
    table = entry_table(value);
  }
}
