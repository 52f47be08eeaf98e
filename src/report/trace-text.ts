/** Trace text for terminals: long runs of one thread's events of one kind shown as first, count, last. */
import { formatEvent, type TraceEvent } from '../sim/index.ts';

const RUN_SHOWN = 3;

/**
 * The events' lines, appended to `lines` (returned). A caller adding them to lines of its own passes
 * those: `lines.push(...collapseRuns(events))` overflows the stack on a long trace (each line an
 * argument).
 */
export function collapseRuns<E extends TraceEvent>(events: readonly E[], format: (e: E) => string = formatEvent, lines: string[] = []): string[] {
  for (let i = 0; i < events.length; ) {
    let j = i + 1;
    while (j < events.length && events[j].thread === events[i].thread && events[j].cat === events[i].cat) j++;
    if (j - i > RUN_SHOWN) {
      lines.push(format(events[i]), `        ... ${j - i - 2} more ${events[i].cat} events of ${events[i].thread} ...`, format(events[j - 1]));
    } else {
      for (let m = i; m < j; m++) lines.push(format(events[m]));
    }
    i = j;
  }
  return lines;
}
