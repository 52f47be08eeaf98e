/**
 * Turning `--design`, `--scenario` and `--costs` values into a Design, a Scenario and a cost model: a
 * built-in name, or a path to a user's file, read here and checked by the job layer
 * (src/job/inputs.ts). Every failure names the flag, the file and the field (exit 2).
 */
import { readFileSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILTIN_DESIGNS, BUILTIN_SCENARIOS, builtinDesign, builtinScenario, costsFromFile, designFromModule, scenarioFromFile, type CostModel, type Design, type Scenario } from '../job/inputs.ts';
import type { Inputs } from '../job/jobs.ts';
import { UsageError } from './context.ts';
import { DESIGN_LOADER, PUBLIC_ENTRY, RUNNING_SOURCES } from './entry-points.ts';

const looksLikePath = (spec: string) => spec.includes('/') || /\.(m?[jt]s)$/.test(spec);

/** An input file (scenario, costs, design module) may have at most this many bytes: they are a few hundred. */
export const MAX_INPUT_BYTES = 1 << 20;

/**
 * An input file's text for `flag`: a regular file (or a FIFO, read as it comes) of at most
 * MAX_INPUT_BYTES; anything else is one line saying what it is.
 */
export function readInputFile(flag: string, path: string): string {
  let st;
  try {
    st = statSync(resolve(path));
  } catch {
    throw new UsageError(`${flag}: no such file ${path}`);
  }
  if (st.isDirectory()) throw new UsageError(`${flag}: ${path} is a directory, not a file`);
  if (!st.isFile() && !st.isFIFO()) throw new UsageError(`${flag}: ${path} is not a regular file`);
  if (st.size > MAX_INPUT_BYTES) throw new UsageError(`${flag} ${path}: ${st.size} bytes, more than the ${MAX_INPUT_BYTES} an input file may have`);
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.length > MAX_INPUT_BYTES) throw new UsageError(`${flag} ${path}: more than the ${MAX_INPUT_BYTES} bytes an input file may have`);
  return text;
}

/** Why a design module failed to load, in one line: the file, line and message of a syntax error. */
function loadFailure(err: unknown): string {
  const e = err as { errors?: { text?: string; location?: { file?: string; line?: number; column?: number } | null }[]; message?: string };
  const first = e.errors?.[0];
  if (first?.text !== undefined) {
    const at = first.location?.file === undefined ? '' : `${relative(process.cwd(), first.location.file)}:${first.location.line}:${first.location.column}: `;
    return `${at}${first.text}`;
  }
  const lines = String(e.message ?? err).split('\n').filter((l) => l.trim() !== '');
  return (lines.find((l, i) => i > 0 && /error/i.test(l)) ?? lines[0] ?? 'unknown error').trim();
}

/** Whether `--design` names a user's module (run contained: see runner.ts) rather than a built-in. */
export const isDesignPath = looksLikePath;

/** Whether a --design or --scenario value names a file (a module, a .yaml/.json scenario) rather than a built-in. */
export function isFileSpec(spec: string): boolean {
  return looksLikePath(spec) || /\.(ya?ml|json)$/.test(spec);
}

/**
 * A design or scenario as a job and its replay tokens record it: a file by its absolute path, so a
 * token replays from any directory (its identity hash still refuses a changed file); a built-in by
 * its name.
 */
export function recordedSpec(spec: string): string {
  return isFileSpec(spec) ? resolve(spec) : spec;
}

let loaderRegistered = false;

/**
 * Registers design-loader.mjs's module hooks once per thread, before the first design module is
 * imported; running the build, tsx's too (the sources run under it already), for designs in .ts.
 */
async function registerDesignLoader(): Promise<void> {
  if (loaderRegistered) return;
  loaderRegistered = true;
  if (!RUNNING_SOURCES) (await import('tsx/esm/api')).register();
  register(DESIGN_LOADER, { data: { entry: PUBLIC_ENTRY } });
}

export async function loadDesign(spec: string): Promise<Design> {
  if (!looksLikePath(spec)) {
    const d = builtinDesign(spec);
    if (d === undefined) throw new UsageError(`--design: unknown design '${spec}' (built in: ${BUILTIN_DESIGNS.map((x) => x.name).join(', ')}; or a path to a .ts/.js module)`);
    return d;
  }
  readInputFile('--design', spec);
  await registerDesignLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(spec)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`--design ${spec}: the module failed to load: ${loadFailure(err)}`);
  }
  return designFromModule(spec, mod);
}

export function loadScenario(spec: string): Scenario {
  if (!isFileSpec(spec)) {
    const s = builtinScenario(spec);
    if (s === undefined) throw new UsageError(`--scenario: unknown scenario '${spec}' (built in: ${BUILTIN_SCENARIOS.map((x) => x.name).join(', ')}; or a path to a .yaml/.json file)`);
    return s;
  }
  return scenarioFromFile(spec, readInputFile('--scenario', spec));
}

/** The cost model: the defaults, or a YAML/JSON file over them (--costs). */
export function loadCosts(path: string | undefined): CostModel {
  if (path === undefined) return costsFromFile(undefined);
  return costsFromFile(path, readInputFile('--costs', path));
}

/** The job layer's Inputs (src/job/jobs.ts), from the command line's names and paths. */
export const CLI_INPUTS: Inputs = { design: loadDesign, scenario: loadScenario, costs: loadCosts };
