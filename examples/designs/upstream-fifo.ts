/**
 * A variant of v6.19 written with the deferred-free parts: the enqueue helper adds at the tail, so
 * the work frees tables in the order they were queued, and queues the work only when its add found
 * the list empty (a later add finds the batch already waiting for a queued run). Try it:
 *
 *   npx kptsim check --design ./examples/designs/upstream-fifo.ts --scenario pud-huge-vmap
 */
import { upstreamSpec, variant } from 'kptsim';

export default variant(upstreamSpec, {
  name: 'upstream-fifo',
  summary: 'v6.19 with list_add_tail, queueing the work only when the list was empty',
  source: 'examples/designs/upstream-fifo.ts (a sketch, not a posted patch)',
  add: 'tail',
  schedule: 'if-empty',
});
