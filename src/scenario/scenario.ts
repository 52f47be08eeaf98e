/**
 * Scenarios: a workload, its parameters and the kernel configuration, from a built-in name or a
 * YAML/JSON file. One schema validates both, so a built-in scenario is exactly a file that ships
 * with kptsim. Errors name the origin, the field and what was expected (docs/architecture.md, Inputs).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { IOMMU_KINDS, type IommuKind } from '../hw/iommu.ts';
import { DEFAULT_CONFIG, type KernelConfig } from '../kernel/model/config.ts';
import { PREEMPT_MODES } from '../sim/index.ts';
import { bootPresentFrames } from '../kernel/model/boot-memory.ts';
import { computePageFlagsLayout } from '../kernel/include/linux/page-flags.ts';
import type { Workload } from './workload.ts';
import { bindUnbind } from './workloads/bind-unbind.ts';
import { cpaCollapse } from './workloads/cpa-collapse.ts';
import { execmemRox } from './workloads/execmem-rox.ts';
import { hotplugCycles } from './workloads/hotplug-cycles.ts';
import { hotRemove } from './workloads/hot-remove.ts';
import { mixedReuse } from './workloads/mixed-reuse.ts';
import { ptePopulateRace } from './workloads/pte-populate-race.ts';
import { pudHugeVmap } from './workloads/pud-huge-vmap.ts';
import { vfreeHugeVmap } from './workloads/vfree-huge-vmap.ts';
import { vmallocChurn } from './workloads/vmalloc-churn.ts';

export const WORKLOADS: readonly Workload<never>[] = [vfreeHugeVmap, pudHugeVmap, ptePopulateRace, hotRemove, cpaCollapse, bindUnbind, mixedReuse, vmallocChurn, hotplugCycles, execmemRox] as unknown as Workload<never>[];

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  readonly workload: Workload<unknown>;
  readonly params: unknown;
  readonly config: KernelConfig;
}

/** The configuration a scenario may set: every field optional, bounded, unknown keys refused. */
export const configSchema = z
  .object({
    cpus: z.number().int().min(2).max(8),
    preempt: z.enum(PREEMPT_MODES),
    tornLists: z.boolean(),
    frames: z.number().int().min(1024).max(1 << 16),
    pagingLevels: z.union([z.literal(4), z.literal(5)]),
    pageFlags: z
      .object({
        NR_PAGEFLAGS: z.number().int().min(21).max(64),
        SECTIONS_WIDTH: z.number().int().min(0).max(16),
        NODES_WIDTH: z.number().int().min(0).max(10),
        ZONES_WIDTH: z.number().int().min(2).max(3),
        LAST_CPUPID_WIDTH: z.number().int().min(0).max(24),
      })
      .strict()
      .partial(),
    iommu: z
      .object({
        pml5: z.number().int().min(0).max(1024),
        pml4: z.number().int().min(0).max(1024),
        pdpt: z.number().int().min(0).max(1024),
        pde: z.number().int().min(0).max(1024),
        iotlb: z.number().int().min(0).max(4096),
        devtlb: z.number().int().min(0).max(4096),
        speculate: z.boolean(),
        kind: z.enum(IOMMU_KINDS),
        legacyFlushesPagingStructures: z.boolean(),
        pgselInv: z.boolean(),
        mamv: z.number().int().min(0).max(63),
      })
      .strict()
      .partial(),
    cpuTlbEntries: z.number().int().min(1).max(4096),
    cpuPscEntries: z.number().int().min(0).max(1024),
    tlbSinglePageFlushCeiling: z.number().int().min(1).max(1 << 20),
    kworkers: z.number().int().min(1).max(8),
    failAtomicAllocations: z.boolean(),
    sectionFrames: z.number().int().min(512).max(1 << 15).multipleOf(512),
    hotplugSections: z.number().int().min(0).max(8),
    directMap4k: z.boolean(),
  })
  .strict()
  .partial();

export type ConfigOverrides = z.infer<typeof configSchema>;

const fileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    summary: z.string().optional(),
    workload: z.string(),
    params: z.record(z.string(), z.unknown()).optional(),
    config: configSchema.optional(),
  })
  .strict();

export type ScenarioFile = z.infer<typeof fileSchema>;

/** A scenario file or built-in that does not validate: the message names origin and field. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

function formatIssues(origin: string, error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  return `${origin}: ${shorten(path || '(top level)')}: ${shorten(issue.message)}`;
}

/** An error stays one short line, whatever the file held (a key list, a huge string). */
function shorten(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max)}…`;
}

/**
 * A scenario has a few dozen keys; past this many the file is refused before it is parsed (a YAML
 * parser checks keys for duplicates in quadratic time: 100k keys take minutes).
 */
export const MAX_SCENARIO_KEYS = 10_000;

export function mergeConfig(base: KernelConfig, o: ConfigOverrides): KernelConfig {
  return {
    ...base,
    ...o,
    pageFlags: { ...base.pageFlags, ...o.pageFlags },
    iommu: { ...base.iommu, ...o.iommu },
  };
}

/** Validates a parsed scenario document; `origin` is the file name or `built-in NAME`. */
export function scenarioFrom(doc: unknown, origin: string): Scenario {
  const file = fileSchema.safeParse(doc);
  if (!file.success) throw new ScenarioError(formatIssues(origin, file.error));
  const workload = WORKLOADS.find((w) => w.name === file.data.workload) as Workload<unknown> | undefined;
  if (workload === undefined) {
    throw new ScenarioError(`${origin}: workload: unknown workload '${file.data.workload}' (expected one of ${WORKLOADS.map((w) => w.name).join(', ')})`);
  }
  const params = workload.params.safeParse(file.data.params ?? {});
  if (!params.success) throw new ScenarioError(formatIssues(origin, params.error, 'params'));
  const config = mergeConfig(mergeConfig(DEFAULT_CONFIG, workload.config?.(params.data) ?? {}), file.data.config ?? {});
  try {
    computePageFlagsLayout(config.pageFlags);
  } catch (err) {
    throw new ScenarioError(`${origin}: config.pageFlags: ${(err as Error).message}`);
  }
  // Fields valid one by one can still describe memory hotplug cannot have (sections that do not
  // divide memory, hot-pluggable memory below ZONE_NORMAL): refuse them here, not at boot.
  try {
    bootPresentFrames(config);
  } catch (err) {
    throw new ScenarioError(`${origin}: ${(err as Error).message}`);
  }
  return { name: file.data.name, summary: file.data.summary ?? workload.summary, workload, params: params.data, config };
}

/** Parses YAML (or JSON, which is YAML) text of a scenario file. */
export function scenarioFromText(text: string, origin: string): Scenario {
  let keys = 0;
  for (let i = text.indexOf(':'); i >= 0 && keys <= MAX_SCENARIO_KEYS; i = text.indexOf(':', i + 1)) keys++;
  if (keys > MAX_SCENARIO_KEYS) throw new ScenarioError(`${origin}: more than ${MAX_SCENARIO_KEYS} keys (a scenario has a few dozen): refused unread`);
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${origin}: not valid YAML or JSON: ${shorten((err as Error).message.split('\n')[0])}`);
  }
  return scenarioFrom(doc, origin);
}

/** The built-in scenarios: the workloads with their default parameters on the default machine. */
export const BUILTIN_SCENARIOS: readonly ScenarioFile[] = WORKLOADS.map((w) => ({ name: w.name, workload: w.name }));

/**
 * A built-in scenario by name; `NAME@amd` (or `@intel`) is that scenario behind the other IOMMU
 * (config.iommu.kind), so every scenario runs on either and the study covers both.
 */
export function builtinScenario(name: string): Scenario | undefined {
  const [base, iommu] = name.split('@', 2);
  if (iommu !== undefined && !IOMMU_KINDS.includes(iommu as IommuKind)) return undefined;
  const file = BUILTIN_SCENARIOS.find((s) => s.name === base);
  if (file === undefined) return undefined;
  if (iommu === undefined) return scenarioFrom(file, `built-in ${name}`);
  return { ...scenarioFrom({ ...file, config: { iommu: { kind: iommu } } }, `built-in ${name}`), name };
}
