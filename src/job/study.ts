/**
 * The study (`kptsim` with no command, `npm start`): every design on each study scenario, checked
 * (a bounded PCT exploration: a verdict) and measured (one timed run: the metrics), side by side.
 * Pure: the CLI decides which pairs run where (worker threads) and renders the record; the cells
 * of a scenario are in the designs' order whatever ran them.
 */
import type { Design } from '../designs/index.ts';
import type { Scenario } from '../scenario/scenario.ts';
import type { ExecutionGuard } from '../explore/index.ts';
import { check } from './check.ts';
import type { CheckResult } from './check-result.ts';
import { runRecord, timedRun, type TimedRunRecord } from '../measure/timed-run.ts';
import { cellVerdict } from './verdict.ts';
import type { Verdict } from './check-result.ts';
import { againstBaseline, findingRef, type BaselineDiff, type FindingRef } from './baseline.ts';

export interface StudyOptions {
  /** At most this many PCT executions per (design, scenario). */
  readonly budget: number;
  /**
   * Simulated steps the checker may spend per pair: a pair whose timed run takes S steps gets
   * floor(stepBudget / S) executions, at least MIN_EXECUTIONS and at most `budget`. Long
   * workloads (vmalloc-churn, tens of thousands of steps) would otherwise take all the time, and
   * counting steps rather than seconds keeps the study deterministic.
   */
  readonly stepBudget: number;
  readonly seed: number;
}

const MIN_EXECUTIONS = 3;

/** One design on one scenario. */
export interface StudyCell {
  readonly design: string;
  readonly scenario: string;
  /** The verdict: a PCT exploration; violations shrunk, each with its replay token. */
  readonly check: CheckResult;
  /** One timed run with the cost model's figures (seed 0), its violations grouped into findings. */
  readonly metrics: TimedRunRecord;
  /** The pair's verdict: the check's, made a bug by anything the timed run found too. */
  readonly verdict: Verdict;
  /**
   * With --baseline, on every cell but the baseline's: the findings of this cell (the check's and the
   * timed run's) against those of the baseline's cell on the same scenario.
   */
  readonly baseline?: BaselineDiff;
}

export interface StudyResult {
  readonly version: 1;
  readonly options: StudyOptions;
  readonly designs: readonly { readonly name: string; readonly summary: string; readonly source: string }[];
  readonly scenarios: readonly { readonly name: string; readonly summary: string }[];
  /** By scenario (in the order given), then by design (in the order given). */
  readonly cells: readonly (readonly StudyCell[])[];
  /** The design every other design is diffed against (--baseline), one of `designs`. */
  readonly baseline?: string;
}

/**
 * The pair's cell: its timed run, then its check (`label`: the design and scenario as the user named
 * them, replayLabel; `guard` sees both, the timed run as build 0). Shrinking is cut short, and each hazard's witness
 * search gets as many executions as the check: the study shows verdicts.
 */
export function studyCell(design: Design, scenario: Scenario, options: StudyOptions, label: string, guard?: ExecutionGuard): StudyCell {
  const metrics = runRecord(timedRun(design, scenario, { guard }));
  const budget = Math.min(options.budget, Math.max(MIN_EXECUTIONS, Math.floor(options.stepBudget / Math.max(1, metrics.steps))));
  const checked = check(design, scenario, { strategy: 'pct', seed: options.seed, budget, shrinkRuns: STUDY_SHRINK_RUNS, witnessRuns: budget, guard }, label);
  const { elapsedMs: _timing, ...result } = checked;
  return { design: design.name, scenario: scenario.name, check: result, metrics, verdict: cellVerdict(result, metrics.violations) };
}

const STUDY_SHRINK_RUNS = 20;

/** A cell's findings, the checker's and the timed run's, as a baseline diff names them. */
function cellFindings(c: StudyCell): FindingRef[] {
  return [...c.check.violations.map(findingRef), ...c.metrics.violations.map(findingRef)];
}

/** The study's record; `baseline`, an index into `designs`, diffs every other design's cells against that design's. */
export function assembleStudy(
  designs: readonly Design[],
  scenarios: readonly { readonly name: string; readonly summary: string }[],
  options: StudyOptions,
  cells: readonly StudyCell[],
  baseline?: number,
): StudyResult {
  const byKey = new Map(cells.map((c) => [`${c.scenario}\u0000${c.design}`, c]));
  const rows = scenarios.map((s) =>
    designs.map((d) => {
      const cell = byKey.get(`${s.name}\u0000${d.name}`);
      if (cell === undefined) throw new TypeError(`study: no result for ${d.name} on ${s.name}`);
      return cell;
    }),
  );
  return {
    version: 1,
    options,
    designs: designs.map((d) => ({ name: d.name, summary: d.summary, source: d.source })),
    scenarios,
    cells: baseline === undefined ? rows : rows.map((row) => againstBaseline(row, baseline, cellFindings, (c) => c.verdict.summary)),
    ...(baseline === undefined ? {} : { baseline: designs[baseline].name }),
  };
}
