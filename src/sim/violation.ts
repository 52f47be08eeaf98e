/**
 * The fixed vocabulary of what the modelled kernel must never do (docs/architecture.md, Violation kinds),
 * and the one error kind for what the *model* must never do.
 */

export const VIOLATION_KINDS = [
  'iommu-uncovered-free',
  'iommu-use-after-free',
  'iommu-write-after-free',
  'use-after-free',
  'bad-page',
  'leak',
  'sleep-in-atomic',
  'deadlock',
  'list-corruption',
  'data-race',
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
  /**
   * Where the bug is, for telling findings apart (kind + site): the freeing path and the table level
   * for the page-table oracles. Two reports of one kind at one site are one bug, whatever page they
   * name; without a site, the title is the site.
   */
  readonly site?: string;
  /** The frame the report is about, when it is about one: findings count and range them. */
  readonly pfn?: number;
}

/** What a report may add beyond kind, title and details (Execution.report). */
export interface ReportWhere {
  readonly site?: string;
  readonly pfn?: number;
  /**
   * The kernel would not go on after this one (a BUG(): the task dies mid-operation), so neither does
   * the execution. Reports of the kinds in FATAL_KINDS are always fatal.
   */
  readonly fatal?: boolean;
}

/**
 * Kinds after which the model is no longer the kernel it models, so an execution stops there: a
 * deadlock (nothing can run), an assertion (an oops killed a thread mid-operation, or a WARN that
 * means the model's own rules broke), a list corruption (an oops while iterating, or a skipped
 * list operation that leaves the list in no state the code expects). After any other kind the
 * modelled kernel goes on exactly as Linux does after a KASAN or bad-page report without
 * panic_on_warn, and so does the execution: one bug does not hide the next.
 */
export const FATAL_KINDS: ReadonlySet<ViolationKind> = new Set<ViolationKind>(['deadlock', 'assertion', 'list-corruption']);

/** The identity of a finding: its kind and site (the title when it names no site). */
export function findingKey(v: Pick<Violation, 'kind' | 'title' | 'site'>): string {
  return `${v.kind}\u0000${v.site ?? v.title}`;
}

/**
 * The modelled kernel oopses (what Linux prints before killing the task: "BUG: unable to handle page
 * fault for address: …"): thrown by model code where the kernel would fault, reported by the
 * execution as an `assertion` in the running thread, which dies there — a finding about the design
 * that led the kernel there, never a kptsim bug.
 */
export class KernelOops extends Error {
  override readonly name = 'KernelOops';

  constructor(
    readonly title: string,
    readonly details: readonly string[],
  ) {
    super(title);
  }
}

/** An impossible state of the simulator itself: a kptsim bug, never a finding about a design. */
export class ModelInvariantError extends Error {
  override readonly name = 'ModelInvariantError';
}
