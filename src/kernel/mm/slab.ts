/**
 * kmalloc()/kzalloc()/kfree() for the small side records a design keeps (a list node naming a
 * table, a work item, a batch), as include/linux/slab.h and mm/slub.c give them (v6.19), with the
 * checks a CONFIG_KASAN + CONFIG_DEBUG_KMEMLEAK kernel makes:
 *  - a blocking mask (GFP_KERNEL) may sleep: might_sleep() (slab_pre_alloc_hook() → might_alloc()),
 *    a sleep-in-atomic report in atomic context;
 *  - a non-blocking mask (GFP_ATOMIC, GFP_NOWAIT) never sleeps and may fail: under fault injection
 *    (config.failAtomicAllocations) each such allocation is a recorded data choice named after the
 *    function, 'kmalloc GFP_ATOMIC' or 'kzalloc GFP_ATOMIC', as alloc_pages() does;
 *  - kfree(NULL) does nothing; a second kfree() of an object is KASAN's "double-free", a kfree() of
 *    something this kernel's kmalloc() never returned its "invalid-free", and an access through the
 *    pointer after the free its "slab-use-after-free" (mm/kasan/report.c; Documentation/dev-tools/kasan.rst)
 *    — each a use-after-free report that leaves the object as it was, as KASAN does;
 *  - an object still allocated at quiescence is reported by the leak oracle (src/check/leak.ts),
 *    unless kmemleak_not_leak() said it is meant to live on (mm/kmemleak.c).
 *
 * [modelling choice] An object is a typed payload, not bytes: `kmalloc(k, init, gfp)` returns a
 * pointer to a fresh object holding `init`, and kzalloc's `init` stands for the zeroed memory (null
 * pointers, zero counts). The payload is read and written only through slab_read()/slab_write(),
 * one step each on the object, so KASAN checks every access; each is also a plain load or store for
 * the data-race detector (src/kernel/kernel/kcsan.ts): the object is data, so the steps order
 * nothing, and two threads that touch it with nothing else ordering them race. Objects take no frames and are never reused (KASAN's quarantine also
 * delays reuse), so only fault injection fails an allocation and a stale pointer never aliases a
 * newer object. kmalloc() itself takes no step: SLUB serves it from a per-CPU freelist, and the new
 * object is known to no other thread until the caller publishes it. kfree() is a write step on the
 * object, so it races with the accesses it may invalidate.
 *
 * The kmalloc heap is per execution, on the Kernel (`k.slab`), made by the first kmalloc().
 */
import { step, type ObjectId, type Sim } from '../../sim/index.ts';
import { __GFP_ZERO, formatGfp, gfpflags_allow_blocking, type gfp_t } from '../include/linux/gfp.ts';
import { contextLines, current_comm } from '../include/linux/mm_types.ts';
import { might_sleep } from '../kernel/sched/core.ts';
import type { Kernel } from '../model/kernel.ts';

/**
 * A pointer kmalloc() returned: the object's identity for steps and reports. `T` is the payload's
 * type; the payload itself lives in the heap, behind slab_read()/slab_write().
 */
export interface SlabObject<T> {
  readonly obj: ObjectId;
  /** For reports and traces: `kmalloc object 3`. */
  readonly name: string;
  /** Type-level only: never set. */
  readonly payload?: T;
}

/** What the heap knows of one object. */
interface SlabRecord {
  /** The pointer kmalloc() returned: another with the same id (another kernel's) is not this object. */
  readonly ptr: SlabObject<unknown>;
  value: unknown;
  freed: boolean;
  /** kmemleak_not_leak(): not reported at quiescence. */
  notLeak: boolean;
  readonly allocComm: string;
  readonly allocStep: number;
}

/** The kmalloc heap of one execution: every object kmalloc() returned, in allocation order. */
export class KmallocHeap {
  readonly records = new Map<ObjectId, SlabRecord>();
}

/** An object still allocated, for the leak oracle. */
export interface LiveSlabObject {
  readonly name: string;
  readonly allocComm: string;
  readonly allocStep: number;
}

function heap(k: Kernel): KmallocHeap {
  return (k.slab ??= new KmallocHeap());
}

function* __kmalloc<T>(k: Kernel, fn: 'kmalloc' | 'kzalloc', init: T, gfp: gfp_t): Sim<SlabObject<T> | null> {
  if (gfpflags_allow_blocking(gfp)) might_sleep(k, fn);
  else if (k.config.failAtomicAllocations && k.exec.choose(`${fn} GFP_ATOMIC`, ['succeed', 'fail'], { fault: true }) === 1) {
    if (k.exec.tracing) k.exec.log('alloc', `${fn}(${formatGfp(gfp)}) failed (fault injected)`);
    return null;
  }
  const h = heap(k);
  const name = `kmalloc object ${h.records.size}`;
  const obj = k.exec.objects.register(name, true);
  const ptr: SlabObject<T> = { obj, name };
  h.records.set(obj, { ptr, value: init, freed: false, notLeak: false, allocComm: current_comm(k.exec), allocStep: k.exec.stepCount });
  const track = k.exec.track();
  if (track !== null) k.exec.stacks?.allocated(obj, track);
  if (k.exec.tracing) k.exec.log('alloc', `${fn}(${formatGfp(gfp)}) = ${name}`);
  return ptr;
}

/** kmalloc(): a new object holding `init`, or null (a non-blocking mask under fault injection). */
export function kmalloc<T>(k: Kernel, init: T, gfp: gfp_t): Sim<SlabObject<T> | null> {
  return __kmalloc(k, 'kmalloc', init, gfp);
}

/** kzalloc(): kmalloc() with __GFP_ZERO; `zeroed` is what the zeroed object reads as. */
export function kzalloc<T>(k: Kernel, zeroed: T, gfp: gfp_t): Sim<SlabObject<T> | null> {
  return __kmalloc(k, 'kzalloc', zeroed, gfp | __GFP_ZERO);
}

/** The record of `p` in this kernel's heap, or undefined if this kernel's kmalloc() never returned it. */
function recordOf(k: Kernel, p: SlabObject<unknown>): SlabRecord | undefined {
  const r = k.slab?.records.get(p.obj);
  return r?.ptr === p ? r : undefined;
}

/** The "Allocated by"/"Freed by" sections of an object of this heap, when the execution records stacks (src/sim/stack.ts). */
function tracks(k: Kernel, p: SlabObject<unknown>, r: SlabRecord | undefined): string[] {
  return r === undefined ? [] : (k.exec.stacks?.describe(p.obj) ?? []);
}

/**
 * kfree(): the object goes back; kfree(null) does nothing. A freed or foreign object is reported
 * (double-free, invalid-free) and left as it is.
 */
export function* kfree(k: Kernel, p: SlabObject<unknown> | null): Sim {
  if (p === null) return;
  yield step('kfree', 'write', p.obj);
  const r = recordOf(k, p);
  if (r === undefined || r.freed) {
    const type = r === undefined ? 'invalid-free' : 'double-free';
    k.exec.report('use-after-free', `BUG: KASAN: ${type} in kfree`, [
      `${r === undefined ? 'Free of an object kmalloc() never returned' : 'Second free of'} ${p.name} by task ${current_comm(k.exec)}`,
      ...contextLines(k.exec),
      ...tracks(k, p, r),
    ]);
    return;
  }
  r.freed = true;
  const track = k.exec.track();
  if (track !== null) k.exec.stacks?.freed(p.obj, track);
  if (k.exec.tracing) k.exec.log('alloc', `kfree(${p.name})`);
}

/** KASAN's check of an access through `p`: false, after the report, if the object is freed. */
function kasan_check_object(k: Kernel, p: SlabObject<unknown>, r: SlabRecord | undefined, write: boolean, label: string): r is SlabRecord {
  if (r !== undefined && !r.freed) return true;
  const type = r === undefined ? 'wild-memory-access' : 'slab-use-after-free';
  k.exec.report('use-after-free', `BUG: KASAN: ${type} in ${label}`, [
    `${write ? 'Write' : 'Read'} of ${p.name} by task ${current_comm(k.exec)}`,
    ...contextLines(k.exec),
    ...tracks(k, p, r),
  ]);
  return false;
}

/**
 * A read of the object through `p` (`label` names it as C would: `READ_ONCE(rec->pt)`): one step;
 * a freed object is reported and its last payload returned, as the stale read would see it (a
 * pointer this kernel never returned reads undefined).
 */
export function* slab_read<T>(k: Kernel, p: SlabObject<T>, label: string): Sim<T> {
  yield step(label, 'read', p.obj);
  k.kcsan.access(p.obj, false, slab_read);
  const r = recordOf(k, p);
  kasan_check_object(k, p, r, false, label);
  return r?.value as T;
}

/** A write of the whole payload through `p`: one step; a write to a freed object is reported and dropped. */
export function* slab_write<T>(k: Kernel, p: SlabObject<T>, label: string, value: T): Sim {
  yield step(label, 'write', p.obj);
  k.kcsan.access(p.obj, true, slab_write);
  const r = recordOf(k, p);
  if (kasan_check_object(k, p, r, true, label)) r.value = value;
}

/** kmemleak_not_leak(): the object is meant to outlive quiescence; the leak oracle skips it. */
export function kmemleak_not_leak(k: Kernel, p: SlabObject<unknown>): void {
  const r = recordOf(k, p);
  if (r !== undefined) r.notLeak = true;
}

/** The objects still allocated and not declared kmemleak_not_leak(), in allocation order. */
export function slab_live_objects(k: Kernel): LiveSlabObject[] {
  const live: LiveSlabObject[] = [];
  for (const r of k.slab?.records.values() ?? []) {
    if (!r.freed && !r.notLeak) live.push({ name: r.ptr.name, allocComm: r.allocComm, allocStep: r.allocStep });
  }
  return live;
}
