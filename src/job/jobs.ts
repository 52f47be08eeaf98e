/**
 * The jobs kptsim runs, as plain data: a check slice, a timed run, a compare, a replay, a study
 * cell. The CLI runs a job in its own thread, or posts it to a watched worker (src/cli/runner.ts)
 * when a design is given by path or the work is split; either way `runJob` does it. A job names its
 * designs and scenario as the user gave them (a name or a path); `Inputs` turns those into modules
 * and scenarios — reading files is the CLI's business, not this layer's.
 */
import type { Design } from '../designs/index.ts';
import { ReplayDivergence, TokenError, tokenLabel, type Slice } from '../explore/index.ts';
import type { CostModel } from '../measure/cost-model.ts';
import { compare, runRecord, timedRun, type CompareResult, type TimedRunRecord } from '../measure/timed-run.ts';
import type { Scenario } from '../scenario/scenario.ts';
import { againstBaseline, findingRef, timedSummary, type WithBaseline } from './baseline.ts';
import { check, type CheckOptions } from './check.ts';
import type { CheckResult } from './check-result.ts';
import { PROGRESS_BYTES, WatchdogGuard, stopRequested, type HangPoint } from './guard.ts';
import { LabelError, decodeLabel, replayLabel, type ReplayLabel } from './label.ts';
import { replay, type TimedReplayResult } from './replay.ts';
import { studyCell, type StudyCell, type StudyOptions } from './study.ts';

/** The check options a job carries (the rest — clock, progress, guard — belong to where it runs). */
export type CheckJobOptions = Omit<CheckOptions, 'now' | 'onProgress' | 'slice' | 'guard' | 'shouldStop' | 'checkpoint' | 'resume'>;

export type Job =
  | { readonly kind: 'check'; readonly design: string; readonly scenario: string; readonly options: CheckJobOptions; readonly slice: Slice; readonly label: string }
  | {
      readonly kind: 'run';
      readonly design: string;
      readonly scenario: string;
      readonly seed: number;
      readonly costs?: string;
      readonly maxSteps?: number;
      readonly timeline: boolean;
      readonly selfCheck?: boolean;
    }
  /** `baseline`: one of `designs`, which every other row is diffed against. */
  | { readonly kind: 'compare'; readonly designs: readonly string[]; readonly scenario: string; readonly costs?: string; readonly baseline?: string }
  | { readonly kind: 'replay'; readonly token: string; readonly timeline: boolean }
  | { readonly kind: 'study-cell'; readonly design: string; readonly scenario: string; readonly options: StudyOptions };

/** A comparison; with a baseline, each other row says what it adds, removes and keeps against the baseline's. */
export type CompareReport = Omit<CompareResult, 'rows'> & { readonly rows: readonly WithBaseline<TimedRunRecord>[] };

/** What each kind of job returns (plain data: it crosses a worker boundary). */
export interface JobResults {
  readonly check: CheckResult;
  readonly run: TimedRunRecord;
  readonly compare: CompareReport;
  readonly replay: TimedReplayResult;
  readonly 'study-cell': StudyCell;
}

export type JobResult<J extends Job> = JobResults[J['kind']];

/** Turns the names a job carries into what it runs; failures are the caller's bad-input errors. */
export interface Inputs {
  design(spec: string): Promise<Design>;
  scenario(spec: string): Scenario;
  costs(file: string | undefined): CostModel;
}

/** Where a job runs watched: its progress words, the hang points to cut, and the limit as printed. */
export interface Watch {
  readonly progress: Int32Array;
  readonly hangs: readonly HangPoint[];
  readonly limit: string;
}

/** Bad input found while running a job (a token that does not replay): exit 2, never a kptsim bug. */
export class JobInputError extends Error {
  override readonly name = 'JobInputError';
}

export async function runJob<J extends Job>(job: J, inputs: Inputs, watch?: Watch): Promise<JobResult<J>> {
  return (await run(job, inputs, watch)) as JobResult<J>;
}

async function run(job: Job, inputs: Inputs, watch: Watch | undefined): Promise<JobResults[Job['kind']]> {
  const guard = watch === undefined ? undefined : new WatchdogGuard(watch.progress, watch.hangs, watch.limit);
  switch (job.kind) {
    case 'check':
      return check(
        await inputs.design(job.design),
        inputs.scenario(job.scenario),
        { ...job.options, slice: job.slice, now: () => performance.now(), guard, shouldStop: watch === undefined ? undefined : stopRequested(watch.progress) },
        job.label,
      );
    case 'run':
      return runRecord(
        timedRun(await inputs.design(job.design), inputs.scenario(job.scenario), {
          seed: job.seed,
          costs: inputs.costs(job.costs),
          maxSteps: job.maxSteps,
          trace: true,
          timeline: job.timeline,
          selfCheck: job.selfCheck,
          guard,
        }),
      );
    case 'compare': {
      const designs: Design[] = [];
      for (const name of job.designs) designs.push(await inputs.design(name));
      const result = compare(designs, inputs.scenario(job.scenario), inputs.costs(job.costs), guard);
      if (job.baseline === undefined) return result;
      const findings = (r: TimedRunRecord) => r.violations.map(findingRef);
      return { ...result, rows: againstBaseline(result.rows, job.designs.indexOf(job.baseline), findings, (r) => timedSummary(r.violations)) };
    }
    case 'replay':
      return replayJob(job.token, job.timeline, inputs, watch);
    case 'study-cell':
      return studyCell(await inputs.design(job.design), inputs.scenario(job.scenario), job.options, replayLabel(job.design, job.scenario), guard);
  }
}

/** The label a replay token carries, or bad input. */
export function tokenReplayLabel(token: string): ReplayLabel {
  try {
    return decodeLabel(tokenLabel(token));
  } catch (err) {
    if (err instanceof TokenError || err instanceof LabelError) throw new JobInputError(`replay: ${err.message}`);
    throw err;
  }
}

/**
 * One token replayed. A token recorded where a hook never returned stops at that choice again, with
 * the same report: its cut is a hang point of the replay's only build.
 */
async function replayJob(token: string, timeline: boolean, inputs: Inputs, watch: Watch | undefined): Promise<TimedReplayResult> {
  const label = tokenReplayLabel(token);
  const recorded: HangPoint[] = label.hang === undefined ? [] : [{ build: 0, choice: label.hang.choice, ...(label.hang.exitCode === undefined ? {} : { exitCode: label.hang.exitCode }) }];
  const hangs = [...recorded, ...(watch?.hangs ?? [])];
  const guard =
    watch === undefined && hangs.length === 0
      ? undefined
      : new WatchdogGuard(watch?.progress ?? new Int32Array(PROGRESS_BYTES / 4), hangs, label.hang?.limit ?? watch?.limit ?? '');
  try {
    const design = await needed('design', label.design, () => inputs.design(label.design));
    const scenario = await needed('scenario', label.scenario, () => inputs.scenario(label.scenario));
    return replay(design, scenario, token, { maxSteps: label.maxSteps, guard, timeline });
  } catch (err) {
    if (err instanceof TokenError || err instanceof ReplayDivergence) throw new JobInputError(`replay: ${err.message}`);
    throw err;
  }
}

/**
 * The design or scenario a token's label names, loaded. When that fails (a file gone, moved or no
 * longer valid) the error says what the token needs, as recorded — a file by its absolute path
 * (src/cli/check.ts) — and keeps its class: bad input stays bad input (exit 2).
 */
async function needed<T>(what: 'design' | 'scenario', spec: string, load: () => T | Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof Error) err.message = `replay: the token needs the ${what} ${spec}: ${err.message}`;
    throw err;
  }
}

/** The design a job's n-th build ran (compare: build i is design i), for an error about it. */
export function designOfBuild(job: Job, build: number): string {
  switch (job.kind) {
    case 'compare':
      return job.designs[build] ?? job.designs.join(',');
    case 'replay':
      return tokenReplayLabel(job.token).design;
    default:
      return job.design;
  }
}

/** The design specs a job names (the runner contains the job when one is a path). */
export function designsOf(job: Job): readonly string[] {
  return job.kind === 'compare' ? job.designs : [designOfBuild(job, 0)];
}
