/**
 * A workload: the threads a scenario runs on a booted kernel, with its parameters' schema (which
 * also gives their defaults and their documentation) and the kernel configuration it needs.
 */
import type { z } from 'zod';
import type { KernelConfig } from '../kernel/model/config.ts';
import type { Kernel } from '../kernel/model/kernel.ts';

export interface Workload<P = unknown> {
  readonly name: string;
  readonly summary: string;
  /** The parameters, with defaults; unknown keys are refused. */
  readonly params: z.ZodType<P>;
  /** Configuration the workload needs on top of the scenario's (e.g. a hot-pluggable section). */
  readonly config?: (params: P) => Partial<KernelConfig>;
  /** Spawns the workload's threads on `k` (after boot, before the run). */
  spawn(k: Kernel, params: P): void;
}
