/** Fixtures for the workload tests: built-in designs and scenarios of a workload with parameters. */
import { builtinDesign, type Design } from '../../../src/designs/index.ts';
import { scenarioFrom, type Scenario } from '../../../src/scenario/scenario.ts';

export function design(name: string): Design {
  const d = builtinDesign(name);
  if (d === undefined) throw new Error(`no design ${name}`);
  return d;
}

export function scenario(workload: string, params: Record<string, unknown> = {}): Scenario {
  return scenarioFrom({ name: workload, workload, params }, `test ${workload}`);
}

export const kinds = (vs: readonly { kind: string }[]): string[] => [...new Set(vs.map((v) => v.kind))].sort();
