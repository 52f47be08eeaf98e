/**
 * Shrinking a failing schedule: fewer preemptions first, then fewer steps, keeping the violation.
 *
 * The failing choice list is rewritten as the default non-preemptive schedule plus its departures
 * (schedule.ts: thread switches placed by the progress of the thread they preempt, and
 * non-default data values). Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
 * Failure-Inducing Input", TSE 2002: ddmin) removes departures while the violation persists and
 * the schedule gets no worse — fewer preemptions, or as many and no more steps before the violation
 * is reported — and stays within the original in both. Each remaining switch is then moved earlier
 * in the progress of the thread it preempts while that brings the report earlier. The result is 1-minimal: removing any single
 * departure loses the violation or costs a preemption or steps — unless the run budget cut the
 * search, which the result reports.
 *
 * Both measures are taken the same way before and after — steps up to the violation's report and
 * the preemptions among them, so an execution cut short by the exploration (abandoned by its strategy) and one run to its end are
 * comparable — and neither grows: a schedule with fewer preemptions whose report comes later than
 * the original's is not taken, and the result is the original schedule when nothing better was
 * found, so shrunk <= original in steps and in preemptions. It is not a global minimum (ddmin only removes and moves departures; it never
 * adds one, so a shorter schedule that needs a switch the original did not make is not found).
 *
 * Why not fast-check's shrinker: it shrinks values produced by its arbitraries, towards smaller
 * values of the arbitrary; a schedule here is not a free value — most edits of a choice list are
 * not executable, and what "smaller" means (fewer preemptions, then steps) is measured by replaying
 * the program. Re-expressing schedules as departures from a default makes every edit executable,
 * and ddmin over that list is a few dozen lines.
 *
 * Every candidate is a fresh deterministic execution (Program.build), and the shrunk schedule is
 * returned as the full choice list of its execution, so it replays (and tokenizes) exactly.
 */
import type { Choice, ExecutionResult, Scheduler, Violation, ViolationKind } from '../sim/index.ts';
import type { Program } from './program.ts';
import { replayChoices } from './replay.ts';
import { countPreemptions, scheduleOf, ScheduleScheduler, switchKey, type DataPick, type Schedule, type Switch } from './schedule.ts';

export interface ShrinkOptions {
  /** At most this many candidate executions (default 500). */
  readonly maxRuns?: number;
  /**
   * The finding's violation, as the execution reports it: a candidate's execution then ends at
   * its report (Execution.stopWhen), and only the shrunk schedule is run to its end.
   */
  readonly stopAt?: (v: Violation) => boolean;
}

export interface ScheduleSize {
  /** Steps up to the report of the violation (its step). */
  readonly steps: number;
  readonly choices: number;
  readonly preemptions: number;
  /** Departures from the default schedule (switches and non-default data values). */
  readonly departures: number;
}

export interface ShrinkResult {
  /** The shrunk execution's full choice list: replay it, or encode it as the token. */
  readonly choices: readonly Choice[];
  readonly schedule: Schedule;
  readonly result: ExecutionResult;
  readonly original: ScheduleSize;
  readonly shrunk: ScheduleSize;
  /** Candidate executions run. */
  readonly runs: number;
  /** True when the run budget stopped the search before it was 1-minimal. */
  readonly budgetCut: boolean;
}

/** What shrinking keeps: the violation an execution shows, if it shows it (its step is the steps measure). */
export type Finding = (result: ExecutionResult) => Violation | undefined;

/** The usual finding: the first violation of `kind`. */
export function reportsKind(kind: ViolationKind): Finding {
  return (result) => result.violations.find((v) => v.kind === kind);
}

type Departure = { readonly switch: Switch } | { readonly data: DataPick };

interface Candidate {
  readonly departures: readonly Departure[];
  readonly result: ExecutionResult;
  readonly preemptions: number;
  /** The step the finding was reported at. */
  readonly steps: number;
}

const DEFAULT_MAX_RUNS = 500;

export function shrink(
  program: Program,
  choices: readonly Choice[],
  finding: Finding,
  options: ShrinkOptions = {},
): ShrinkResult {
  const maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS;
  const original = candidate([], replayChoices(program, choices).result, finding);
  if (original === null) throw new Error('shrink: the schedule to shrink does not reproduce the violation');
  let runs = 0;
  let budgetCut = false;
  const attempt = (departures: readonly Departure[]): Candidate | null => {
    if (runs >= maxRuns) {
      budgetCut = true;
      return null;
    }
    runs++;
    return candidate(departures, run(departures, options.stopAt), finding);
  };
  /**
   * One execution of `departures`. A candidate is cut where it can no longer be taken: at its
   * finding's report (stopAt), or, with no report by the original's report step, there (abandoned:
   * no schedule reporting later is kept). Only the shrunk schedule runs to its end.
   */
  const run = (departures: readonly Departure[], stopAt?: (v: Violation) => boolean): ExecutionResult => {
    const schedule = new ScheduleScheduler(toSchedule(departures));
    let threadChoices = 0;
    const scheduler: Scheduler =
      stopAt === undefined
        ? schedule
        : {
            beginExecution: (index) => schedule.beginExecution(index),
            choose: (point) => (point.kind === 'thread' && ++threadChoices > original.steps + 1 ? 'abandon' : schedule.choose(point)),
          };
    scheduler.beginExecution(0);
    const exec = program.build(scheduler);
    if (stopAt !== undefined) exec.stopWhen(stopAt);
    return exec.run();
  };

  const start = scheduleOf(choices);
  const first = attempt([...start.switches.map((s) => ({ switch: s })), ...start.data.map((d) => ({ data: d }))]);
  if (first === null) throw new Error('shrink: the schedule rewritten as departures from the default does not reproduce (the program is not deterministic)');
  // The original, unless its rewrite (which runs on where the original was cut) is no worse.
  let best = withinOriginal(first, original) ? first : { ...original, departures: first.departures };
  // Fewer preemptions first, then fewer steps: a candidate is kept when it is no worse by that
  // order (and it has fewer departures, since every candidate removes or moves some), and no worse
  // than the original in either measure, so that neither is reported to grow.
  const noWorse = (c: Candidate | null): c is Candidate =>
    c !== null && withinOriginal(c, original) && (c.preemptions < best.preemptions || (c.preemptions === best.preemptions && c.steps <= best.steps));

  // ddmin over the departures: try each chunk alone, then each complement, refining the chunks.
  let granularity = 2;
  while (best.departures.length > 0 && !budgetCut) {
    const units = best.departures;
    const chunks = split(units, Math.min(granularity, units.length));
    let reduced = false;
    for (const chunk of chunks) {
      const c = attempt(chunk);
      if (noWorse(c) && chunk.length < units.length) {
        best = c;
        granularity = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      for (const chunk of chunks) {
        const c = attempt(units.filter((u) => !chunk.includes(u)));
        if (noWorse(c)) {
          best = c;
          granularity = Math.max(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (granularity >= units.length) break;
      granularity = Math.min(granularity * 2, units.length);
    }
  }

  // Then fewer steps: make each switch happen earlier in the progress of the thread it preempts.
  for (let k = 0; k < best.departures.length && !budgetCut; k++) {
    const d = best.departures[k];
    if (!('switch' in d) || d.switch.after === null) continue;
    for (let delta = highestPowerOfTwo(d.switch.steps); delta >= 1 && !budgetCut; delta >>= 1) {
      const current = (best.departures[k] as { switch: Switch }).switch;
      const steps = current.steps - delta;
      const key = switchKey(current.after, steps);
      if (steps < 0 || best.departures.some((u) => 'switch' in u && switchKey(u.switch.after, u.switch.steps) === key)) continue;
      const moved = best.departures.map((u, i) => (i === k ? { switch: { ...current, steps } } : u));
      const c = attempt(moved);
      if (noWorse(c) && c.steps < best.steps) best = c;
    }
  }

  // A candidate stopped at its finding: the shrunk schedule's whole execution, for its token.
  let whole = options.stopAt === undefined || best.result === original.result ? best.result : run(best.departures);
  if (finding(whole) === undefined) {
    // Not seen when run to its end (a guard's verdict past the report): keep the original.
    best = original;
    whole = original.result;
  }
  return {
    choices: whole.choices,
    schedule: scheduleOf(whole.choices),
    result: whole,
    original: sizeOf(original, start),
    shrunk: sizeOf(best, scheduleOf(whole.choices), whole),
    runs,
    budgetCut,
  };
}

function candidate(departures: readonly Departure[], result: ExecutionResult, finding: Finding): Candidate | null {
  const v = finding(result);
  return v === undefined ? null : { departures, result, preemptions: countPreemptions(upToStep(result.choices, v.step)), steps: v.step };
}

/**
 * The choices made up to step `step` (each step is one thread choice, data choices fall between):
 * preemptions are counted there, as steps are, so an execution stopped at its finding and one run
 * to its end measure alike.
 */
function upToStep(choices: readonly Choice[], step: number): readonly Choice[] {
  let threads = 0;
  for (let i = 0; i < choices.length; i++) {
    if (choices[i].kind === 'thread' && ++threads > step + 1) return choices.slice(0, i);
  }
  return choices;
}

function withinOriginal(c: Candidate, original: Candidate): boolean {
  return c.preemptions <= original.preemptions && c.steps <= original.steps;
}

function toSchedule(departures: readonly Departure[]): Schedule {
  const switches: Switch[] = [];
  const data: DataPick[] = [];
  for (const d of departures) {
    if ('switch' in d) switches.push(d.switch);
    else data.push(d.data);
  }
  return { switches, data };
}

/** `c`'s measures, with the choices of its whole execution (`whole`: a candidate may have been cut at its finding). */
function sizeOf(c: Candidate, schedule: Schedule, whole: ExecutionResult = c.result): ScheduleSize {
  return {
    steps: c.steps,
    choices: whole.choices.length,
    preemptions: c.preemptions,
    departures: schedule.switches.length + schedule.data.length,
  };
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  for (let p = 0; p < parts; p++) {
    const from = Math.floor((p * items.length) / parts);
    const to = Math.floor(((p + 1) * items.length) / parts);
    if (to > from) out.push(items.slice(from, to));
  }
  return out;
}

function highestPowerOfTwo(n: number): number {
  if (n < 1) return 0;
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
