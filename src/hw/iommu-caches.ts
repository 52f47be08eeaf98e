/**
 * The VT-d first-stage translation caches (VT-d spec §6.2, wording not re-read;
 * docs/kernel/iommu.md, Intel VT-d):
 * the IOTLB (leaf translations) and one paging-structure cache per non-leaf level (PML5E when
 * 5-level, PML4E, PDPTE, PDE), every entry tagged by domain-id and PASID.
 *
 * A paging-structure-cache entry for level L is keyed by the va bits above L's shift (the region
 * one L entry maps) and holds the entry as the walk read it: where it was (table and entry pa), its
 * value, the table it points to and the rights accumulated down to it. Using it means trusting
 * that table frame without re-reading the entries above: exactly what goes wrong when the kernel
 * frees that frame without invalidating.
 */
import type { Level, PagingLevels, Pa } from './address.ts';
import type { InvalidationEffect, PageRange } from './invalidation.ts';
import { TaggedLru } from './tagged-lru.ts';
import { PAGES_PER_ENTRY, type WalkEntry, type WalkRights } from './walker.ts';

export interface IommuCacheSizes {
  readonly levels: PagingLevels;
  /** Entries per cache; 0 means the implementation has no such cache. */
  readonly pml5: number;
  readonly pml4: number;
  readonly pdpt: number;
  readonly pde: number;
  readonly iotlb: number;
}

/**
 * A paging-structure-cache entry: the entry as the walk read it, and the execution step at which
 * the IOMMU filled it (its `iommu_cache_fill` step). The fill step is not hardware state: it lets
 * the oracles tell whether the table the entry names was freed after the entry was cached.
 */
export interface PscEntry {
  readonly entry: WalkEntry;
  readonly filledAt: number;
}

export interface IotlbEntry extends WalkRights {
  /** The physical base of the page (4 KiB, 2 MiB or 1 GiB). */
  readonly base: Pa;
  readonly level: Level;
  /** Whether the leaf's D bit was set when cached: a write through a clean entry re-walks to set it. */
  readonly dirty: boolean;
}

/** The tag of (domain-id, PASID): PASIDs are 20 bits, domain-ids 16. */
export function didPasidTag(did: number, pasid: number): number {
  return did * 0x100000 + pasid;
}

function didOfTag(tag: number): number {
  return Math.floor(tag / 0x100000);
}

/** Whether [k*span, (k+1)*span) pages overlaps `r`. */
function overlaps(key: number, span: number, r: PageRange): boolean {
  const first = key * span;
  return first < r.first + r.pages && first + span > r.first;
}

export class IommuCaches {
  /** Tag = didPasidTag * 4 + (leaf level - 1); key = vpn / pages per leaf. */
  readonly iotlb: TaggedLru<IotlbEntry>;
  /** Index = level of the cached entry (2 = PDE ... 5 = PML5E); null where the level has no cache. */
  readonly psc: readonly (TaggedLru<PscEntry> | null)[];

  constructor(readonly sizes: IommuCacheSizes) {
    const cache = (n: number) => (n > 0 ? new TaggedLru<PscEntry>(n) : null);
    this.iotlb = new TaggedLru(sizes.iotlb);
    this.psc = [null, null, cache(sizes.pde), cache(sizes.pdpt), cache(sizes.pml4), sizes.levels === 5 ? cache(sizes.pml5) : null];
  }

  lookupIotlb(tag: number, vpn: number): IotlbEntry | undefined {
    if (this.iotlb.size === 0) return undefined;
    for (let level = 1; level <= 3; level++) {
      const e = this.iotlb.get(tag * 4 + level - 1, Math.floor(vpn / PAGES_PER_ENTRY[level]));
      if (e !== undefined) return e;
    }
    return undefined;
  }

  fillIotlb(tag: number, vpn: number, e: IotlbEntry): void {
    this.iotlb.set(tag * 4 + e.level - 1, Math.floor(vpn / PAGES_PER_ENTRY[e.level]), e);
  }

  /** The deepest cached non-leaf entry for vpn: a PDE hit lets the walk read the PTE table directly. */
  deepestPsc(tag: number, vpn: number): PscEntry | undefined {
    for (let level = 2; level < this.psc.length; level++) {
      const e = this.psc[level]?.get(tag, Math.floor(vpn / PAGES_PER_ENTRY[level]));
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /** Caches a non-leaf entry the walk went through; `filledAt` is the step of the fill. */
  fillPsc(tag: number, vpn: number, e: WalkEntry, filledAt: number): void {
    this.psc[e.level]?.set(tag, Math.floor(vpn / PAGES_PER_ENTRY[e.level]), { entry: e, filledAt });
  }

  /** The cached entry at `level` covering vpn, without touching recency (tests, oracles). */
  peekPsc(level: Level, tag: number, vpn: number): PscEntry | undefined {
    return this.psc[level]?.peek(tag, Math.floor(vpn / PAGES_PER_ENTRY[level]));
  }

  /** Drops what an IOTLB invalidation drops (invalidation.ts, InvalidationEffect). Returns how many entries. */
  invalidate(effect: InvalidationEffect): number {
    const { did, pasid, range } = effect;
    if (pasid !== null && range === null && effect.keepsPagingStructures === null) {
      const tag = didPasidTag(did, pasid);
      let n = 0;
      for (let level = 0; level < 3; level++) n += this.iotlb.deleteTag(tag * 4 + level);
      for (const cache of this.psc) if (cache !== null) n += cache.deleteTag(tag);
      return n;
    }
    const tagged = (tag: number) => (pasid === null ? didOfTag(tag) === did : tag === didPasidTag(did, pasid));
    const hit = (key: number, span: number) => range === null || overlaps(key, span, range);
    let n = this.iotlb.deleteWhere((t, key, e) => tagged(Math.floor(t / 4)) && hit(key, PAGES_PER_ENTRY[e.level]));
    if (effect.keepsPagingStructures !== null) return n;
    for (let level = 2; level < this.psc.length; level++) {
      const span = PAGES_PER_ENTRY[level];
      n += this.psc[level]?.deleteWhere((t, key) => tagged(t) && hit(key, span)) ?? 0;
    }
    return n;
  }
}
