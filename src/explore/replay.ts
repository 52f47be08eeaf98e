/**
 * Replay: answers each choice from a recorded list, and checks at every step that the model offers
 * what was recorded (kind, reason, options). A mismatch stops the replay loudly with the step and
 * both sides (STYLE.md §4); a replay is never silently "close enough".
 */
import type { Choice, ChoicePoint, Scheduler } from '../sim/index.ts';

export class ReplayDivergence extends Error {
  override readonly name = 'ReplayDivergence';
}

export class ReplayScheduler implements Scheduler {
  constructor(private readonly recorded: readonly Choice[]) {}

  beginExecution(index: number): boolean {
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    const want = this.recorded[point.index];
    const offered = `${point.kind} ${point.reason} among [${point.options.join(',')}]`;
    if (want === undefined) {
      throw new ReplayDivergence(`replay diverged at step ${point.index}: recorded schedule ended, model offers ${offered}`);
    }
    const same =
      want.kind === point.kind &&
      want.reason === point.reason &&
      want.options.length === point.options.length &&
      want.options.every((o, i) => o === point.options[i]);
    if (!same) {
      throw new ReplayDivergence(
        `replay diverged at step ${point.index}: recorded ${want.kind} ${want.reason} among [${want.options.join(',')}], model offers ${offered}`,
      );
    }
    return want.chosen;
  }
}
