/**
 * A schedule as a person reads it: the default non-preemptive order plus the places it departs
 * from it. The default keeps running the thread that ran last while it can, otherwise runs the
 * runnable thread with the lowest id (the first option: the execution lists runnable threads in id
 * order); a data choice takes option 0. A Schedule lists the departures: thread picks and data
 * values that differ. It is what shrinking edits (shrink.ts), and its rendering is the readable
 * form printed beside a token (docs/architecture.md, Reports).
 *
 * A departure is placed by the progress of the thread that ran last ("when cpu0:vmalloc has taken
 * 12 steps, run dev0:dma"), not by a global step number, so removing one departure leaves the
 * others where they meant to be: that is what lets delta debugging shrink a schedule.
 */
import type { Choice, ChoicePoint, Scheduler } from '../sim/index.ts';

/** When `after` (null: nothing yet) has taken `steps` steps and the default would run another, run `thread`. */
export interface Switch {
  readonly after: string | null;
  readonly steps: number;
  readonly thread: string;
}

/** The `nth` data choice made while `thread` takes its step number `steps` (1-based) answers `value`. */
export interface DataPick {
  readonly thread: string | null;
  readonly steps: number;
  readonly nth: number;
  readonly value: number;
}

export interface Schedule {
  readonly switches: readonly Switch[];
  readonly data: readonly DataPick[];
}

/** The default pick among `options` after `last` ran: keep running it if it can, else the first. */
export function defaultPick(options: readonly string[], last: string | null): number {
  const stay = last === null ? -1 : options.indexOf(last);
  return stay < 0 ? 0 : stay;
}

export function switchKey(after: string | null, steps: number): string {
  return `${after ?? ''}\u0000${steps}`;
}

function dataKey(thread: string | null, steps: number, nth: number): string {
  return `${thread ?? ''}\u0000${steps}\u0000${nth}`;
}

/** Follows the progress of the threads through a choice sequence (the keys of schedule.ts). */
class Progress {
  last: string | null = null;
  nth = 0;
  private readonly steps = new Map<string, number>();

  stepsOf(thread: string | null): number {
    return thread === null ? 0 : (this.steps.get(thread) ?? 0);
  }

  ran(thread: string): void {
    this.last = thread;
    this.steps.set(thread, this.stepsOf(thread) + 1);
    this.nth = 0;
  }
}

/** The Schedule that reproduces `choices` exactly. */
export function scheduleOf(choices: readonly Choice[]): Schedule {
  const switches: Switch[] = [];
  const data: DataPick[] = [];
  const progress = new Progress();
  for (const c of choices) {
    if (c.kind === 'thread') {
      if (c.chosen !== defaultPick(c.options, progress.last)) {
        switches.push({ after: progress.last, steps: progress.stepsOf(progress.last), thread: c.options[c.chosen] });
      }
      progress.ran(c.options[c.chosen]);
    } else {
      if (c.chosen !== 0) data.push({ thread: progress.last, steps: progress.stepsOf(progress.last), nth: progress.nth, value: c.chosen });
      progress.nth++;
    }
  }
  return { switches, data };
}

/**
 * Follows a Schedule: the default order, except where a switch names a runnable thread or a data
 * pick a valid value. A departure that no longer applies (its thread is not runnable there, or the
 * moment never comes) is ignored.
 */
export class ScheduleScheduler implements Scheduler {
  private readonly switches: ReadonlyMap<string, string>;
  private readonly data: ReadonlyMap<string, number>;
  private progress = new Progress();

  constructor(schedule: Schedule) {
    this.switches = new Map(schedule.switches.map((s) => [switchKey(s.after, s.steps), s.thread]));
    this.data = new Map(schedule.data.map((d) => [dataKey(d.thread, d.steps, d.nth), d.value]));
  }

  beginExecution(index: number): boolean {
    this.progress = new Progress();
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    const p = this.progress;
    if (point.kind === 'data') {
      const value = this.data.get(dataKey(p.last, p.stepsOf(p.last), p.nth++));
      return value !== undefined && value < point.options.length ? value : 0;
    }
    const want = this.switches.get(switchKey(p.last, p.stepsOf(p.last)));
    const forced = want === undefined ? -1 : point.options.indexOf(want);
    const pick = forced >= 0 ? forced : defaultPick(point.options, p.last);
    p.ran(point.options[pick]);
    return pick;
  }
}

/** Thread picks that switch away from the thread that ran last while it was still runnable. */
export function countPreemptions(choices: readonly Choice[]): number {
  let last: string | null = null;
  let preemptions = 0;
  for (const c of choices) {
    if (c.kind !== 'thread') continue;
    const name = c.options[c.chosen];
    if (last !== null && name !== last && c.options.includes(last)) preemptions++;
    last = name;
  }
  return preemptions;
}

/**
 * The schedule as runs of one thread, one line each: `cpu0:vmalloc x12`, then
 * `dev0:dma x3 (preempts cpu0:vmalloc)`; data choices that took a non-default value get a line of
 * their own: `alloc_pages GFP_ATOMIC = fail`.
 */
export function renderSchedule(choices: readonly Choice[]): string[] {
  const lines: string[] = [];
  let last: string | null = null;
  let run = 0;
  let note = '';
  const flush = (): void => {
    if (last !== null && run > 0) lines.push(`${last} x${run}${note}`);
  };
  for (const c of choices) {
    if (c.kind === 'data') {
      if (c.chosen === 0) continue;
      flush();
      run = 0;
      note = '';
      lines.push(`${c.reason} = ${c.options[c.chosen]}`);
      continue;
    }
    const name = c.options[c.chosen];
    if (name === last) {
      run++;
      continue;
    }
    flush();
    note = last !== null && c.options.includes(last) ? ` (preempts ${last})` : '';
    last = name;
    run = 1;
  }
  flush();
  return lines;
}
