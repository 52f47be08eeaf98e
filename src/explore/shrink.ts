/**
 * Shrinking a failing schedule: fewer preemptions first, then fewer steps, keeping the violation.
 *
 * The failing choice list is rewritten as the default non-preemptive schedule plus its departures
 * (schedule.ts: thread switches placed by the progress of the thread they preempt, and
 * non-default data values). Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
 * Failure-Inducing Input", TSE 2002: ddmin) removes departures while the violation persists and
 * the schedule gets no worse — fewer preemptions, or as many and no more steps. Each remaining
 * switch is then moved earlier in the progress of the thread it preempts while that shortens the
 * execution to the violation. The result is 1-minimal: removing any single departure loses the
 * violation or costs a preemption or steps — unless the run budget cut the search, which the
 * result reports. It is not a global minimum (ddmin only removes and moves departures; it never
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
import type { Choice, ExecutionResult, ViolationKind } from '../sim/index.ts';
import type { Program } from './program.ts';
import { replayChoices } from './replay.ts';
import { countPreemptions, scheduleOf, ScheduleScheduler, switchKey, type DataPick, type Schedule, type Switch } from './schedule.ts';

export interface ShrinkOptions {
  /** At most this many candidate executions (default 500). */
  readonly maxRuns?: number;
}

export interface ScheduleSize {
  /** Steps the execution ran until it stopped (at the violation when checking). */
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

/** The usual predicate: the execution reports a violation of `kind`. */
export function reportsKind(kind: ViolationKind): (result: ExecutionResult) => boolean {
  return (result) => result.violations.some((v) => v.kind === kind);
}

type Departure = { readonly switch: Switch } | { readonly data: DataPick };

interface Candidate {
  readonly departures: readonly Departure[];
  readonly result: ExecutionResult;
}

const DEFAULT_MAX_RUNS = 500;

export function shrink(
  program: Program,
  choices: readonly Choice[],
  reproduces: (result: ExecutionResult) => boolean,
  options: ShrinkOptions = {},
): ShrinkResult {
  const maxRuns = options.maxRuns ?? DEFAULT_MAX_RUNS;
  const original = replayChoices(program, choices).result;
  if (!reproduces(original)) throw new Error('shrink: the schedule to shrink does not reproduce the violation');
  let runs = 0;
  let budgetCut = false;
  const attempt = (departures: readonly Departure[]): Candidate | null => {
    if (runs >= maxRuns) {
      budgetCut = true;
      return null;
    }
    runs++;
    const scheduler = new ScheduleScheduler(toSchedule(departures));
    scheduler.beginExecution(0);
    const result = program.build(scheduler).run();
    return reproduces(result) ? { departures, result } : null;
  };

  const start = scheduleOf(choices);
  const first = attempt([...start.switches.map((s) => ({ switch: s })), ...start.data.map((d) => ({ data: d }))]);
  if (first === null) throw new Error('shrink: the schedule rewritten as departures from the default does not reproduce (the program is not deterministic)');
  let best = first;
  // Fewer preemptions first, then fewer steps: a candidate is kept when it is no worse by that
  // order (and it has fewer departures, since every candidate removes or moves some).
  const noWorse = (c: Candidate | null): c is Candidate => {
    if (c === null) return false;
    const p = countPreemptions(c.result.choices);
    const q = countPreemptions(best.result.choices);
    return p < q || (p === q && c.result.steps <= best.result.steps);
  };

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
      if (noWorse(c) && c.result.steps < best.result.steps) best = c;
    }
  }

  const final = best.result;
  return {
    choices: final.choices,
    schedule: scheduleOf(final.choices),
    result: final,
    original: sizeOf(original, start),
    shrunk: sizeOf(final, scheduleOf(final.choices)),
    runs,
    budgetCut,
  };
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

function sizeOf(result: ExecutionResult, schedule: Schedule): ScheduleSize {
  return {
    steps: result.steps,
    choices: result.choices.length,
    preemptions: countPreemptions(result.choices),
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
