/** Trace text for terminals: long runs of one thread's events of one kind shown as first, count, last. */
import { formatEvent, type TraceEvent } from '../sim/index.ts';

const RUN_SHOWN = 3;

export function collapseRuns(events: readonly TraceEvent[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i < events.length; ) {
    let j = i + 1;
    while (j < events.length && events[j].thread === events[i].thread && events[j].cat === events[i].cat) j++;
    if (j - i > RUN_SHOWN) {
      lines.push(formatEvent(events[i]), `        ... ${j - i - 2} more ${events[i].cat} events of ${events[i].thread} ...`, formatEvent(events[j - 1]));
    } else {
      for (let m = i; m < j; m++) lines.push(formatEvent(events[m]));
    }
    i = j;
  }
  return lines;
}
