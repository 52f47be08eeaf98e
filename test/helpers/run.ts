/**
 * Test harness: run a built-in design on a built-in (or inline) scenario once under a seeded
 * random schedule (the random strategy's execution 0 of that seed), to show a design's history
 * on replayable seeds.
 */
import { builtinDesign } from '../../src/designs/index.ts';
import { RandomScheduler } from '../../src/explore/index.ts';
import { builtinScenario, scenarioFrom, type ScenarioFile } from '../../src/scenario/scenario.ts';
import { buildWorld } from '../../src/scenario/world.ts';
import type { Violation } from '../../src/sim/index.ts';

export interface SeededRun {
  readonly steps: number;
  readonly violations: readonly Violation[];
}

export function runDesign(design: string, scenario: string | ScenarioFile, seed: number): SeededRun {
  const d = builtinDesign(design);
  if (d === undefined) throw new Error(`no design ${design}`);
  const s = typeof scenario === 'string' ? builtinScenario(scenario) : scenarioFrom(scenario, 'test');
  if (s === undefined) throw new Error(`no scenario ${String(scenario)}`);
  const scheduler = new RandomScheduler(seed, 1);
  scheduler.beginExecution(0);
  const { exec } = buildWorld(s, d, scheduler, {});
  return exec.run();
}

export const kindsOf = (r: SeededRun): string[] => [...new Set(r.violations.map((v) => v.kind))];

/** The seeds in [0, n) whose run reports `kind`. */
export function seedsWith(design: string, scenario: string | ScenarioFile, kind: string, n: number): number[] {
  const hits: number[] = [];
  for (let seed = 0; seed < n; seed++) if (kindsOf(runDesign(design, scenario, seed)).includes(kind)) hits.push(seed);
  return hits;
}
