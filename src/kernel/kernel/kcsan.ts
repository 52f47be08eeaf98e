/**
 * A data-race detector in the spirit of KCSAN, the Kernel Concurrency Sanitizer (kernel/kcsan/,
 * Documentation/dev-tools/kcsan.rst; Linux v6.19), over the plain loads and stores of the memory the
 * deferred-free designs share: every list_head word (the pages' lru/pt_list, static heads, embedded
 * nodes), every page->flags word (atomic bitops and plain `__` ones told apart, as KCSAN tells
 * marked and plain accesses apart), every kmalloc'ed record (slab_read()/slab_write()) and each
 * vmstat counter (NR_FREE_PAGES per zone, NR_PAGETABLE per node; src/kernel/mm/vmstat.ts): as in
 * mm/vmstat.c and include/linux/vmstat.h, the irq-safe mod_zone_page_state()/mod_lruvec_page_state()
 * updates (this_cpu cmpxchg) and the readers (atomic_long_read()) are marked, the raw
 * __mod_zone_page_state() the buddy allocator makes under zone->lock is a plain read-modify-write.
 *
 * KCSAN catches a race when it sees two accesses overlap in time (a watchpoint stalls one access and
 * watches for the other). The model judges by happens-before instead, like ThreadSanitizer: two
 * accesses to one word from different threads, at least one a write, not ordered by a lock, an
 * atomic or another synchronising step (src/sim/happens-before.ts), race — whichever order the
 * schedule ran them in. So an execution that ran them far apart still shows the race, which the
 * order that tears the list (list-corruption) would need to be explored to show.
 *
 * Each word keeps its last write and each thread's last read (after FastTrack's shadow, Flanagan and
 * Freund, PLDI 2009, without its epoch-only fast path; see Shadow). Reported like KCSAN: "BUG: KCSAN:
 * data-race in A / B", both accesses with their task, CPU and where they were, and the locks each
 * held; the same pair of places is reported once per execution, as KCSAN rate-limits its reports.
 * Not reported (as KCSAN does not): a race between accesses of one thread, and accesses at boot.
 */
import { captureStack, type Execution, type HappensBefore, type Thread } from '../../sim/index.ts';
import type { Lockdep } from './locking/lockdep.ts';

/** Where an access was made, for a report: shared by a thread's accesses until it moves on. */
interface Place {
  /**
   * The hooked functions the thread was inside and its step. Not a stack: accesses are too many to
   * take one each, even in the printed replay; the report takes the racing access's own (race()).
   */
  readonly where: string;
  /** The function a report's title names: the innermost hooked function, else the step. */
  readonly fn: string;
  readonly locks: readonly string[];
}

/**
 * One access, kept until a later access is judged against it. A word's shadow keeps one record for
 * its last write and one per thread for reads, overwritten in place (no allocation per access).
 */
interface Access {
  tid: number;
  epoch: number;
  write: boolean;
  /** A marked access (an atomic bitop, a vmstat counter's irq-safe update or read): two of them never race. */
  atomic: boolean;
  step: number;
  place: Place;
}

/** A thread's last Place and what it was made from: a new one only when the thread has moved on. */
interface PlaceCache {
  label: string;
  frames: number;
  top: string | undefined;
  held: number;
  topLock: unknown;
  place: Place;
}

/**
 * A word's shadow: its last write and each thread's last read. Reads are not dropped at a write (as
 * FastTrack does): a read ordered before a write that the next write is ordered after is ordered
 * before that one too, so keeping it costs a check and never a false report.
 */
interface Shadow {
  write: Access | undefined;
  readonly reads: Access[];
}

export class Kcsan {
  private readonly hb: HappensBefore;
  private readonly shadows = new Map<number, Shadow>();
  private readonly places: (PlaceCache | undefined)[] = [];
  private readonly reported = new Set<string>();

  constructor(
    private readonly exec: Execution,
    private readonly lockdep: Lockdep,
    /** A word's name for a report. */
    private readonly describeWord: (word: number) => string,
  ) {
    this.hb = exec.trackHappensBefore();
  }

  /**
   * A plain load (write false) or store of `word`, by the running thread; at boot (no thread) it
   * orders before everything and is not kept. `by`: the instrumentation helper that calls this,
   * left out of stacks with what it called. `atomic`: a marked access, which races only with a plain one.
   */
  access(word: number, write: boolean, by: (...args: never[]) => unknown, atomic = false): void {
    const t = this.exec.currentOrNull;
    if (t === null) return;
    const epoch = this.hb.epoch(t);
    const step = this.exec.stepCount;
    const place = this.placeOf(t);
    let shadow = this.shadows.get(word);
    if (shadow === undefined) this.shadows.set(word, (shadow = { write: undefined, reads: [] }));
    const last = shadow.write;
    if (last !== undefined && this.races(last, t, atomic)) this.race(last, { tid: t.id, epoch, write, atomic, step, place }, word, by);
    if (write) {
      for (const r of shadow.reads) if (this.races(r, t, atomic)) this.race(r, { tid: t.id, epoch, write, atomic, step, place }, word, by);
      if (last === undefined) shadow.write = { tid: t.id, epoch, write, atomic, step, place };
      else update(last, t.id, epoch, true, atomic, step, place);
      return;
    }
    for (const r of shadow.reads) {
      if (r.tid === t.id) {
        update(r, t.id, epoch, false, atomic, step, place);
        return;
      }
    }
    shadow.reads.push({ tid: t.id, epoch, write, atomic, step, place });
  }

  /** Whether `a` and an access of `t` now race: another thread, not both marked, unordered. */
  private races(a: Access, t: Thread, atomic: boolean): boolean {
    return a.tid !== t.id && !(atomic && a.atomic) && !this.hb.ordered(a.tid, a.epoch, t);
  }

  private placeOf(t: Thread): Place {
    const label = t.pending?.label ?? 'its end';
    const fn = t.frames.length === 0 ? label : t.frames[t.frames.length - 1];
    const held = this.lockdep.held(t);
    const c = this.places[t.id];
    const top = t.frames[t.frames.length - 1];
    const topLock = held[held.length - 1];
    if (c !== undefined && c.label === label && c.frames === t.frames.length && c.top === top && c.held === held.length && c.topLock === topLock) return c.place;
    const place = { where: t.frames.length === 0 ? label : `${t.frames.join(' > ')}: ${label}`, fn, locks: held.map((l) => l.name) };
    this.places[t.id] = { label, frames: t.frames.length, top, held: held.length, topLock, place };
    return place;
  }

  private race(earlier: Access, now: Access, at: number, by: (...args: never[]) => unknown): void {
    const t = this.exec.threads[now.tid];
    const [a, b] = [earlier.place.fn, now.place.fn].sort();
    const key = `${a} / ${b}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const other = this.exec.threads[earlier.tid];
    const word = this.describeWord(at);
    const held = (x: Access) => (x.place.locks.length === 0 ? 'no locks held' : `locks held: ${x.place.locks.join(', ')}`);
    // Lockdep's pseudo-locks (a work item's completion, "(work_completion)(…)") order nothing here.
    const only = (a: Access, b: Access) => a.place.locks.filter((l) => !l.startsWith('(') && !b.place.locks.includes(l));
    const onlyOne = [...only(earlier, now).map((l) => `${l} is held by task ${other.id} and not by task ${t.id}`), ...only(now, earlier).map((l) => `${l} is held by task ${t.id} and not by task ${other.id}`)];
    this.exec.report(
      'data-race',
      `BUG: KCSAN: data-race in ${key}`,
      [
        `${earlier.write ? 'write' : 'read'} to ${word} of 8 bytes by task ${other.id} (${other.name}) on cpu ${other.ctx.cpu} at step ${earlier.step}:`,
        ` ${earlier.place.where}`,
        ` ${held(earlier)}`,
        '',
        `${now.write ? 'write' : 'read'} to ${word} of 8 bytes by task ${t.id} (${t.name}) on cpu ${t.ctx.cpu} at step ${now.step}:`,
        ...(this.exec.stacks === null ? [` ${now.place.where}`] : ['Call Trace:', ...captureStack(t, by).map((f) => ` ${f}`)].map((l) => ` ${l}`)),
        ` ${held(now)}`,
        '',
        `no lock, atomic or other happens-before edge orders the two accesses${onlyOne.length > 0 ? `: ${onlyOne.join('; ')}` : ' (neither holds a lock)'}`,
        'Reported by Kernel Concurrency Sanitizer on:',
        `CPU: ${t.ctx.cpu} PID: ${t.id} Comm: ${t.name}`,
      ],
      { site: `data-race in ${key}` },
    );
  }
}

function update(a: Access, tid: number, epoch: number, write: boolean, atomic: boolean, step: number, place: Place): void {
  a.tid = tid;
  a.epoch = epoch;
  a.write = write;
  a.atomic = atomic;
  a.step = step;
  a.place = place;
}
