/**
 * Turning `--design`, `--scenario` and `--costs` values into a Design, a Scenario and a cost model: a
 * built-in name, or a path to a user's file, read here and checked by the job layer
 * (src/job/inputs.ts). Every failure names the flag, the file and the field (exit 2).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_DESIGNS, BUILTIN_SCENARIOS, builtinDesign, builtinScenario, costsFromFile, designFromModule, scenarioFromFile, type CostModel, type Design, type Scenario } from '../job/inputs.ts';
import type { Inputs } from '../job/jobs.ts';
import { UsageError } from './context.ts';

const looksLikePath = (spec: string) => spec.includes('/') || /\.(m?[jt]s)$/.test(spec);

/** Whether `--design` names a user's module (run contained: see runner.ts) rather than a built-in. */
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
  return designFromModule(spec, mod);
}

export function loadScenario(spec: string): Scenario {
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
  return scenarioFromFile(spec, text);
}

/** The cost model: the defaults, or a YAML/JSON file over them (--costs). */
export function loadCosts(path: string | undefined): CostModel {
  if (path === undefined) return costsFromFile(undefined);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--costs: no such file ${path}`);
  }
  return costsFromFile(path, text);
}

/** The job layer's Inputs (src/job/jobs.ts), from the command line's names and paths. */
export const CLI_INPUTS: Inputs = { design: loadDesign, scenario: loadScenario, costs: loadCosts };
