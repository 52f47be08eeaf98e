/**
 * `kptsim check`: explore a design on a scenario with a strategy, shrink every violation found to a
 * short schedule, and return the record that `--json` prints (DESIGN.md "CLI"):
 * `{design, scenario, strategy, executions, complete, violations: [{kind, message, replay, steps}],
 * elapsedMs}` — plus, per violation, the kernel-terms report, the shrinking figures and a readable
 * schedule. Pure: the clock and the progress sink are injected.
 */
import type { Design } from '../designs/index.ts';
import {
  STRATEGIES,
  countPreemptions,
  encodeToken,
  explore,
  renderSchedule,
  reportsKind,
  shrink,
  type ExplorationProgress,
  type StopReason,
  type StrategyName,
} from '../explore/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import type { ViolationKind } from '../sim/index.ts';
import { programOf } from './program.ts';

export interface CheckOptions {
  readonly strategy: StrategyName;
  readonly seed: number;
  /** At most this many executions. */
  readonly budget?: number;
  readonly timeMs?: number;
  readonly pctDepth?: number;
  readonly preemptionBound?: number;
  readonly maxSteps?: number;
  /** Candidate executions the shrinker may run per violation (0: do not shrink). */
  readonly shrinkRuns?: number;
  readonly now?: () => number;
  readonly onProgress?: (p: ExplorationProgress) => void;
}

export interface CheckViolation {
  readonly kind: ViolationKind;
  /** The report's title line, in kernel terms. */
  readonly message: string;
  readonly details: readonly string[];
  readonly thread: string;
  /** `kptsim replay <replay>` reproduces the (shrunk) execution and this report. */
  readonly replay: string;
  /** Steps of the replayed (shrunk) execution, and of the execution that first found it. */
  readonly steps: number;
  readonly originalSteps: number;
  readonly preemptions: number;
  readonly originalPreemptions: number;
  /** Executions that showed this violation. */
  readonly occurrences: number;
  /** The shrunk schedule, one run of one thread per line. */
  readonly schedule: readonly string[];
}

export interface CheckResult {
  readonly version: 1;
  readonly design: string;
  readonly scenario: string;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly executions: number;
  readonly complete: boolean;
  readonly stoppedBy: StopReason;
  readonly violations: readonly CheckViolation[];
  /** Wall-clock time of the exploration (a timing, not a result). */
  readonly elapsedMs?: number;
}

/** The design and scenario as the replay token names them, so `kptsim replay` can rebuild both. */
export function replayLabel(designSpec: string, scenarioSpec: string): string {
  return JSON.stringify([designSpec, scenarioSpec]);
}

export function check(design: Design, scenario: Scenario, options: CheckOptions, label: string): CheckResult {
  const program = programOf(design, scenario, { maxSteps: options.maxSteps });
  const strategy = STRATEGIES[options.strategy]({ seed: options.seed, pctDepth: options.pctDepth, preemptionBound: options.preemptionBound });
  const result = explore(program, strategy, {
    budget: options.budget,
    timeMs: options.timeMs,
    now: options.now,
    onProgress: options.onProgress,
  });
  const violations = result.violations.map((found): CheckViolation => {
    const shrunk =
      (options.shrinkRuns ?? 200) > 0 ? shrink(program, found.choices, reportsKind(found.kind), { maxRuns: options.shrinkRuns ?? 200 }) : null;
    const choices = shrunk?.choices ?? found.choices;
    const report = shrunk?.result.violations.find((v) => v.kind === found.kind) ?? found.violation;
    return {
      kind: found.kind,
      message: report.title,
      details: report.details,
      thread: report.thread,
      replay: encodeToken(program.identity, choices, label),
      steps: shrunk?.shrunk.steps ?? found.steps,
      originalSteps: found.steps,
      preemptions: countPreemptions(choices),
      originalPreemptions: countPreemptions(found.choices),
      occurrences: found.occurrences,
      schedule: renderSchedule(choices),
    };
  });
  return {
    version: 1,
    design: design.name,
    scenario: scenario.name,
    strategy: options.strategy,
    seed: options.seed,
    executions: result.executions,
    complete: result.complete,
    stoppedBy: result.stoppedBy,
    violations,
    elapsedMs: result.elapsedMs,
  };
}
