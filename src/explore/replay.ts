/**
 * Replay: answers each choice from a recorded list, and checks at every step that the model offers
 * what was recorded. A mismatch stops the replay loudly with the step and both sides (STYLE.md
 * §4); a replay is never silently "close enough".
 *
 * Two forms: the full choice list of an execution (kind, reason, options, chosen: every step is
 * compared), and a decoded token (token.ts), which keeps only the choices that had more than one
 * option — each is checked for its option count as it is replayed, and the whole schedule against
 * the token's schedule hash at the end (`replayToken` does both).
 */
import type { Choice, ChoicePoint, Execution, ExecutionResult, Scheduler } from '../sim/index.ts';
import type { Program } from './program.ts';
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

/** Replays a decoded token: forced choices take option 0, stored ones are checked for their option count. */
export class TokenReplayScheduler implements Scheduler {
  private next = 0;

  constructor(private readonly token: DecodedToken) {}

  beginExecution(index: number): boolean {
    this.next = 0;
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    if (point.index >= this.token.total) {
      throw new ReplayDivergence(`replay diverged at step ${point.index}: recorded schedule ended, model offers ${offered(point)}`);
    }
    if (point.options.length === 1) return 0;
    const pick = this.token.picks[this.next++];
    if (pick === undefined || pick.options !== point.options.length) {
      const recorded = pick === undefined ? 'no further choice with several options' : `a choice among ${pick.options} options`;
      throw new ReplayDivergence(`replay diverged at step ${point.index}: recorded ${recorded}, model offers ${offered(point)}`);
    }
    return pick.chosen;
  }

  /** Throws unless the execution made exactly the recorded choices (count and schedule hash). */
  checkEnd(result: ExecutionResult): void {
    const n = result.choices.length;
    if (n !== this.token.total || this.next !== this.token.picks.length) {
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

/** Runs `program` once along the full choice list `choices` (every step compared). */
export function replayChoices(program: Program, choices: readonly Choice[]): Replayed {
  const scheduler = new ReplayScheduler(choices);
  scheduler.beginExecution(0);
  const exec = program.build(scheduler);
  const result = exec.run();
  if (result.choices.length !== choices.length) {
    throw new ReplayDivergence(
      `replay diverged: the execution ended (${result.status}) after ${result.choices.length} choices, the schedule recorded ${choices.length}`,
    );
  }
  return { exec, result };
}
