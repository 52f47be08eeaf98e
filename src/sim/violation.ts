/**
 * The fixed vocabulary of what the modelled kernel must never do (DESIGN.md "Violation kinds"),
 * and the one error kind for what the *model* must never do.
 */

export const VIOLATION_KINDS = [
  'iommu-use-after-free',
  'iommu-write-after-free',
  'use-after-free',
  'bad-page',
  'leak',
  'sleep-in-atomic',
  'deadlock',
  'list-corruption',
  'accounting',
  'flags-corruption',
  'assertion',
] as const;

export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/**
 * A report in kernel terms, laid out like the kernel's own splat: a title line
 * (`BUG: Bad page state in process kworker/u:1  pfn:0x1a3`), then decoded evidence lines.
 */
export interface Violation {
  readonly kind: ViolationKind;
  readonly title: string;
  readonly details: readonly string[];
  /** The thread that did it (its kernel name) and the step number at which it was seen. */
  readonly thread: string;
  readonly step: number;
}

/** An impossible state of the simulator itself: a kptsim bug, never a finding about a design. */
export class ModelInvariantError extends Error {
  override readonly name = 'ModelInvariantError';
}
