/**
 * One CPU's address translation: its TLB and paging-structure caches over the shared walker
 * (Intel SDM vol. 3 §4.10). What is modelled, and the SDM rule behind each:
 *  - TLB: leaf translations keyed by page number and page size, each keeping the G bit, the
 *    accumulated rights and whether the leaf was dirty (§4.10.2). A write through a clean entry
 *    re-walks to set D (§4.8).
 *  - Paging-structure caches: one per non-leaf level (PML5E when 5-level, PML4E, PDPTE, PDE),
 *    keyed by the va bits that level's entry maps, holding the next table and accumulated rights
 *    (§4.10.3). A translation starts from the deepest hit.
 *  - A page fault invalidates the TLB and paging-structure-cache entries that would be used for the
 *    faulting address (§4.10.4.1), so unlike the IOMMU a faulting walk leaves nothing cached.
 *    A TLB hit whose rights do not allow the access faults without a re-walk (the stale-TLB
 *    "spurious fault" Linux handles in spurious_kernel_fault()).
 *  - INVLPG drops the page's TLB entries, global or not, and ALL paging-structure-cache entries
 *    (§4.10.4.1: "all entries in the paging-structure caches associated with the current PCID,
 *    regardless of the linear addresses to which they correspond"); Linux relies on that in
 *    pmd_free_pte_page() ("INVLPG clears the paging-structure caches").
 *  - A CR3 write drops non-global TLB entries and all paging-structure caches; toggling CR4.PGE
 *    (what flush_tlb_all() ends in, __flush_tlb_global) drops everything. PCIDs are not modelled.
 *
 * The caches are this CPU's own. When built with an object registry, a lookup is one step on
 * `tlbObj`; a thread that flushes another CPU's TLB (an IPI in the kernel layer) yields a `write`
 * step on it before calling invlpg/flushAll/flushNonGlobal.
 */
import { NO_OBJECT, step, type ObjectId, type ObjectNames, type Sim } from '../sim/index.ts';
import { PAGE_SIZE, type Level, type Pa, type PagingLevels, type Va } from './address.ts';
import type { PhysMem } from './phys-mem.ts';
import { TaggedLru } from './tagged-lru.ts';
import { PAGES_PER_ENTRY, permits, rootStart, vpnOfVa, walk, walkLabels, type WalkAccess, type WalkEntry, type WalkRights, type WalkStart } from './walker.ts';

export interface CpuConfig {
  readonly tlbEntries: number;
  /** Entries in each paging-structure cache. */
  readonly pscEntries: number;
  readonly levels: PagingLevels;
}

export type CpuTranslation =
  | { readonly ok: true; readonly pa: Pa; readonly pageLevel: Level; readonly global: boolean; readonly fromTlb: boolean }
  | { readonly ok: false; readonly reason: 'not-present' | 'reserved' | 'protection'; readonly level: Level };

interface TlbEntry extends WalkRights {
  readonly base: Pa;
  readonly level: Level;
  readonly global: boolean;
  readonly dirty: boolean;
}

export interface CpuStats {
  tlbHits: number;
  tlbMisses: number;
  pscHits: number;
  walks: number;
  faults: number;
  invlpg: number;
  /** flushAll (global included) and flushNonGlobal (CR3 write) calls. */
  flushAll: number;
  flushNonGlobal: number;
}

export class Cpu {
  /** Physical address of the root table (CR3 without PCID/flags). */
  cr3: Pa = 0;
  /** The object a TLB lookup or flush touches; NO_OBJECT when built without a registry. */
  readonly tlbObj: ObjectId;
  readonly stats: CpuStats = { tlbHits: 0, tlbMisses: 0, pscHits: 0, walks: 0, faults: 0, invlpg: 0, flushAll: 0, flushNonGlobal: 0 };
  /** Tag = leaf level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB); key = vpn / pages per leaf. */
  private readonly tlb: TaggedLru<TlbEntry>;
  /** Index = level of the cached entry (2 = PDE ... 5 = PML5E); tag 0; key = vpn / pages per entry. */
  private readonly psc: readonly (TaggedLru<WalkEntry> | null)[];
  private readonly labels = walkLabels('cpu_walk');

  constructor(
    readonly id: number,
    readonly mem: PhysMem,
    readonly config: CpuConfig,
    objects?: ObjectNames,
  ) {
    this.tlbObj = objects === undefined ? NO_OBJECT : objects.register(`cpu${id} tlb`);
    this.tlb = new TaggedLru(config.tlbEntries);
    const cache = () => new TaggedLru<WalkEntry>(config.pscEntries);
    this.psc = [null, null, cache(), cache(), cache(), config.levels === 5 ? cache() : null];
  }

  /** MOV to CR3. */
  load_cr3(pa: Pa): void {
    this.cr3 = pa;
    this.flushNonGlobal();
  }

  *translate(va: Va, access: WalkAccess): Sim<CpuTranslation> {
    if (this.tlbObj !== NO_OBJECT) yield step('cpu_tlb_lookup', 'write', this.tlbObj);
    const vpn = vpnOfVa(va);
    const offset = Number(BigInt.asUintN(64, va) & 0xfffn);
    for (let level = 1; level <= 3; level++) {
      const e = this.tlb.get(level, Math.floor(vpn / PAGES_PER_ENTRY[level]));
      if (e === undefined) continue;
      if (!permits(e, access)) return this.pageFault(vpn, 'protection', e.level);
      if (access.write && !e.dirty) break;
      this.stats.tlbHits++;
      return { ok: true, pa: e.base + (vpn % PAGES_PER_ENTRY[level]) * PAGE_SIZE + offset, pageLevel: e.level, global: e.global, fromTlb: true };
    }
    this.stats.tlbMisses++;

    let start: WalkStart = rootStart(this.config.levels, this.cr3);
    for (let level = 2; level < this.psc.length; level++) {
      const e = this.psc[level]?.get(0, Math.floor(vpn / PAGES_PER_ENTRY[level]));
      if (e === undefined) continue;
      this.stats.pscHits++;
      start = { level: (level - 1) as Level, tablePa: e.targetPa, user: e.user, writable: e.writable, nx: e.nx };
      break;
    }
    this.stats.walks++;
    const r = yield* walk(this.mem, va, start, access, this.labels);
    if (!r.ok) return this.pageFault(vpn, r.reason, r.level);
    if (!permits(r, access)) return this.pageFault(vpn, 'protection', r.leafLevel);
    for (let i = 0; i < r.path.length - 1; i++) {
      const e = r.path[i];
      this.psc[e.level]?.set(0, Math.floor(vpn / PAGES_PER_ENTRY[e.level]), e);
    }
    const pagesPerLeaf = PAGES_PER_ENTRY[r.leafLevel];
    const base = r.pa - (r.pa % (pagesPerLeaf * PAGE_SIZE));
    this.tlb.set(r.leafLevel, Math.floor(vpn / pagesPerLeaf), {
      base,
      level: r.leafLevel,
      user: r.user,
      writable: r.writable,
      nx: r.nx,
      global: r.global,
      dirty: r.dirty,
    });
    return { ok: true, pa: r.pa, pageLevel: r.leafLevel, global: r.global, fromTlb: false };
  }

  /** INVLPG: this page's TLB entries (global or not) and every paging-structure-cache entry. */
  invlpg(va: Va): void {
    this.stats.invlpg++;
    this.dropTlbFor(vpnOfVa(va));
    for (const c of this.psc) c?.clear();
  }

  /** All TLB entries including global ones, and all paging-structure caches (CR4.PGE toggle). */
  flushAll(): void {
    this.stats.flushAll++;
    this.tlb.clear();
    for (const c of this.psc) c?.clear();
  }

  /** A CR3 write: non-global TLB entries and all paging-structure caches. */
  flushNonGlobal(): void {
    this.stats.flushNonGlobal++;
    this.tlb.deleteWhere((_tag, _key, e) => !e.global);
    for (const c of this.psc) c?.clear();
  }

  /** Whether a TLB entry maps va (tests, oracles); does not touch recency. */
  tlbHas(va: Va): boolean {
    const vpn = vpnOfVa(va);
    for (let level = 1; level <= 3; level++) if (this.tlb.peek(level, Math.floor(vpn / PAGES_PER_ENTRY[level])) !== undefined) return true;
    return false;
  }

  /** Entries in the paging-structure caches, all levels together (tests, stats). */
  get pscSize(): number {
    let n = 0;
    for (const c of this.psc) n += c?.size ?? 0;
    return n;
  }

  private pageFault(vpn: number, reason: 'not-present' | 'reserved' | 'protection', level: Level): CpuTranslation {
    this.stats.faults++;
    this.dropTlbFor(vpn);
    for (let l = 2; l < this.psc.length; l++) this.psc[l]?.delete(0, Math.floor(vpn / PAGES_PER_ENTRY[l]));
    return { ok: false, reason, level };
  }

  private dropTlbFor(vpn: number): void {
    for (let level = 1; level <= 3; level++) this.tlb.delete(level, Math.floor(vpn / PAGES_PER_ENTRY[level]));
  }
}
