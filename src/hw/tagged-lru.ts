/**
 * A bounded, deterministic least-recently-used cache keyed by (tag, key), both plain numbers: the
 * storage behind the CPU TLB and paging-structure caches and the IOMMU IOTLB and paging-structure
 * caches. The tag says whose entry it is (IOMMU: domain-id and PASID; CPU TLB: page size) and the
 * key which addresses it covers (va bits above the level's shift).
 *
 * Replacement is exact LRU over all tags together (one recency list), which is what a small fully
 * associative hardware cache approximates; real replacement policies are implementation specific.
 * Eviction never depends on object identity or hash order: the list order is the order of use.
 */
import { ModelInvariantError } from '../sim/index.ts';

interface Slot<E> {
  readonly tag: number;
  readonly key: number;
  value: E;
  /** Neighbours in recency order: `older` towards the eviction end. */
  older: Slot<E> | null;
  newer: Slot<E> | null;
}

export class TaggedLru<E> {
  private readonly byTag = new Map<number, Map<number, Slot<E>>>();
  private oldest: Slot<E> | null = null;
  private newest: Slot<E> | null = null;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new ModelInvariantError(`cache capacity ${capacity}`);
  }

  get size(): number {
    return this.count;
  }

  /** The entry, marked most recently used; undefined on a miss. */
  get(tag: number, key: number): E | undefined {
    const slot = this.byTag.get(tag)?.get(key);
    if (slot === undefined) return undefined;
    this.unlink(slot);
    this.append(slot);
    return slot.value;
  }

  /** The entry without marking it used (tests, oracles). */
  peek(tag: number, key: number): E | undefined {
    return this.byTag.get(tag)?.get(key)?.value;
  }

  /** Inserts or replaces; when full, evicts the least recently used entry. No-op at capacity 0. */
  set(tag: number, key: number, value: E): void {
    if (this.capacity === 0) return;
    let keys = this.byTag.get(tag);
    const existing = keys?.get(key);
    if (existing !== undefined) {
      existing.value = value;
      this.unlink(existing);
      this.append(existing);
      return;
    }
    if (this.count === this.capacity) this.remove(this.oldest as Slot<E>);
    if (keys === undefined) {
      keys = new Map();
      this.byTag.set(tag, keys);
    }
    const slot: Slot<E> = { tag, key, value, older: null, newer: null };
    keys.set(key, slot);
    this.append(slot);
    this.count++;
  }

  /** Drops one entry; whether it was there. */
  delete(tag: number, key: number): boolean {
    const slot = this.byTag.get(tag)?.get(key);
    if (slot === undefined) return false;
    this.remove(slot);
    return true;
  }

  /** Drops every entry the predicate selects (an invalidation); returns how many. */
  deleteWhere(pred: (tag: number, key: number, value: E) => boolean): number {
    let dropped = 0;
    for (let s = this.oldest; s !== null; ) {
      const next = s.newer;
      if (pred(s.tag, s.key, s.value)) {
        this.remove(s);
        dropped++;
      }
      s = next;
    }
    return dropped;
  }

  /** Drops every entry of one tag. */
  deleteTag(tag: number): number {
    const keys = this.byTag.get(tag);
    if (keys === undefined) return 0;
    const n = keys.size;
    for (const slot of [...keys.values()]) this.remove(slot);
    return n;
  }

  clear(): void {
    this.byTag.clear();
    this.oldest = this.newest = null;
    this.count = 0;
  }

  /** Entries from least to most recently used (tests, traces). */
  *entries(): IterableIterator<{ tag: number; key: number; value: E }> {
    for (let s = this.oldest; s !== null; s = s.newer) yield { tag: s.tag, key: s.key, value: s.value };
  }

  private remove(slot: Slot<E>): void {
    const keys = this.byTag.get(slot.tag);
    keys?.delete(slot.key);
    if (keys !== undefined && keys.size === 0) this.byTag.delete(slot.tag);
    this.unlink(slot);
    this.count--;
  }

  private unlink(slot: Slot<E>): void {
    if (slot.older !== null) slot.older.newer = slot.newer;
    else this.oldest = slot.newer;
    if (slot.newer !== null) slot.newer.older = slot.older;
    else this.newest = slot.older;
    slot.older = slot.newer = null;
  }

  private append(slot: Slot<E>): void {
    slot.older = this.newest;
    if (this.newest !== null) this.newest.newer = slot;
    else this.oldest = slot;
    this.newest = slot;
  }
}
