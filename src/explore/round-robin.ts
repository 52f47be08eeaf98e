/**
 * Round robin: each thread choice picks the runnable thread that follows the last one chosen (by
 * thread id, wrapping); every data choice takes its first option (no fault injected, no
 * speculation). One execution; useful as the plain, readable schedule of a demo.
 */
import type { ChoicePoint, Scheduler } from '../sim/index.ts';

export class RoundRobinScheduler implements Scheduler {
  private last = -1;

  beginExecution(index: number): boolean {
    this.last = -1;
    return index === 0;
  }

  choose(point: ChoicePoint): number {
    if (point.kind !== 'thread' || point.threadIds === undefined) return 0;
    const ids = point.threadIds;
    let pick = 0;
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] > this.last) {
        pick = i;
        break;
      }
    }
    this.last = ids[pick];
    return pick;
  }
}
