/** Test harness: run a built-in design on a built-in (or inline) scenario under one seed. */
import { builtinDesign } from '../../src/designs/index.ts';
import { run, type RunResult } from '../../src/measure/run.ts';
import { builtinScenario, scenarioFrom, type ScenarioFile } from '../../src/scenario/scenario.ts';

export function runDesign(design: string, scenario: string | ScenarioFile, seed: number): RunResult {
  const d = builtinDesign(design);
  if (d === undefined) throw new Error(`no design ${design}`);
  const s = typeof scenario === 'string' ? builtinScenario(scenario) : scenarioFrom(scenario, 'test');
  if (s === undefined) throw new Error(`no scenario ${String(scenario)}`);
  return run(d, s, { seed });
}

export const kindsOf = (r: RunResult): string[] => [...new Set(r.violations.map((v) => v.kind))];

/** The seeds in [0, n) whose run reports `kind`. */
export function seedsWith(design: string, scenario: string | ScenarioFile, kind: string, n: number): number[] {
  const hits: number[] = [];
  for (let seed = 0; seed < n; seed++) if (kindsOf(runDesign(design, scenario, seed)).includes(kind)) hits.push(seed);
  return hits;
}
