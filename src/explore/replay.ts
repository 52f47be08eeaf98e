/**
 * Replay: answers each choice from a recorded list, and checks at every step that the model offers
 * what was recorded. A mismatch stops the replay loudly with the step and both sides (docs/architecture.md,
 * Replay); a replay is never silently "close enough".
 *
 * Two forms: the full choice list of an execution (kind, reason, options, chosen: every step is
 * compared), and a decoded token (token.ts), which keeps only the departures from the default
 * schedule — each is checked for its option count as it is replayed, and the whole schedule
 * against the token's counts and schedule hash at the end (`replayToken` does both).
 */
import type { Choice, ChoicePoint, Execution, ExecutionResult, Scheduler, Violation } from '../sim/index.ts';
import type { Program } from './program.ts';
import { defaultPick } from './schedule.ts';
import { decodeToken, scheduleHash, type DecodedToken } from './token.ts';

export class ReplayDivergence extends Error {
  override readonly name = 'ReplayDivergence';
}

function offered(point: ChoicePoint): string {
  return `${point.kind} ${point.reason} among [${point.options.join(',')}]`;
}

export class ReplayScheduler implements Scheduler {
  constructor(private readonly recorded: readonly Choice[]) {}

  beginExecution(index: number): boolean {
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    const want = this.recorded[point.index];
    if (want === undefined) {
      throw new ReplayDivergence(`replay diverged at step ${point.index}: recorded schedule ended, model offers ${offered(point)}`);
    }
    const same =
      want.kind === point.kind &&
      want.reason === point.reason &&
      want.options.length === point.options.length &&
      want.options.every((o, i) => o === point.options[i]);
    if (!same) {
      throw new ReplayDivergence(
        `replay diverged at step ${point.index}: recorded ${want.kind} ${want.reason} among [${want.options.join(',')}], model offers ${offered(point)}`,
      );
    }
    return want.chosen;
  }
}

/**
 * Replays a decoded token: forced choices take their only option, multi-option choices the default
 * pick (schedule.ts) except at the recorded departures, whose option count is checked.
 */
export class TokenReplayScheduler implements Scheduler {
  private multi = 0;
  private next = 0;
  private last: string | null = null;

  constructor(private readonly token: DecodedToken) {}

  beginExecution(index: number): boolean {
    this.multi = 0;
    this.next = 0;
    this.last = null;
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    if (point.index >= this.token.total) {
      throw new ReplayDivergence(`replay diverged at step ${point.index}: recorded schedule ended, model offers ${offered(point)}`);
    }
    let pick = 0;
    if (point.options.length > 1) {
      const rank = this.multi++;
      const departure = this.token.departures[this.next];
      if (rank >= this.token.multi) {
        throw new ReplayDivergence(
          `replay diverged at step ${point.index}: recorded ${this.token.multi} choices with several options, model offers one more: ${offered(point)}`,
        );
      }
      if (departure !== undefined && departure.at === rank) {
        this.next++;
        if (departure.options !== point.options.length) {
          throw new ReplayDivergence(`replay diverged at step ${point.index}: recorded a choice among ${departure.options} options, model offers ${offered(point)}`);
        }
        pick = departure.chosen;
      } else if (point.kind === 'thread') {
        pick = defaultPick(point.options, this.last);
      }
    }
    if (point.kind === 'thread') this.last = point.options[pick];
    return pick;
  }

  /** Throws unless the execution made exactly the recorded choices (counts and schedule hash). */
  checkEnd(result: ExecutionResult): void {
    const n = result.choices.length;
    if (n !== this.token.total || this.multi !== this.token.multi || this.next !== this.token.departures.length) {
      throw new ReplayDivergence(`replay diverged: the execution ended (${result.status}) after ${n} choices, the token recorded ${this.token.total}`);
    }
    if (scheduleHash(result.choices) !== this.token.scheduleHash) {
      throw new ReplayDivergence('replay diverged: the model offered other threads or values than when the token was recorded (schedule hash differs)');
    }
  }
}

/** A replayed execution: the world (for its trace) and how it ended. */
export interface Replayed {
  readonly exec: Execution;
  readonly result: ExecutionResult;
}

/** Decodes `token` for `program`, runs it once and checks that it replayed exactly. */
export function replayToken(program: Program, token: string): Replayed {
  const scheduler = new TokenReplayScheduler(decodeToken(token, program.identity));
  scheduler.beginExecution(0);
  const exec = program.build(scheduler);
  const result = exec.run();
  scheduler.checkEnd(result);
  return { exec, result };
}

/** Runs `program` once along the full choice list `choices` (every step compared); with `stopAt`, up to that violation. */
export function replayChoices(program: Program, choices: readonly Choice[], stopAt?: (v: Violation) => boolean): Replayed {
  const scheduler = new ReplayScheduler(choices);
  scheduler.beginExecution(0);
  const exec = program.build(scheduler);
  if (stopAt !== undefined) exec.stopWhen(stopAt);
  const result = exec.run();
  // Ended at `stopAt`'s violation, the replay is a prefix of the schedule (every choice was compared).
  const prefix = stopAt !== undefined && result.status === 'violation' && result.choices.length <= choices.length;
  if (!prefix && result.choices.length !== choices.length) {
    throw new ReplayDivergence(
      `replay diverged: the execution ended (${result.status}) after ${result.choices.length} choices, the schedule recorded ${choices.length}`,
    );
  }
  return { exec, result };
}
