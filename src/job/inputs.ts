/**
 * What a job can be given, for the CLI (which may import nothing below this layer): the built-in
 * designs, scenarios and strategies by name; a user's design module, scenario file and cost file
 * validated from what the CLI read (a module's exports, a file's text); the demo. Reading files
 * and importing modules is the CLI's (src/cli/load.ts); every failure here is a JobInputError
 * naming the flag, the file and the field.
 */
import { z } from 'zod';
import type { Design } from '../designs/index.ts';
import { GENERIC_HOOKS } from '../kernel/model/generic-hooks.ts';
import type { KernelRelease } from '../kernel/model/release.ts';
import { CostModelError, DEFAULT_COSTS, loadCostModel, type CostModel } from '../measure/cost-model.ts';
import { ScenarioError, scenarioFromText, type Scenario } from '../scenario/scenario.ts';
import { containedDesign } from './contain.ts';
import { JobInputError } from './jobs.ts';

export { BUILTIN_ALIASES, BUILTIN_DESIGNS, builtinDesign, DesignContractError, type Design } from '../designs/index.ts';
export { BUILTIN_SCENARIOS, builtinScenario, type Scenario } from '../scenario/scenario.ts';
export { DEFAULT_CONFIG } from '../kernel/model/config.ts';
export { designsWithBaseline, diffFindings, findingRef, type BaselineDiff, type FindingRef } from './baseline.ts';
export { runLeakDemo, type LeakDemoResult } from '../scenario/leak-demo.ts';
export {
  RandomScheduler,
  RoundRobinScheduler,
  STRATEGY_NAMES,
  STRATEGY_SUMMARIES,
  describeIssue,
  explorerSnapshotSchema,
  isStrategyName,
  sliceBudget,
  sliceOf,
  type ExplorationProgress,
  type ExploreCheckpoint,
  type ExplorerSnapshot,
  type StrategyName,
} from '../explore/index.ts';
export type { CostModel } from '../measure/cost-model.ts';

const HOOK_NAMES = Object.keys(GENERIC_HOOKS) as [string, ...string[]];

/** A design's kernel release (src/kernel/model/release.ts): every field, as a release constant has them. */
const kernelReleaseSchema = z
  .object({
    name: z.string().min(1),
    intelSvaFlush: z.enum(['piotlb', 'legacy']),
    x86SvaDisabled: z.boolean(),
    vmemmapFree: z.enum(['free_pagetable', 'free_vmemmap_pages']),
    cpaSplitLoserFree: z.enum(['__free_page', 'pagetable_free']),
  })
  .strict() satisfies z.ZodType<KernelRelease>;

/** The shape a design module must export (as `default` or as `design`). */
const designSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores'),
    summary: z.string().min(1),
    source: z.string().min(1),
    overrides: z.array(z.enum(HOOK_NAMES)),
    kernel: kernelReleaseSchema.optional(),
    install: z.custom<Design['install']>((v) => typeof v === 'function', 'a function (k) => hooks'),
  })
  .strict();

/** A user's design module (`spec` as given to --design), checked and contained (contain.ts). */
export function designFromModule(spec: string, mod: Record<string, unknown>): Design {
  const exported = mod.default ?? mod.design;
  if (exported === undefined) throw new JobInputError(`--design ${spec}: the module exports neither 'default' nor 'design'`);
  const parsed = designSchema.safeParse(exported);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JobInputError(`--design ${spec}: ${issue.path.join('.') || '(export)'}: ${issue.message}`);
  }
  return containedDesign(exported as Design, spec);
}

/** A scenario file's text (`spec` as given to --scenario). */
export function scenarioFromFile(spec: string, text: string): Scenario {
  try {
    return scenarioFromText(text, spec);
  } catch (err) {
    if (err instanceof ScenarioError) throw new JobInputError(`--scenario ${err.message}`);
    throw err;
  }
}

/** The cost model: the defaults, or a YAML/JSON file's text over them (--costs). */
export function costsFromFile(path: string | undefined, text?: string): CostModel {
  if (path === undefined || text === undefined) return DEFAULT_COSTS;
  try {
    return loadCostModel(text, path);
  } catch (err) {
    if (err instanceof CostModelError) throw new JobInputError(`--costs ${err.message}`);
    throw err;
  }
}
