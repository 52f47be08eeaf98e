/**
 * Exhaustive exploration with dynamic partial-order reduction and sleep sets, stateless like
 * dfs.ts. Races are found as in Flanagan and Godefroid ("Dynamic Partial-Order Reduction for Model
 * Checking Software", POPL 2005); the thread to try at a race is chosen as in source-DPOR (Abdulla,
 * Aronis, Jonsson, Sagonas, "Optimal Dynamic Partial Order Reduction", POPL 2014); sleep sets after
 * Godefroid (LNCS 1032, 1996).
 *
 * Why the mix. Our threads block — on locks through Blockers, and on their CPU when another thread
 * there is atomic or an interrupt handler runs. Source-DPOR reverses only races between steps
 * adjacent in happens-before; with blocking the adjacent race is often not reversible ("q's
 * acquire before p's release" cannot run) while the one that matters ("q's acquire before p's
 * acquire") is not adjacent. Flanagan–Godefroid checks, at every state of the trace, every
 * thread's pending step — blocked or not — against the steps it depends on, which finds it.
 * Adding the racing thread itself, as Flanagan–Godefroid do, is not enough with sleep sets when
 * that thread is asleep there (the order is then lost between two branches that each count on the
 * other; the random-program test in test/unit/explore/dpor.test.ts found such a case). So, for a
 * race between step i and a pending step π of thread q, we build v = notdep(i).π (the steps after i
 * that do not happen after it, then π) and, unless an initial of v is already explored at the
 * state before i, add an initial of v that is runnable and awake there. When no initial of v can
 * run there (q is blocked behind something earlier), every runnable thread is added — the
 * conservative Flanagan–Godefroid rule.
 *
 * Dependence. Two steps are dependent when `dependent(a, b)` (src/sim/step.ts: same object, at
 * least one not a read). In addition a step that changes whether another thread is runnable
 * (observed on the trace: in the runnable set before the step and not after, or the reverse) is
 * dependent with that thread's pending step: a task entering an atomic section or disabling
 * interrupts, an interrupt handler starting, take a CPU without touching an object.
 * Under PREEMPT_NONE and PREEMPT_VOLUNTARY a task keeps its CPU until it sleeps or reaches a
 * scheduling point (src/sim/execution.ts), which is such a runnable-set change too, observed the
 * same way. Happens-before is the transitive closure of program order and these dependences, as
 * vector clocks over the executed trace. Sleep sets cannot observe the step a sleeping thread has
 * not run, so threads pinned to the same CPU never sleep for each other. Checked under each
 * preemption model against dfs (test/unit/explore/dpor-preempt.test.ts).
 *
 * Assumptions (DPOR is sound relative to them): each step touches only the object it declares, in
 * the declared way; a Blocker's condition is changed only by steps on the object the blocked step
 * names (lock acquire/release are writes, so a blocked `mutex_lock` and the `mutex_unlock` that
 * frees it are dependent) or shows as a runnable-set change; the program is deterministic given its
 * choices, object ids included (sleep sets compare steps recorded in earlier executions).
 * Co-enabledness is not known statically, so every dependent pair is taken as possibly co-enabled.
 *
 * Data choices (kind 'data') are branching points explored exhaustively, every value, with no
 * reduction across them; a data choice belongs to the thread step that made it, so a trace is a
 * sequence of steps each with its values. The values of one data node are explored one after the
 * other below the same thread nodes, each subtree on its own: the race analysis, sleep sets and
 * backtrack sets never compare two values of one node, so the order they are tried in does not
 * change what is explored.
 *
 * Injected faults (a data choice marked `fault`: option 0 is "no fault") are tried first, so that
 * a failure path is reached in the first executions rather than after the whole subtree where the
 * allocation succeeds; and after the first execution that meets one, the fault sweep (faults.ts)
 * fails each allocation of the first schedule on its own, in extra executions that stand outside
 * the search (no node, no race analysis: the search reaches each of them anyway). With a fault
 * bound N, an execution that has injected N faults takes "no fault" at every later fault point:
 * what is explored is the program restricted to the traces with at most N faults. That set is
 * closed under prefixes and under reordering independent steps (a trace's fault count is a sum over
 * its steps, whatever their order), so a reordering DPOR relies on — a race reversed, a sleeping
 * thread's step moved earlier — stays inside it: the guarantee below holds for the restricted
 * program, "every trace" read as "every trace with at most N injected faults".
 *
 * Known limit: that a pending step would take the CPU from the thread that ran (an interrupt that
 * could have fired before a step of the task it interrupts) is seen only when it happens on the
 * trace. Where that matters for an object the two threads share, the object race reorders them
 * anyway; what can be missed is only how many purely local steps the interrupted thread had taken
 * when a run deadlocks — the deadlock itself is found.
 *
 * Guarantee: when the search ends with `complete`, every Mazurkiewicz trace of the program (every
 * order of dependent steps) was explored up to its first violation, within the limit above: each
 * reachable violation, deadlock and final state was reached. Not complete if an execution hit the
 * step limit. Checked against dfs on random programs with locks, atomic sections, interrupt
 * handlers, data choices and injected faults under fault bounds (test/unit/explore/dpor.test.ts),
 * under each preemption model (dpor-preempt.test.ts), and on the data races the detector reports
 * (dpor-races.test.ts).
 */
import { dependent, NO_OBJECT, type ChoicePoint, type Execution, type ExecutionResult, type Step } from '../sim/index.ts';
import { checkForcedPoint, checkPathReplayed, pathCoverage } from './prefix.ts';
import { CheckpointError, checkFaultBound, expectState, type DporState, type StrategyState } from './checkpoint.ts';
import { FaultCount, FaultSweep } from './faults.ts';
import type { ExplorationStrategy } from './strategy.ts';

interface ThreadNode {
  readonly kind: 'thread';
  readonly reason: string;
  readonly optionCount: number;
  /** Runnable thread ids, in option order. */
  readonly ids: readonly number[];
  /** Their pending steps, in option order. */
  readonly steps: readonly Step[];
  /** Threads whose exploration from here is redundant, with their pending step. */
  readonly sleep: ReadonlyMap<number, Step>;
  /** Threads to explore from here; grows as races are found below. */
  readonly backtrack: Set<number>;
  /** Threads explored (or being explored) from here. */
  readonly done: Set<number>;
  chosen: number;
}

interface DataNode {
  readonly kind: 'data';
  readonly reason: string;
  readonly optionCount: number;
  /** The options this node explores, in order (faults first at a fault point; only 0 past the bound). */
  readonly order: readonly number[];
  /** Position in `order` of `chosen`, the option the current path takes. */
  pos: number;
  chosen: number;
}

type DporNode = ThreadNode | DataNode;

export class DporScheduler implements ExplorationStrategy {
  readonly name = 'dpor';
  readonly exhaustive = true;
  executions = 0;
  /** Executions cut short because every runnable thread was asleep (redundant). */
  sleepBlocked = 0;
  /** True once an execution hit the step limit: the tree below it was not explored. */
  cut = false;
  private readonly stack: DporNode[] = [];
  private finished = false;
  /** The stack index of the last thread node on the current path, and the thread it ran. */
  private lastThreadNode = -1;
  private lastThread = -1;
  /** Each thread's CPU (-1 for a device), learnt at the end of each execution. */
  private readonly cpuOf: number[] = [];
  /** Runnable ids where this execution was abandoned (sleep-set blocked), else null. */
  private abandonedAt: readonly number[] | null = null;
  /** The injected faults taken so far on the current path, against the bound. */
  private readonly faults: FaultCount;
  private readonly sweep: FaultSweep;

  constructor(options: { readonly faults?: number } = {}) {
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
    this.lastThreadNode = -1;
    this.lastThread = -1;
    this.abandonedAt = null;
    this.faults.reset();
    return true;
  }

  choose(point: ChoicePoint): number | 'abandon' {
    if (this.sweep.running) return this.sweep.choose(point);
    this.sweep.observe(point);
    const existing = this.stack[point.index];
    if (existing !== undefined) {
      checkForcedPoint('dpor', existing, point);
      if (existing.kind === 'thread') this.enterThreadNode(point.index, existing);
      else this.faults.took(point, existing.chosen);
      return existing.chosen;
    }
    if (point.kind === 'data' || point.threadIds === undefined || point.steps === undefined) {
      const n = point.options.length;
      const order = point.kind === 'data' && point.fault === true ? this.faults.order(n) : Array.from({ length: n }, (_, i) => i);
      const chosen = order[0];
      this.faults.took(point, chosen);
      this.stack.push({ kind: 'data', reason: point.reason, optionCount: n, order, pos: 0, chosen });
      return chosen;
    }
    const ids = point.threadIds;
    const steps = point.steps;
    const sleep = this.childSleep(ids);
    let pick = -1;
    for (let i = 0; i < ids.length; i++) {
      if (sleep.has(ids[i])) continue;
      if (pick < 0 || ids[i] === this.lastThread) pick = i;
    }
    if (pick < 0) {
      this.sleepBlocked++;
      this.abandonedAt = ids;
      return 'abandon';
    }
    const node: ThreadNode = {
      kind: 'thread',
      reason: point.reason,
      optionCount: ids.length,
      ids,
      steps,
      sleep,
      backtrack: new Set([ids[pick]]),
      done: new Set([ids[pick]]),
      chosen: pick,
    };
    this.stack.push(node);
    this.enterThreadNode(point.index, node);
    return pick;
  }

  endExecution(exec: Execution, result: ExecutionResult): void {
    const swept = this.sweep.running;
    this.sweep.end();
    if (swept) return;
    checkPathReplayed('dpor', this.stack.length, result);
    for (const t of exec.threads) this.cpuOf[t.id] = t.ctx.cpu;
    if (result.status === 'step-limit') this.cut = true;
    this.addBacktracks(exec, result);
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1];
      if (top.kind === 'data') {
        if (top.pos + 1 < top.order.length) {
          top.chosen = top.order[++top.pos];
          return;
        }
      } else {
        for (let i = 0; i < top.ids.length; i++) {
          const id = top.ids[i];
          if (top.backtrack.has(id) && !top.done.has(id) && !top.sleep.has(id)) {
            top.done.add(id);
            top.chosen = i;
            return;
          }
        }
      }
      this.stack.pop();
    }
    this.finished = true;
  }

  /** Fraction of the known tree left of the current path (backtrack sets grow, so an estimate). */
  coverage(): number {
    if (this.finished) return 1;
    return pathCoverage(
      this.stack.map((node) =>
        node.kind === 'data'
          ? { before: node.pos, total: node.order.length }
          : { before: node.done.size - 1, total: Math.max(node.backtrack.size, node.done.size) },
      ),
    );
  }

  /**
   * The stack, the CPUs learnt and the counters. Sets and the sleep map are saved in insertion
   * order; a pending step keeps what dependence reads (label, access, object), not its Blocker:
   * the race analysis and sleep sets never ask a recorded step whether it blocks.
   */
  saveState(): DporState {
    const plain = (s: Step) => ({ label: s.label, access: s.access, obj: s.obj });
    return {
      name: 'dpor',
      ...(this.faults.bound === undefined ? {} : { faults: this.faults.bound }),
      ...(this.sweep.saved === undefined ? {} : { sweep: this.sweep.saved }),
      executions: this.executions,
      sleepBlocked: this.sleepBlocked,
      cut: this.cut,
      finished: this.finished,
      // Dense: every execution learns every thread's CPU (ids 0..n-1), -1 for a device.
      cpuOf: [...this.cpuOf],
      stack: this.stack.map((n) =>
        n.kind === 'data'
          ? { kind: 'data' as const, reason: n.reason, optionCount: n.optionCount, order: [...n.order], chosen: n.chosen }
          : {
              kind: 'thread' as const,
              reason: n.reason,
              optionCount: n.optionCount,
              ids: [...n.ids],
              steps: n.steps.map(plain),
              sleep: [...n.sleep].map(([q, s]): [number, ReturnType<typeof plain>] => [q, plain(s)]),
              backtrack: [...n.backtrack],
              done: [...n.done],
              chosen: n.chosen,
            },
      ),
    };
  }

  restoreState(state: StrategyState): void {
    const s = expectState('dpor', state);
    if (this.executions !== 0) throw new CheckpointError('dpor: restoreState after the exploration began');
    checkFaultBound(s.faults, this.faults.bound);
    s.stack.forEach((n, i) => {
      const order = n.kind === 'data' ? n.order : undefined;
      const badOrder = order !== undefined && (!order.includes(n.chosen) || new Set(order).size !== order.length || order.some((o) => o >= n.optionCount));
      const bad = n.chosen >= n.optionCount || badOrder || (n.kind === 'thread' && (n.ids.length !== n.optionCount || n.steps.length !== n.optionCount));
      if (bad) throw new CheckpointError(`strategy.stack.${i}: chosen, order, ids or steps do not fit ${n.optionCount} options`);
    });
    this.executions = s.executions;
    this.sleepBlocked = s.sleepBlocked;
    this.cut = s.cut;
    this.finished = s.finished;
    this.sweep.restore(s.sweep, s.executions);
    this.cpuOf.length = 0;
    this.cpuOf.push(...s.cpuOf);
    this.stack.length = 0;
    for (const n of s.stack) {
      this.stack.push(
        n.kind === 'data'
          ? dataNode(n.reason, n.optionCount, n.order ?? Array.from({ length: n.optionCount }, (_, o) => o), n.chosen)
          : {
              kind: 'thread',
              reason: n.reason,
              optionCount: n.optionCount,
              ids: n.ids,
              steps: n.steps,
              sleep: new Map(n.sleep),
              backtrack: new Set(n.backtrack),
              done: new Set(n.done),
              chosen: n.chosen,
            },
      );
    }
  }

  /**
   * Whether two threads are pinned to one CPU, where one's step can take the CPU from the other
   * (preemption or interrupts off, an interrupt handler running). The race analysis observes such
   * steps on the trace; a sleep set cannot (the sleeping step has not run here), so it keeps
   * threads that share a CPU awake for each other. Threads are learnt from earlier executions;
   * one not seen yet counts as sharing.
   */
  private mayShareCpu(a: number, b: number): boolean {
    const ca = this.cpuOf[a];
    const cb = this.cpuOf[b];
    if (ca === undefined || cb === undefined) return true;
    return ca >= 0 && ca === cb;
  }

  private enterThreadNode(index: number, node: ThreadNode): void {
    this.lastThreadNode = index;
    this.lastThread = node.ids[node.chosen];
  }

  /**
   * The sleep set of a new state: the parent's sleeping and already-explored threads that are
   * still runnable and whose pending step is independent of the step the parent ran.
   */
  private childSleep(ids: readonly number[]): Map<number, Step> {
    const sleep = new Map<number, Step>();
    if (this.lastThreadNode < 0) return sleep;
    const parent = this.stack[this.lastThreadNode] as ThreadNode;
    const ran = parent.ids[parent.chosen];
    const ranStep = parent.steps[parent.chosen];
    const keep = (q: number, s: Step): void => {
      if (q !== ran && ids.includes(q) && !dependent(s, ranStep) && !this.mayShareCpu(q, ran)) sleep.set(q, s);
    };
    for (const [q, s] of parent.sleep) keep(q, s);
    for (const q of parent.done) keep(q, parent.steps[parent.ids.indexOf(q)]);
    return sleep;
  }

  /**
   * The race analysis, run over the finished trace (equivalent to running it at each state as the
   * trace grew: every state it touches is still on the stack). For each thread q and each stretch
   * of the trace during which q's pending step π stays the same, every step i of another thread
   * in that stretch that is dependent with π, and the last dependent step before the stretch that
   * does not happen-before q, is a race (Flanagan–Godefroid); `reverse` picks what to try at the
   * state before i (see the header).
   */
  private addBacktracks(exec: Execution, result: ExecutionResult): void {
    const nodeOf: number[] = [];
    for (let s = 0; s < this.stack.length; s++) if (this.stack[s].kind === 'thread') nodeOf.push(s);
    const m = nodeOf.length;
    if (m === 0) return;
    const ev = nodeOf.map((s) => this.stack[s] as ThreadNode);
    const threadCount = exec.threads.length;
    const procOf = new Int32Array(m);
    const stepOf: Step[] = new Array(m);
    for (let j = 0; j < m; j++) {
      procOf[j] = ev[j].ids[ev[j].chosen];
      stepOf[j] = ev[j].steps[ev[j].chosen];
    }
    // The runnable set after the last step: known when the run ended with nothing runnable or
    // was abandoned; otherwise (violation, step limit) taken as unchanged.
    const ended = result.status === 'quiescent' || result.status === 'deadlock';
    const finalEnabled: readonly number[] = this.abandonedAt ?? (ended ? [] : ev[m - 1].ids);
    const enabledAfter = (j: number): readonly number[] => (j + 1 < m ? ev[j + 1].ids : finalEnabled);
    const toggles = (j: number, q: number): boolean => ev[j].ids.includes(q) !== enabledAfter(j).includes(q);

    // Vector clocks: clock[j][t] = how many of thread t's steps happen before or at step j.
    const clock: Int32Array[] = new Array(m);
    const local = new Int32Array(m);
    const count = new Int32Array(threadCount);
    const lastClock: (Int32Array | null)[] = new Array(threadCount).fill(null);
    const edgeIn: (Int32Array | null)[] = new Array(threadCount).fill(null);
    const lastWrite = new Map<number, Int32Array>();
    const readsSince = new Map<number, Int32Array>();
    const accesses = new Map<number, number[]>();
    const eventsOf: number[][] = Array.from({ length: threadCount }, () => []);
    for (let j = 0; j < m; j++) {
      const p = procOf[j];
      const s = stepOf[j];
      const vc = lastClock[p]?.slice() ?? new Int32Array(threadCount);
      joinInto(vc, edgeIn[p]);
      edgeIn[p] = null;
      if (s.obj !== NO_OBJECT) {
        joinInto(vc, lastWrite.get(s.obj));
        if (s.access !== 'read') joinInto(vc, readsSince.get(s.obj));
      }
      vc[p] = ++count[p];
      local[j] = count[p];
      clock[j] = vc;
      lastClock[p] = vc;
      eventsOf[p].push(j);
      if (s.obj !== NO_OBJECT) {
        if (s.access === 'read') {
          const r = readsSince.get(s.obj);
          if (r === undefined) readsSince.set(s.obj, vc.slice());
          else joinInto(r, vc);
        } else {
          lastWrite.set(s.obj, vc);
          readsSince.delete(s.obj);
        }
        let list = accesses.get(s.obj);
        if (list === undefined) accesses.set(s.obj, (list = []));
        list.push(j);
      }
      for (const q of ev[j].ids) if (q !== p && toggles(j, q)) edgeIn[q] = joined(edgeIn[q], vc, threadCount);
      for (const q of enabledAfter(j)) if (q !== p && !ev[j].ids.includes(q)) edgeIn[q] = joined(edgeIn[q], vc, threadCount);
    }

    // A race: step i of another thread against q's pending step π, whose clock is piClock and
    // whose per-thread index would be piLocal. Reversing it means running, from the state before
    // i, the steps after i that do not happen after it (notdep(i)), then π: v = notdep(i).π.
    const reverse = (i: number, q: number, piClock: Int32Array, piLocal: number): void => {
      const node = ev[i];
      const pi = procOf[i];
      const li = local[i];
      // First event of each thread in v (an event index, or -1 for π itself) and its local index.
      const first = new Int32Array(threadCount).fill(NOT_IN_V);
      const firstLocal = new Int32Array(threadCount);
      for (let t = 0; t < threadCount; t++) {
        if (t === pi) continue;
        const list = eventsOf[t];
        const at = upperBound(list, i);
        const f = at < list.length ? list[at] : -1;
        if (f >= 0 && clock[f][pi] < li) {
          first[t] = f;
          firstLocal[t] = local[f];
        } else if (t === q) {
          first[t] = PENDING;
          firstLocal[t] = piLocal;
        }
      }
      // Initials of v: threads whose first event in v has no happens-before predecessor in v.
      let runnableInitial = false;
      let pick = -1;
      for (let r = 0; r < threadCount; r++) {
        if (first[r] === NOT_IN_V) continue;
        const vc = first[r] === PENDING ? piClock : clock[first[r]];
        let initial = true;
        for (let t = 0; t < threadCount && initial; t++) {
          if (t !== r && first[t] !== NOT_IN_V && vc[t] >= firstLocal[t]) initial = false;
        }
        if (!initial || !node.ids.includes(r)) continue;
        runnableInitial = true;
        // Already explored (or to be) from here: v is covered (source-set condition).
        if (node.backtrack.has(r) && !node.sleep.has(r)) return;
        if (!node.sleep.has(r) && (pick < 0 || r === q)) pick = r;
      }
      if (pick >= 0) node.backtrack.add(pick);
      // No initial can run there (q is blocked behind something before i): every runnable
      // thread, the conservative Flanagan–Godefroid rule.
      else if (!runnableInitial) for (const id of node.ids) node.backtrack.add(id);
    };

    for (let q = 0; q < threadCount; q++) {
      const mine = eventsOf[q];
      let prev = -1;
      for (let k = 0; k <= mine.length; k++) {
        const executed = k < mine.length;
        const pending = executed ? stepOf[mine[k]] : exec.threads[q].pending;
        const end = executed ? mine[k] : m;
        const start = prev + 1;
        if (pending !== null) {
          const races: number[] = [];
          if (prev >= 0 && pending.obj !== NO_OBJECT) {
            const list = accesses.get(pending.obj) ?? [];
            const seen = clock[prev];
            for (let x = upperBound(list, prev) - 1; x >= 0; x--) {
              const i = list[x];
              if (procOf[i] === q || !dependent(stepOf[i], pending) || seen[procOf[i]] >= local[i]) continue;
              races.push(i);
              break;
            }
          }
          for (let i = start; i < end; i++) if (dependent(stepOf[i], pending) || toggles(i, q)) races.push(i);
          if (races.length > 0) {
            let piClock: Int32Array;
            if (executed) piClock = clock[mine[k]];
            else {
              // Never ran: its clock as if it ran now, after everything it depends on.
              piClock = prev >= 0 ? clock[prev].slice() : new Int32Array(threadCount);
              for (let i = start; i < m; i++) if (dependent(stepOf[i], pending) || toggles(i, q)) joinInto(piClock, clock[i]);
            }
            const piLocal = (prev >= 0 ? local[prev] : 0) + 1;
            for (const i of races) reverse(i, q, piClock, piLocal);
          }
        }
        if (executed) prev = mine[k];
      }
    }
  }
}

/** A data node restored from a snapshot, at `chosen`'s place in its order. */
function dataNode(reason: string, optionCount: number, order: readonly number[], chosen: number): DataNode {
  return { kind: 'data', reason, optionCount, order, pos: order.indexOf(chosen), chosen };
}

/** Markers in the per-thread "first event in v" table. */
const NOT_IN_V = -2;
const PENDING = -1;

function joinInto(into: Int32Array, from: Int32Array | null | undefined): void {
  if (from == null) return;
  for (let t = 0; t < into.length; t++) if (from[t] > into[t]) into[t] = from[t];
}

function joined(acc: Int32Array | null, vc: Int32Array, size: number): Int32Array {
  const out = acc ?? new Int32Array(size);
  joinInto(out, vc);
  return out;
}

/** The number of entries of the ascending `list` that are <= `value`. */
function upperBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
