/**
 * A scheduling point: what a simulated thread is about to do when it is next resumed.
 *
 * A thread yields a Step *before* the operation it describes; the code between that yield and the
 * next one runs atomically when the scheduler picks the thread. So at every choice the explorer
 * sees, for each runnable thread, which object its next step touches and how — enough for DPOR to
 * tell independent steps apart (two steps are dependent when they touch the same object and at
 * least one of them writes, acquires or releases it).
 */
import type { Thread } from './thread.ts';

/** How a step touches its object. `local` touches nothing another thread can see. */
export type AccessKind = 'read' | 'write' | 'acquire' | 'release' | 'local';

/**
 * Object identities are plain numbers so that a step costs no string building. The hardware
 * layer uses a frame's number as its identity (below FRAME_OBJECT_LIMIT); everything else gets an
 * identity above it from an {@link ObjectNames} registry.
 */
export type ObjectId = number;

/** Frame numbers below this are object identities of physical frames. */
export const FRAME_OBJECT_LIMIT = 1 << 24;

/** The identity of "nothing shared", for `local` steps. */
export const NO_OBJECT: ObjectId = -1;

/** Makes a thread not runnable while its condition holds (a mutex held elsewhere, no work queued). */
export interface Blocker {
  blocks(thread: Thread): boolean;
  /** What the thread waits for, in kernel terms ("mutex iommu_sva_lock held by kworker/u:1"). */
  describe(): string;
}

export interface Step {
  /** The kernel or hardware event, named as in Linux or the spec: `spin_lock`, `iommu_walk_level`. */
  readonly label: string;
  readonly access: AccessKind;
  readonly obj: ObjectId;
  readonly blocker?: Blocker;
}

export function step(label: string, access: AccessKind, obj: ObjectId, blocker?: Blocker): Step {
  return blocker === undefined ? { label, access, obj } : { label, access, obj, blocker };
}

/** A computation made of steps: run it with `yield*` from a thread body. */
export type Sim<T = void> = Generator<Step, T, undefined>;

/** True when two steps must not be reordered (same object, at least one not a plain read). */
export function dependent(a: Step, b: Step): boolean {
  if (a.obj !== b.obj || a.obj === NO_OBJECT) return false;
  return !(a.access === 'read' && b.access === 'read');
}

/** Names for non-frame objects, so traces and reports can say "lock kernel_pgtable_work.lock". */
export class ObjectNames {
  private readonly names: string[] = [];
  /** Per object, whether it was registered as data (happens-before.ts). */
  private readonly data: boolean[] = [];

  /**
   * A new object. `data`: plain memory (a list_head, a kmalloc'ed record) that steps touch but that
   * orders nothing between threads; by default an object synchronises (a lock, an atomic, a
   * critical section run as one step).
   */
  register(name: string, data = false): ObjectId {
    this.names.push(name);
    this.data.push(data);
    return FRAME_OBJECT_LIMIT + this.names.length - 1;
  }

  isData(id: ObjectId): boolean {
    return id >= FRAME_OBJECT_LIMIT && this.data[id - FRAME_OBJECT_LIMIT] === true;
  }

  describe(id: ObjectId): string {
    if (id === NO_OBJECT) return 'nothing';
    if (id < FRAME_OBJECT_LIMIT) return `frame 0x${id.toString(16)}`;
    return this.names[id - FRAME_OBJECT_LIMIT] ?? `object ${id}`;
  }
}
