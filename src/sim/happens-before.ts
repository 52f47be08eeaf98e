/**
 * Happens-before between the threads of one execution, as vector clocks (Lamport; Fidge; Mattern),
 * for a data-race detector (src/kernel/kernel/kcsan.ts).
 *
 * Edges come from steps on synchronising objects — locks (acquire/release steps), the critical
 * sections the model runs as one step (zone->lock, pool->lock, vmap_area_lock), atomic bit
 * operations (a work item's PENDING), page-table entries (set_pmd() publishes with a barrier that the
 * walker's dependent load pairs with), TLB shootdowns and the IOMMU's queue. A read, a write or an
 * acquire takes in the object's clock before the step; a release publishes the thread's clock into
 * it before the step (what follows an unlock is outside the lock), a write after the step and the
 * code up to the thread's next one (that code ran inside the critical section or atomic operation
 * the step stands for). An object registered as data (ObjectNames.register with `data`: a
 * list_head, a kmalloc'ed record) is what plain loads and stores touch: a step on it orders nothing,
 * which is the whole point — two threads that touch a list without its lock are ordered by nothing,
 * whatever order the schedule happened to run them in.
 *
 * An access made with no thread running (boot) happens before everything.
 *
 * Cost: this runs at every step. Clocks are immutable arrays shared by reference: publishing a clock
 * that already covers the object's (the usual case: a write step took the object's clock in first)
 * stores a reference, and taking in a clock the thread already covers changes nothing. A thread
 * starts a new epoch only when it makes a plain access after publishing (epoch()), not at every
 * publication: an epoch nobody accessed anything in needs no number of its own.
 */
import { FRAME_OBJECT_LIMIT, NO_OBJECT, type ObjectNames, type Step } from './step.ts';
import type { Thread } from './thread.ts';

type Clock = readonly number[];

export class HappensBefore {
  /** Each thread's vector clock, indexed by thread id; entry i is what it knows of thread i. */
  private readonly clocks: Clock[] = [];
  /** Threads whose current epoch was published: their next plain access starts a new one. */
  private readonly published: boolean[] = [];
  /** Each synchronising object's clock: registered objects by index above FRAME_OBJECT_LIMIT, frames by number. */
  private readonly objects: (Clock | undefined)[] = [];
  private readonly frames: (Clock | undefined)[] = [];
  /** The object clock each thread took in last: taking the same one again changes nothing. */
  private readonly lastTaken: (Clock | undefined)[] = [];

  constructor(private readonly names: ObjectNames) {}

  /** The epoch of an access `t` makes now: its component of its clock, new if the last was published. */
  epoch(t: Thread): number {
    const c = this.clock(t.id);
    if (this.published[t.id] !== true) return c[t.id];
    const next = c.slice();
    next[t.id]++;
    this.clocks[t.id] = next;
    this.published[t.id] = false;
    return next[t.id];
  }

  /** Whether thread `tid`'s access at epoch `at` happens before what `t` does now. */
  ordered(tid: number, at: number, t: Thread): boolean {
    return tid === t.id || (this.clock(t.id)[tid] ?? 0) >= at;
  }

  /** A thread spawned by the running one starts knowing what its parent knows. */
  spawned(child: Thread, parent: Thread | null): void {
    if (parent === null) return;
    const c = this.clock(parent.id).slice();
    c[child.id] = 1;
    this.clocks[child.id] = c;
  }

  /** The step `s` is about to run in `t`: take in the object's clock, or (a release) publish to it. */
  before(t: Thread, s: Step): void {
    const obj = s.obj;
    if (obj === NO_OBJECT || s.access === 'local') return;
    if (s.access === 'release') this.publish(t, obj);
    else {
      const theirs = this.objectClock(obj);
      if (theirs === undefined || theirs === this.lastTaken[t.id]) return;
      this.lastTaken[t.id] = theirs;
      this.clocks[t.id] = join(this.clock(t.id), theirs);
    }
  }

  /** The step `s` has run in `t`, with the code up to `t`'s next step: a write publishes now. */
  after(t: Thread, s: Step): void {
    if (s.access === 'write' && s.obj !== NO_OBJECT) this.publish(t, s.obj);
  }

  private objectClock(obj: number): Clock | undefined {
    return obj < FRAME_OBJECT_LIMIT ? this.frames[obj] : this.objects[obj - FRAME_OBJECT_LIMIT];
  }

  /** The object's clock learns `t`'s; `t`'s accesses from now on are in a new epoch (epoch()). */
  private publish(t: Thread, obj: number): void {
    if (this.names.isData(obj)) return;
    const mine = this.clock(t.id);
    const theirs = this.objectClock(obj);
    const merged = theirs === undefined || theirs === mine ? mine : join(mine, theirs);
    if (merged !== theirs) {
      if (obj < FRAME_OBJECT_LIMIT) this.frames[obj] = merged;
      else this.objects[obj - FRAME_OBJECT_LIMIT] = merged;
    }
    this.published[t.id] = true;
  }

  private clock(tid: number): Clock {
    let c = this.clocks[tid];
    if (c === undefined) {
      // Epoch 1: an access at epoch e is ordered before a thread that knows e or more, and nobody
      // knows another thread's first epoch until that thread publishes it.
      const fresh: number[] = [];
      fresh[tid] = 1;
      this.clocks[tid] = c = fresh;
    }
    return c;
  }
}

/** `a` joined with `b`: `a` itself when it already covers `b` (no allocation), else a new clock. */
function join(a: Clock, b: Clock): Clock {
  let out: number[] | null = null;
  for (let i = 0; i < b.length; i++) {
    const v = b[i];
    if (v !== undefined && v > (a[i] ?? 0)) {
      out ??= a.slice();
      out[i] = v;
    }
  }
  return out ?? a;
}
