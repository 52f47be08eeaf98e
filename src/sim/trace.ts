/** The human-readable event trace of one execution, recorded only when asked for. */

export type TraceCategory =
  | 'sched'
  | 'alloc'
  | 'pgtable'
  | 'tlb'
  | 'walker'
  | 'iotlb'
  | 'pwc'
  | 'dma'
  | 'lock'
  | 'work'
  | 'sva'
  | 'violation'
  | 'note';

export interface TraceEvent {
  readonly step: number;
  readonly thread: string;
  readonly cat: TraceCategory;
  readonly text: string;
}

export function formatEvent(e: TraceEvent): string {
  return `[${String(e.step).padStart(5)}] ${e.thread.padEnd(14)} ${e.cat.padEnd(8)} ${e.text}`;
}
