/** `kptsim replay`: one recorded execution, re-run with its trace. */
import type { Design } from '../designs/index.ts';
import { replayToken } from '../explore/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import type { ExecutionStatus, TraceEvent, Violation } from '../sim/index.ts';
import { programOf } from './program.ts';

export interface ReplayResult {
  readonly version: 1;
  readonly design: string;
  readonly scenario: string;
  readonly status: ExecutionStatus;
  readonly steps: number;
  readonly violations: readonly Violation[];
  readonly trace: readonly TraceEvent[];
}

export function replay(design: Design, scenario: Scenario, token: string): ReplayResult {
  const { exec, result } = replayToken(programOf(design, scenario, { trace: true }), token);
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    status: result.status,
    steps: result.steps,
    violations: result.violations,
    trace: exec.events ?? [],
  };
}
