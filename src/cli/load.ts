/**
 * Turning `--design`, `--scenario` and `--costs` values into a Design, a Scenario and a cost model: a built-in name, or a
 * path to a user's file. Every failure is a UsageError naming the flag, the file and the field.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { BUILTIN_DESIGNS, builtinDesign, type Design } from '../designs/index.ts';
import { GENERIC_HOOKS } from '../kernel/model/generic-hooks.ts';
import { BUILTIN_SCENARIOS, ScenarioError, builtinScenario, scenarioFromText, type Scenario } from '../scenario/scenario.ts';
import { CostModelError, DEFAULT_COSTS, loadCostModel, type CostModel } from '../measure/cost-model.ts';
import { containedDesign } from './contain.ts';
import { UsageError } from './context.ts';

const HOOK_NAMES = Object.keys(GENERIC_HOOKS) as [string, ...string[]];

/** The shape a design module must export (as `default` or as `design`). */
const designSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes and underscores'),
    summary: z.string().min(1),
    source: z.string().min(1),
    overrides: z.array(z.enum(HOOK_NAMES)),
    install: z.custom<Design['install']>((v) => typeof v === 'function', 'a function (k) => hooks'),
  })
  .strict();

const looksLikePath = (spec: string) => spec.includes('/') || /\.(m?[jt]s)$/.test(spec);

/** Whether `--design` names a user's module (run contained: see watchdog.ts) rather than a built-in. */
export const isDesignPath = looksLikePath;

export async function loadDesign(spec: string): Promise<Design> {
  if (!looksLikePath(spec)) {
    const d = builtinDesign(spec);
    if (d === undefined) throw new UsageError(`--design: unknown design '${spec}' (built in: ${BUILTIN_DESIGNS.map((x) => x.name).join(', ')}; or a path to a .ts/.js module)`);
    return d;
  }
  const file = resolve(spec);
  let mod: Record<string, unknown>;
  try {
    readFileSync(file);
  } catch {
    throw new UsageError(`--design: no such file ${spec}`);
  }
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`--design ${spec}: the module failed to load: ${(err as Error).message.split('\n')[0]}`);
  }
  const exported = mod.default ?? mod.design;
  if (exported === undefined) throw new UsageError(`--design ${spec}: the module exports neither 'default' nor 'design'`);
  const parsed = designSchema.safeParse(exported);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--design ${spec}: ${issue.path.join('.') || '(export)'}: ${issue.message}`);
  }
  return containedDesign(exported as Design, spec);
}

export function loadScenario(spec: string): Scenario {
  try {
    if (!looksLikePath(spec) && !/\.(ya?ml|json)$/.test(spec)) {
      const s = builtinScenario(spec);
      if (s === undefined) throw new UsageError(`--scenario: unknown scenario '${spec}' (built in: ${BUILTIN_SCENARIOS.map((x) => x.name).join(', ')}; or a path to a .yaml/.json file)`);
      return s;
    }
    let text: string;
    try {
      text = readFileSync(resolve(spec), 'utf8');
    } catch {
      throw new UsageError(`--scenario: no such file ${spec}`);
    }
    return scenarioFromText(text, spec);
  } catch (err) {
    if (err instanceof ScenarioError) throw new UsageError(`--scenario ${err.message}`);
    throw err;
  }
}

/** The cost model: the defaults, or a YAML/JSON file over them (--costs). */
export function loadCosts(path: string | undefined): CostModel {
  if (path === undefined) return DEFAULT_COSTS;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--costs: no such file ${path}`);
  }
  try {
    return loadCostModel(text, path);
  } catch (err) {
    if (err instanceof CostModelError) throw new UsageError(`--costs ${err.message}`);
    throw err;
  }
}
