/**
 * Exhaustive depth-first enumeration of every choice sequence: every thread pick and every value
 * of every data choice. Stateless (Godefroid, "Model Checking for Programming Languages using
 * VeriSoft", POPL 1997): each execution re-runs the program from scratch, forcing the choices of
 * the path being extended, then takes the next untried option at the deepest node that has one.
 *
 * Optional preemption bound (Musuvathi and Qadeer, "Iterative Context Bounding for Systematic
 * Testing of Multithreaded Programs", PLDI 2007): a preemption is a thread pick that switches away
 * from the thread that ran the previous step while it is still runnable; paths over the bound are
 * not explored. Children are tried non-preemptive first (keep running the same thread).
 *
 * Injected faults (data choices with `fault`, such as a GFP_ATOMIC allocation failure): the fault
 * options are tried before option 0, so the first execution already takes the first failure path
 * instead of reaching it only after the whole subtree where the allocation succeeds; after it, the
 * fault sweep fails each further allocation of the first schedule on its own (faults.ts), in extra
 * executions outside the tree. With a fault bound, an execution that has injected that many takes
 * option 0 at every later fault point.
 *
 * Guarantee: `complete` means every execution of the program was run — only when the tree was
 * exhausted, the preemption bound never cut an option and no execution hit the step limit. With a
 * preemption bound that cut something, the search is complete only for schedules within the bound,
 * and says it is not. The fault bound is not such a cut: it defines the program explored (every
 * execution with at most that many injected faults), and the result carries it (CheckSpace.faults).
 */
import type { ChoiceKind, ChoicePoint, ExecutionResult } from '../sim/index.ts';
import { checkForcedPoint, checkPathReplayed, pathCoverage } from './prefix.ts';
import { CheckpointError, checkFaultBound, expectState, type DfsState, type StrategyState } from './checkpoint.ts';
import { FaultCount, FaultSweep } from './faults.ts';
import type { ExplorationStrategy } from './strategy.ts';

export interface DfsOptions {
  /** At most this many preemptions per execution (default: unbounded). */
  readonly preemptionBound?: number;
  /** At most this many injected faults per execution (default: unbounded). */
  readonly faults?: number;
}

interface DfsNode {
  readonly kind: ChoiceKind;
  readonly reason: string;
  readonly optionCount: number;
  readonly ids?: readonly number[];
  /** The options this node explores, in order (option indices; fewer than offered when the bound cut). */
  readonly order: readonly number[];
  /** Position in `order` of the option the current path takes. */
  pos: number;
}

export class DfsScheduler implements ExplorationStrategy {
  readonly name = 'dfs';
  readonly exhaustive = true;
  executions = 0;
  /** True once the preemption bound or the step limit kept some execution from being explored. */
  cut = false;
  private readonly stack: DfsNode[] = [];
  private finished = false;
  private readonly bound: number;
  /** The thread that ran the previous step on the current path, and the preemptions and faults so far. */
  private lastThread = -1;
  private preemptions = 0;
  private readonly faults: FaultCount;
  private readonly sweep: FaultSweep;

  constructor(options: DfsOptions = {}) {
    this.bound = options.preemptionBound ?? Infinity;
    this.faults = new FaultCount(options.faults);
    this.sweep = new FaultSweep(options.faults);
  }

  get complete(): boolean {
    return this.finished && !this.cut;
  }

  beginExecution(_index: number): boolean {
    if (this.sweep.begin()) {
      this.executions++;
      return true;
    }
    if (this.finished) return false;
    this.executions++;
    this.lastThread = -1;
    this.preemptions = 0;
    this.faults.reset();
    return true;
  }

  choose(point: ChoicePoint): number {
    if (this.sweep.running) return this.sweep.choose(point);
    this.sweep.observe(point);
    let node = this.stack[point.index];
    if (node === undefined) {
      node = this.newNode(point);
      this.stack.push(node);
    } else {
      checkForcedPoint('dfs', node, point);
    }
    const option = node.order[node.pos];
    this.faults.took(point, option);
    if (node.ids !== undefined) {
      const id = node.ids[option];
      if (this.lastThread !== id && node.ids.includes(this.lastThread)) this.preemptions++;
      this.lastThread = id;
    }
    return option;
  }

  endExecution(_exec: unknown, result: ExecutionResult): void {
    const swept = this.sweep.running;
    this.sweep.end();
    // A sweep execution is outside the tree: the tree has its path, and a cut there is the tree's too.
    if (swept) return;
    if (result.status === 'step-limit') this.cut = true;
    checkPathReplayed('dfs', this.stack.length, result);
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1];
      if (top.pos + 1 < top.order.length) {
        top.pos++;
        return;
      }
      this.stack.pop();
    }
    this.finished = true;
  }

  /** Fraction of the tree left of the current path, counting every node's options as equally large. */
  coverage(): number {
    if (this.finished) return 1;
    return pathCoverage(this.stack.map((node) => ({ before: node.pos, total: node.order.length })));
  }

  /** The stack and flags; lastThread and the preemption and fault counts are per execution (reset by beginExecution). */
  saveState(): DfsState {
    return {
      name: 'dfs',
      ...(this.faults.bound === undefined ? {} : { faults: this.faults.bound }),
      ...(this.sweep.saved === undefined ? {} : { sweep: this.sweep.saved }),
      executions: this.executions,
      cut: this.cut,
      finished: this.finished,
      stack: this.stack.map((n) => ({ kind: n.kind, reason: n.reason, optionCount: n.optionCount, ...(n.ids === undefined ? {} : { ids: [...n.ids] }), order: [...n.order], pos: n.pos })),
    };
  }

  restoreState(state: StrategyState): void {
    const s = expectState('dfs', state);
    if (this.executions !== 0) throw new CheckpointError('dfs: restoreState after the exploration began');
    checkFaultBound(s.faults, this.faults.bound);
    s.stack.forEach((n, i) => {
      const bad = n.order.some((o) => o >= n.optionCount) || n.pos >= n.order.length || (n.ids !== undefined && n.ids.length !== n.optionCount);
      if (bad) throw new CheckpointError(`strategy.stack.${i}: order, pos or ids do not fit ${n.optionCount} options`);
    });
    this.executions = s.executions;
    this.cut = s.cut;
    this.finished = s.finished;
    this.sweep.restore(s.sweep, s.executions);
    this.stack.length = 0;
    for (const n of s.stack) this.stack.push({ kind: n.kind, reason: n.reason, optionCount: n.optionCount, ids: n.ids, order: n.order, pos: n.pos });
  }

  private newNode(point: ChoicePoint): DfsNode {
    const n = point.options.length;
    const ids = point.threadIds;
    const base = { kind: point.kind, reason: point.reason, optionCount: n, pos: 0 };
    if (point.kind === 'data' && point.fault === true) return { ...base, order: this.faults.order(n) };
    if (point.kind !== 'thread' || ids === undefined) return { ...base, order: Array.from({ length: n }, (_, i) => i) };
    const stay = ids.indexOf(this.lastThread);
    if (stay < 0) return { ...base, ids, order: Array.from({ length: n }, (_, i) => i) };
    const order = [stay];
    if (this.preemptions < this.bound) {
      for (let i = 0; i < n; i++) if (i !== stay) order.push(i);
    } else if (n > 1) {
      this.cut = true;
    }
    return { ...base, ids, order };
  }
}
