/**
 * What a check may promise a reviewer, in one of three words (docs/verdicts.md):
 *  - bug: violations were found, each with a replay token (a hazard with its witness, when found);
 *  - proved: an exhaustive strategy covered the whole configuration — and only the nondeterminism
 *    the model has (which is said: the thread interleavings, the preemption model, the injected
 *    failures and how many per execution, the other data choices), at the model's granularity
 *    (which is said too);
 *  - not found in N executions: with what N guarantees. For PCT of depth d on n threads and k
 *    steps, each execution finds any bug of depth d with probability at least 1/(n·k^(d−1))
 *    (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with Probabilistic
 *    Guarantees of Finding Bugs", ASPLOS 2010, Theorem 1), so a depth-d bug escapes N executions
 *    with probability at most (1 − p)^N. Random and bounded DFS promise nothing of the kind.
 */
import type { StrategyName } from '../explore/index.ts';
import type { CheckSpace, Verdict } from './check-result.ts';

/** What the check verdict needs of a check result. */
export interface VerdictInput {
  readonly strategy: StrategyName;
  readonly executions: number;
  /** Executions the step bound cut before they ended. */
  readonly stepBound: number;
  readonly complete: boolean;
  readonly violations: readonly { readonly kind: string }[];
  readonly space: CheckSpace;
}

/**
 * Where the model is coarser than the kernel: a proof holds for the model, and these are the
 * kernel behaviours it does not include (docs/kernel/preemption-and-races.md).
 */
export const MODEL_LIMITS =
  "at the model's granularity: a step is atomic — the loads and stores of list_head words, page->flags words, kmalloc'ed records and the vmstat counters (NR_FREE_PAGES per zone, NR_PAGETABLE per node) are checked for data races, so where none was reported finer orders of them show nothing new — a task is preempted at step boundaries and just before it enters an atomic section, and memory is sequentially consistent";

export function checkVerdict(r: VerdictInput): Verdict {
  if (r.violations.length > 0) {
    const kinds = [...new Set(r.violations.map((v) => v.kind))];
    return { kind: 'bug', summary: `bug: ${kinds.join(', ')}`, detail: `${r.violations.length} finding(s), each with a replay token` };
  }
  const { space } = r;
  if (r.complete) {
    const how = r.strategy === 'dpor' ? 'every interleaving up to reordering of independent steps' : 'every interleaving';
    return {
      kind: 'proved',
      summary: 'proved',
      detail: `${r.strategy} covered ${how} of this configuration's ${space.threads} threads${preemptionText(space)}${tornText(space)}${dataText(space)} in ${r.executions} executions, ${MODEL_LIMITS}`,
    };
  }
  const cut =
    r.stepBound === 0
      ? ''
      : `; ${r.stepBound} of the ${r.executions} executions were cut by the step bound (--max-steps) before they ended: what they did not reach is not covered`;
  return { kind: 'not-found', summary: `not found in ${r.executions}${r.stepBound > 0 ? ` (${r.stepBound} cut by the step bound)` : ''}`, detail: notFoundDetail(r) + cut };
}

/** The kernel's preemption model, which decides where a task may lose its CPU (absent in older results). */
function preemptionText(space: CheckSpace): string {
  switch (space.preempt) {
    case 'full':
      return ' under full kernel preemption (CONFIG_PREEMPT)';
    case 'voluntary':
      return ' under voluntary preemption (CONFIG_PREEMPT_VOLUNTARY)';
    case 'none':
      return ' without kernel preemption (CONFIG_PREEMPT_NONE)';
    default:
      return '';
  }
}

/** Under config.tornLists a proof covers the orders that tear a shared list too. */
function tornText(space: CheckSpace): string {
  return space.tornLists === true ? ', with each store of a list helper on a shared list a step of its own (config.tornLists)' : '';
}

/**
 * The injected failures a proof covers, and how many per execution, then the other data choices.
 * A result from before faults were told apart lists its data choices as one.
 */
function dataText(space: CheckSpace): string {
  if (space.faultChoices === undefined) {
    return space.dataChoices.length > 0 ? ` and every data choice it offers (${space.dataChoices.join(', ')})` : ' (it offers no data choice)';
  }
  const faults = space.faultChoices;
  const others = space.dataChoices.filter((c) => !faults.includes(c));
  const injected =
    faults.length === 0
      ? 'with no injected failure (the scenario does not set failAtomicAllocations)'
      : space.faults === undefined
        ? `with any number of injected failures per execution (${faults.join(', ')})`
        : `with up to ${failures(space.faults)} per execution (${faults.join(', ')}; --faults ${space.faults})`;
  const rest = others.length === 0 ? 'no other data choice' : `every value of its other data choices (${others.join(', ')})`;
  return `, ${injected} and ${rest},`;
}

function failures(n: number): string {
  return `${n} injected failure${n === 1 ? '' : 's'}`;
}

function notFoundDetail(r: VerdictInput): string {
  const { space } = r;
  // With fault injection on, what a bounded run left out: executions with more failures.
  const bounded = space.faults !== undefined && (space.faultChoices?.length ?? 0) > 0 ? `; at most ${failures(space.faults)} per execution (--faults ${space.faults})` : '';
  return samplingDetail(r) + bounded;
}

function samplingDetail(r: VerdictInput): string {
  const { space } = r;
  const n = r.executions;
  switch (r.strategy) {
    case 'pct': {
      const d = space.pctDepth ?? 3;
      const p = pctBound(space.threads, space.steps, d);
      const escape = Math.pow(1 - p, n);
      return (
        `no violation in ${n} PCT executions of depth ${d}: each finds any depth-${d} bug with probability at least ` +
        `1/(n·k^${d - 1}) = ${p.toPrecision(2)} (n = ${space.threads} threads, k = ${space.steps} steps), so such a bug escapes all ${n} ` +
        `with probability at most ${escape.toPrecision(3)}; evidence, not proof`
      );
    }
    case 'random':
      return `no violation in ${n} random executions: every schedule has a non-zero chance per execution, but there is no bound on finding a bug; evidence, not proof`;
    default:
      return space.preemptionBound !== undefined
        ? `${r.strategy} did not finish (bounded to ${space.preemptionBound} preemptions, or stopped by a budget) after ${n} executions: only the schedules it reached are covered`
        : `${r.strategy} stopped (budget or time) after ${n} executions before covering the whole space: only the schedules it reached are covered`;
  }
}

/** PCT's per-execution lower bound on finding a bug of depth d: 1/(n·k^(d−1)). */
export function pctBound(threads: number, steps: number, depth: number): number {
  return 1 / (Math.max(1, threads) * Math.pow(Math.max(1, steps), depth - 1));
}

/**
 * A study cell's verdict: the check's, except that anything the timed run found makes it a bug too
 * (a cell is never green while its row shows a violation).
 */
export function cellVerdict(check: { readonly verdict: Verdict; readonly violations: readonly { readonly kind: string }[] }, timed: readonly { readonly kind: string }[]): Verdict {
  if (timed.length === 0) return check.verdict;
  const timedKinds = [...new Set(timed.map((v) => v.kind))];
  const all = [...new Set([...check.violations.map((v) => v.kind), ...timedKinds])];
  const detail =
    check.verdict.kind === 'bug'
      ? `${check.verdict.detail}; the timed run showed ${timedKinds.join(', ')}`
      : `the timed run showed ${timedKinds.join(', ')} (kptsim run reproduces it); the checker alone: ${check.verdict.summary}`;
  return { kind: 'bug', summary: `bug: ${all.join(', ')}`, detail };
}
