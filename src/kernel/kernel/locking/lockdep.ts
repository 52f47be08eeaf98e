/**
 * Lockdep-lite: the idea of kernel/locking/lockdep.c (Linux v6.19), not its code.
 *
 * Locks belong to classes (by name here; Linux keys a class by the lock's init site). Lockdep keeps,
 * per thread, the stack of locks it holds, and a graph of classes with an edge A → B when B was
 * acquired while A was held. Acquiring B while holding A when B →…→ A is already in the graph is a
 * possible AB-BA deadlock, reported with the kernel's wording whether or not this interleaving
 * deadlocks. It also tracks each class's irq usage, so a lock taken in hard-IRQ context and
 * elsewhere with interrupts enabled is reported as "inconsistent lock state" (the self-deadlock of
 * docs/kernel/pitfalls.md §3), again without needing the interrupt to land inside the critical section.
 *
 * What lockdep calls a lock includes pseudo-locks such as a work item's completion map
 * (kernel/workqueue.c process_one_work / __flush_work), which is why it takes a LockdepMap and not
 * a spinlock or mutex.
 *
 * Differences from Linux, on purpose: an edge is added from every held lock (Linux adds one from
 * the top of the stack and relies on transitivity); nested locking of one class is always reported
 * (no spin_lock_nested subclasses); after a report lockdep keeps checking (Linux turns itself off),
 * but each inversion, recursion and inconsistency is reported once; softirq usage ignores
 * local_bh_disable (not modelled); read locks and irq lock *inversion* (a safe class depending on an
 * unsafe one) are not modelled. Iteration is over arrays in insertion order, never over hash order.
 */
import { ModelInvariantError, type Execution, type KernelContext, type Thread } from '../../../sim/index.ts';
import type { SyncCore } from '../../model/kernel.ts';

/** Class ids stay below this so that a (class, class) pair packs into one number. */
const CLASS_LIMIT = 1 << 16;

/** Irq-usage bits of a class, as lockdep's LOCK_USED_IN_HARDIRQ, LOCK_ENABLED_HARDIRQ, ... */
const USED_IN_HARDIRQ = 1;
const ENABLED_HARDIRQ = 2;
const USED_IN_SOFTIRQ = 4;
const ENABLED_SOFTIRQ = 8;
const USAGE_NAMES = ['IN-HARDIRQ-W', 'HARDIRQ-ON-W', 'IN-SOFTIRQ-W', 'SOFTIRQ-ON-W'] as const;
/** For each usage bit, the bit it must never meet in the same class. */
const CONFLICT: Readonly<Record<number, number>> = {
  [USED_IN_HARDIRQ]: ENABLED_HARDIRQ,
  [ENABLED_HARDIRQ]: USED_IN_HARDIRQ,
  [USED_IN_SOFTIRQ]: ENABLED_SOFTIRQ,
  [ENABLED_SOFTIRQ]: USED_IN_SOFTIRQ,
};

const NONE_HELD: readonly LockdepMap[] = Object.freeze([]);

export class LockClass {
  /** Irq-usage bits seen so far. */
  usage = 0;
  /** Where each usage bit was first seen, indexed by bit number (for the report). */
  readonly usageWhere: string[] = ['', '', '', ''];
  /** Set once this class has had its one "inconsistent lock state" or recursion report. */
  inconsistentReported = false;
  recursionReported = false;

  constructor(
    readonly id: number,
    readonly name: string,
  ) {}
}

/** Anything lockdep tracks (struct lockdep_map): a spinlock, a mutex, a work item's completion. */
export interface LockdepMap {
  readonly name: string;
  readonly lockClass: LockClass;
}

export type AcquireKind = 'lock' | 'trylock';

/** A dependency A → B, remembering the first acquisition that created it (the report's evidence). */
interface Dependency {
  readonly from: LockClass;
  readonly to: LockClass;
  readonly where: string;
}

export class Lockdep {
  private readonly classes: LockClass[] = [];
  private readonly byName = new Map<string, LockClass>();
  /** Outgoing dependencies per class id, in the order they were first seen. */
  private readonly after: Dependency[][] = [];
  /** from.id * CLASS_LIMIT + to.id for every dependency; the same key for each inversion reported. */
  private readonly edges = new Set<number>();
  private readonly reportedInversions = new Set<number>();
  /**
   * Held locks per thread id, oldest first. An interrupt handler is its own thread, so its locks
   * never depend on those of the task it interrupted (Linux's separate irq_context chains).
   */
  private readonly heldBy: LockdepMap[][] = [];

  constructor(private readonly exec: Execution) {}

  /** The class named `name`, created on first use. */
  lockClass(name: string): LockClass {
    let cls = this.byName.get(name);
    if (cls === undefined) {
      if (this.classes.length >= CLASS_LIMIT) throw new ModelInvariantError(`more than ${CLASS_LIMIT} lock classes`);
      cls = new LockClass(this.classes.length, name);
      this.classes.push(cls);
      this.after.push([]);
      this.byName.set(name, cls);
    }
    return cls;
  }

  /** The locks `thread` holds (or is waiting for, as in Linux, where lock_acquire precedes the wait), oldest first. */
  held(thread: Thread): readonly LockdepMap[] {
    return this.heldBy[thread.id] ?? NONE_HELD;
  }

  /**
   * lock_acquire(): called by the current thread before it waits for `lock`. A trylock records
   * usage and is held afterwards but adds no dependency (it cannot wait, so it cannot deadlock).
   */
  acquire(lock: LockdepMap, kind: AcquireKind = 'lock'): void {
    const t = this.exec.current;
    this.markUsage(t, lock);
    let held = this.heldBy[t.id];
    if (held === undefined) {
      held = [];
      this.heldBy[t.id] = held;
    }
    if (kind === 'lock') {
      for (const prev of held) this.checkPrevAdd(t, prev, lock, held);
    }
    held.push(lock);
  }

  /** lock_release(): releasing a lock the thread does not hold is "bad unlock balance". */
  release(lock: LockdepMap): void {
    const t = this.exec.current;
    const held = this.heldBy[t.id];
    const i = held === undefined ? -1 : held.lastIndexOf(lock);
    if (held === undefined || i < 0) {
      this.exec.report('assertion', 'WARNING: bad unlock balance detected!', [
        `${t.name}/${t.id} is trying to release lock (${lock.name}) at:`,
        `  ${this.exec.callChain(t)}`,
        'but there are no more locks to release!',
        ...heldLines(t, this.held(t)),
      ]);
      return;
    }
    held.splice(i, 1);
  }

  /** check_prev_add(): the dependency prev → next, unless it closes a cycle. */
  private checkPrevAdd(t: Thread, prev: LockdepMap, next: LockdepMap, held: readonly LockdepMap[]): void {
    const a = prev.lockClass;
    const b = next.lockClass;
    if (a === b) {
      if (!b.recursionReported) {
        b.recursionReported = true;
        this.reportRecursion(t, prev, next, held);
      }
      return;
    }
    const key = a.id * CLASS_LIMIT + b.id;
    if (this.edges.has(key)) return;
    const path = this.pathBetween(b, a);
    if (path !== null) {
      if (!this.reportedInversions.has(key)) {
        this.reportedInversions.add(key);
        this.reportCircular(t, prev, next, path, held);
      }
      return;
    }
    this.edges.add(key);
    this.after[a.id].push({ from: a, to: b, where: `${t.name}/${t.id} at step ${this.exec.stepCount}: ${this.exec.callChain(t)}` });
  }

  /** The dependencies of a path from → … → to, or null (depth-first in insertion order). */
  private pathBetween(from: LockClass, to: LockClass): Dependency[] | null {
    const visited = new Uint8Array(this.classes.length);
    const path: Dependency[] = [];
    const visit = (c: LockClass): boolean => {
      if (c === to) return true;
      visited[c.id] = 1;
      for (const dep of this.after[c.id]) {
        if (visited[dep.to.id] === 1) continue;
        path.push(dep);
        if (visit(dep.to)) return true;
        path.pop();
      }
      return false;
    };
    return visit(from) ? path : null;
  }

  /** mark_lock(): record the irq usage of this acquisition and report the first inconsistency. */
  private markUsage(t: Thread, lock: LockdepMap): void {
    const cls = lock.lockClass;
    const bits = usageOf(t.ctx);
    const fresh = bits & ~cls.usage;
    if (fresh === 0) return;
    for (let bit = 1, n = 0; bit <= ENABLED_SOFTIRQ; bit <<= 1, n++) {
      if ((fresh & bit) === 0) continue;
      cls.usageWhere[n] = `${t.name}/${t.id} at step ${this.exec.stepCount}: ${this.exec.callChain(t)}`;
      const conflict = CONFLICT[bit];
      if ((cls.usage & conflict) !== 0 && !cls.inconsistentReported) {
        cls.inconsistentReported = true;
        this.reportInconsistent(t, lock, conflict, bit);
      }
    }
    cls.usage |= fresh;
  }

  private reportInconsistent(t: Thread, lock: LockdepMap, oldBit: number, newBit: number): void {
    const oldName = USAGE_NAMES[Math.log2(oldBit)];
    const newName = USAGE_NAMES[Math.log2(newBit)];
    const ctx = t.ctx;
    const hc = ctx.kind === 'hardirq' ? 1 : 0;
    const sc = ctx.kind === 'softirq' ? 1 : 0;
    const he = ctx.irqsDisabledDepth === 0 && hc === 0 ? 1 : 0;
    const se = sc === 0 ? 1 : 0;
    const interrupt = oldBit === USED_IN_SOFTIRQ || newBit === USED_IN_SOFTIRQ ? '<SoftIRQ>' : '<Interrupt>';
    this.exec.report('deadlock', 'WARNING: inconsistent lock state', [
      `inconsistent {${oldName}} -> {${newName}} usage.`,
      `${t.name}/${t.id} [HC${hc}[${hc}]:SC${sc}[${sc}]:HE${he}:SE${se}] takes:`,
      `  (${lock.name}), at: ${this.exec.callChain(t)}`,
      `{${oldName}} state was registered at:`,
      `  ${lock.lockClass.usageWhere[Math.log2(oldBit)]}`,
      'other info that might help us debug this:',
      ' Possible unsafe locking scenario:',
      '       CPU0',
      '       ----',
      `  lock(${lock.name});`,
      `  ${interrupt}`,
      `    lock(${lock.name});`,
      ' *** DEADLOCK ***',
      ...heldLines(t, this.held(t)),
    ]);
  }

  private reportRecursion(t: Thread, prev: LockdepMap, next: LockdepMap, held: readonly LockdepMap[]): void {
    this.exec.report('deadlock', 'WARNING: possible recursive locking detected', [
      `${t.name}/${t.id} is trying to acquire lock:`,
      `  (${next.name}), at: ${this.exec.callChain(t)}`,
      'but task is already holding lock:',
      `  (${prev.name})`,
      'other info that might help us debug this:',
      ' Possible unsafe locking scenario:',
      '       CPU0',
      '       ----',
      `  lock(${prev.name});`,
      `  lock(${next.name});`,
      ' *** DEADLOCK ***',
      ' May be due to missing lock nesting notation',
      ...heldLines(t, held),
    ]);
  }

  /** print_circular_bug(): `path` is next →…→ prev, so prev → next closes a cycle. */
  private reportCircular(t: Thread, prev: LockdepMap, next: LockdepMap, path: readonly Dependency[], held: readonly LockdepMap[]): void {
    const chain: string[] = [];
    for (let i = path.length - 1; i >= 0; i--) {
      const dep = path[i];
      chain.push(`-> #${i + 1} (${dep.to.name}): acquired while holding (${dep.from.name}) by ${dep.where}`);
    }
    chain.push(`-> #0 (${next.lockClass.name}): being acquired while holding (${prev.lockClass.name}) by ${t.name}/${t.id} at step ${this.exec.stepCount}`);
    const parent = path[path.length - 1].from.name;
    const chainExists =
      path.length > 1 ? ['Chain exists of:', `  ${[next.lockClass.name, ...path.map((d) => d.to.name)].join(' --> ')}`] : [];
    this.exec.report('deadlock', 'WARNING: possible circular locking dependency detected', [
      `${t.name}/${t.id} is trying to acquire lock:`,
      `  (${next.name}), at: ${this.exec.callChain(t)}`,
      'but task is already holding lock:',
      `  (${prev.name})`,
      'which lock already depends on the new lock.',
      'the existing dependency chain (in reverse order) is:',
      ...chain,
      'other info that might help us debug this:',
      ...chainExists,
      ' Possible unsafe locking scenario:',
      '       CPU0                    CPU1',
      '       ----                    ----',
      `  lock(${prev.lockClass.name});`,
      `                               lock(${parent});`,
      `                               lock(${prev.lockClass.name});`,
      `  lock(${next.lockClass.name});`,
      ' *** DEADLOCK ***',
      ...heldLines(t, held),
    ]);
  }

}

/** The usage bits an acquisition in this context registers. Devices take no kernel locks. */
function usageOf(ctx: KernelContext): number {
  const irqsOn = ctx.irqsDisabledDepth === 0;
  switch (ctx.kind) {
    case 'hardirq':
      return USED_IN_HARDIRQ;
    case 'softirq':
      return USED_IN_SOFTIRQ | (irqsOn ? ENABLED_HARDIRQ : 0);
    case 'task':
      return irqsOn ? ENABLED_HARDIRQ | ENABLED_SOFTIRQ : 0;
    case 'device':
      return 0;
  }
}

/** lockdep_print_held_locks(). */
function heldLines(t: Thread, held: readonly LockdepMap[]): string[] {
  if (held.length === 0) return [`no locks held by ${t.name}/${t.id}.`];
  const lines = [`${held.length} lock${held.length === 1 ? '' : 's'} held by ${t.name}/${t.id}:`];
  held.forEach((l, i) => lines.push(` #${i}: (${l.name})`));
  return lines;
}

/**
 * lockdep_assert_held() (include/linux/lockdep.h): WARN when the running thread does not hold
 * `lock` where the code relies on it. The kernel prints a WARNING at the call site and goes on; the
 * model reports it as a `data-race` — the access it guards is one no lock orders — and goes on too.
 */
export function lockdep_assert_held(k: SyncCore, lock: LockdepMap, where: string): void {
  const t = k.exec.current;
  const held = k.lockdep.held(t);
  if (held.includes(lock)) return;
  k.exec.report('data-race', `WARNING: CPU: ${t.ctx.cpu} PID: ${t.id} at ${where}: lockdep_assert_held(${lock.name})`, [
    `${lock.name} is not held by ${t.name}/${t.id}, and ${where} relies on it`,
    ...heldLines(t, held),
    ...k.exec.callTrace(t, lockdep_assert_held),
  ], { site: `lockdep_assert_held(${lock.name}) in ${where}` });
}
