/**
 * An Intel VT-d IOMMU in scalable mode translating SVA requests through first-stage tables: the
 * process's own x86 page tables, named by a PASID-table entry (docs/kernel/iommu.md).
 *
 * A request is an untranslated DMA with user privilege: SVA PASIDs are unprivileged since Linux
 * dropped supervisor-mode SVA in 2022 (942fd5435dcc). Translation order:
 *   PASID entry → IOTLB hit? done → deepest paging-structure-cache hit (PDE: read the PTE table
 *   directly; PDPTE: read the PD; PML4E: read the PDPT) else the PASID's root table → walk the rest
 *   (walker.ts) → cache every non-leaf entry walked → then the leaf decides: not present, or a
 *   user/write check that fails → fault, nothing in the IOTLB; else an IOTLB entry and the pa.
 * So a user request to a kernel address faults at the leaf yet leaves the kernel half's upper
 * entries cached: the root of the stale-entry problem (Dave Hansen, <d646d434-f680-47a3-b6b9-26f4538c1209@intel.com>).
 *
 * Concurrency: the IOMMU's own state (PASID table, IOTLB, paging-structure caches, invalidation
 * queue) is one shared object, `obj`; a lookup and a cache fill are each one step on it, a walk's
 * reads and A/D writes are steps on the table frames. Callers that change the PASID table yield a
 * `write` step on `obj` first.
 *
 * Invalidation completion (qi_submit_sync, VT-d §6.5.2.8): descriptors take effect in order, one
 * step each; the wait descriptor then completes only when every request that was in flight when it
 * was processed has finished: its walk and, for a device, the memory access using the translation.
 * That drain is what makes "invalidate, then free" safe. A walk that overlaps an invalidation
 * (started before it was processed) does not fill the caches afterwards: otherwise it could
 * re-insert an entry read before the invalidation [modelling choice: hardware is allowed to cache
 * less, never to keep a pre-invalidation entry past the wait].
 */
import { ModelInvariantError, step, type Blocker, type Execution, type ObjectId, type Sim } from '../sim/index.ts';
import { PAGE_SIZE, hex, type Level, type Pa, type Va } from './address.ts';
import { IommuCaches, didPasidTag, type IommuCacheSizes, type IotlbEntry } from './iommu-caches.ts';
import { descKind, deviceTlbInvalidation, formatDesc, invalidationEffect, isDeviceTlbInvalidation, vtdCap, type InvDesc, type InvDescKind, type LegacyIotlbBehaviour } from './invalidation.ts';
import type { PhysMem } from './phys-mem.ts';
import { ENTRY_NAMES, formatEntry } from './pte.ts';
import { PAGES_PER_ENTRY, permits, rootStart, vpnOfVa, walk, walkLabels, type WalkEntry, type WalkHooks, type WalkStart } from './walker.ts';

/** Whose IOMMU: the vendor front end (root-pointer table, command encodings) over this one core. */
export const IOMMU_KINDS = ['intel', 'amd'] as const;
export type IommuKind = (typeof IOMMU_KINDS)[number];

/** The IOMMU: its paging levels and cache sizes (iommu-caches.ts), and whether it speculates. */
export interface IommuConfig extends IommuCacheSizes {
  /** Default intel: the PASID table below; amd: the device table and GCR3 tables (amd/amd-iommu.ts). */
  readonly kind?: IommuKind;
  /**
   * VT-d lets hardware cache translations and paging-structure entries speculatively. With this on,
   * every translation may be followed by a walk for the next page — a recorded choice, so an
   * explorer covers both — which fills the caches the same way a request would.
   */
  readonly speculate?: boolean;
  /**
   * Whether a legacy IOTLB invalidation also drops the first-stage paging-structure caches, which
   * the VT-d specification leaves open (invalidation.ts, legacyEffect). Unset: a recorded choice,
   * LEGACY_IOTLB_CHOICE, made once per execution at the first such descriptor, so an explorer
   * covers both kinds of implementation.
   */
  readonly legacyFlushesPagingStructures?: boolean;
  /** CAP.PSI: page-selective IOTLB invalidation supported (default true). */
  readonly pgselInv?: boolean;
  /** CAP.MAMV: the largest address mask a page-selective invalidation may carry (default DEFAULT_MAMV). */
  readonly mamv?: number;
}

/**
 * MAMV 18: what QEMU's VT-d advertises (VTD_MAMV) and what the capability value d2008c40660462,
 * printed by Linux's DMAR driver on many Intel platforms, holds in bits 53:48. Values on
 * SVA-capable (scalable-mode) parts are not confirmed; the spec's field allows up to 63.
 */
export const DEFAULT_MAMV = 18;

/** The recorded choice an IOMMU without legacyFlushesPagingStructures makes (options: keeps, drops). */
export const LEGACY_IOTLB_CHOICE = 'legacy IOTLB invalidation drops first-stage paging-structure entries';

/** The first-stage part of a scalable-mode PASID-table entry: root table (FSPTPTR) and domain-id. */
export interface PasidEntry {
  readonly pgd: Pa;
  readonly domainId: number;
}

export type IommuFaultReason = 'no-pasid' | 'not-present' | 'reserved' | 'protection';

export type IommuTranslation =
  | { readonly ok: true; readonly pa: Pa; readonly pageLevel: Level; readonly writable: boolean; readonly fromIotlb: boolean }
  /** `level` is where the walk stopped (0 when there was no PASID entry). */
  | { readonly ok: false; readonly reason: IommuFaultReason; readonly level: number };

export interface IommuAccess {
  readonly write: boolean;
  /** The requester's source-id: AMD-Vi finds the GCR3 table through that device's table entry. */
  readonly sid?: number;
  /** An ATS translation request for the device's device-TLB rather than an untranslated DMA. */
  readonly ats?: boolean;
}

/**
 * One paging-structure entry the IOMMU relied on. fromCache false: read from memory at entryPa in
 * table tablePa. fromCache true: a paging-structure-cache entry used instead of memory; tablePa is
 * the table frame that cached entry points to, which the walk trusts and reads next (the frame a
 * stale entry makes the IOMMU read after it was freed); entryPa/entry say where the cached entry
 * was read from originally and what it held, and filledAt the step at which it was cached.
 */
export interface IommuWalkReadEvent {
  readonly pasid: number;
  readonly va: Va;
  readonly level: Level;
  readonly tablePa: Pa;
  readonly entryPa: Pa;
  readonly entry: bigint;
  readonly fromCache: boolean;
  /** fromCache: the execution step of the cache fill (its `iommu_cache_fill` step); null for a memory read. */
  readonly filledAt: number | null;
}

export interface IommuAdWriteEvent {
  readonly pasid: number;
  readonly va: Va;
  readonly level: Level;
  readonly entryPa: Pa;
  /** The bits set (_PAGE_ACCESSED and/or _PAGE_DIRTY). */
  readonly bits: bigint;
}

export interface IommuTranslatedEvent {
  readonly pasid: number;
  readonly va: Va;
  readonly pa: Pa;
  readonly write: boolean;
  readonly fromIotlb: boolean;
}

export interface IommuFaultEvent {
  readonly pasid: number;
  readonly va: Va;
  readonly level: number;
  readonly reason: IommuFaultReason;
}

/** Synchronous callbacks for the checkers; each is called inside the step that does the thing. */
export interface IommuObserver {
  walkRead?(e: IommuWalkReadEvent): void;
  adWrite?(e: IommuAdWriteEvent): void;
  translated?(e: IommuTranslatedEvent): void;
  fault?(e: IommuFaultEvent): void;
  /** An IOTLB (PASID-based or legacy, the latter with the behaviour the IOMMU gave it) or device-TLB invalidation descriptor took effect, in the step that processed it. */
  invalidated?(d: Exclude<InvDesc, { type: 'wait' }>): void;
  /**
   * An invalidation wait finished: the first `upTo` descriptors `invalidated` reported (in that
   * order, counted from the IOMMU's start) are complete — processed, and every request that was in
   * flight when the wait was processed has drained (VT-d §6.5.2.8).
   */
  invalidationsCompleted?(upTo: number): void;
  /** A PASID-table entry was programmed (or cleared: null); from the next request on, walks use it. */
  pasidEntrySet?(pasid: number, entry: PasidEntry | null): void;
}

/** What a device-TLB invalidation reaches: the device attached with that source-id. */
export interface DevtlbTarget {
  readonly name: string;
  /** The object a device-TLB lookup or invalidation touches. */
  readonly devtlbObj: ObjectId;
  invalidateDevtlb(pasid: number, addr: Va, size: Va): void;
}

/** The vendor's root-pointer table: the first-stage root and domain a request of (source-id, PASID) walks from. */
export interface IommuRootTable {
  lookup(sid: number | undefined, pasid: number): PasidEntry | null;
}

export interface IommuStats {
  translations: number;
  atsTranslations: number;
  walks: number;
  iotlbHits: number;
  iotlbMisses: number;
  /** Paging-structure-cache hits by level of the cached entry (2 = PDE ... 5 = PML5E). */
  pscHits: Record<2 | 3 | 4 | 5, number>;
  faults: number;
  adWrites: number;
  /** Walks for the next page taken on speculation (config.speculate). */
  speculativeWalks: number;
  invalidations: Record<InvDescKind, number>;
}

export class Iommu {
  readonly obj: ObjectId;
  readonly caches: IommuCaches;
  readonly observers: IommuObserver[] = [];
  readonly stats: IommuStats = {
    translations: 0,
    atsTranslations: 0,
    walks: 0,
    iotlbHits: 0,
    iotlbMisses: 0,
    pscHits: { 2: 0, 3: 0, 4: 0, 5: 0 },
    faults: 0,
    adWrites: 0,
    speculativeWalks: 0,
    invalidations: { 'piotlb-pasid': 0, 'piotlb-page': 0, 'iotlb-domain': 0, 'iotlb-page': 0, devtlb: 0, wait: 0 },
  };
  /** The capability register (its invalidation fields; the drain bits set, as on the parts MAMV is taken from). */
  readonly cap: bigint;
  private readonly pasidTable = new Map<number, PasidEntry>();
  readonly kind: IommuKind;
  /** VT-d: the PASID table (one per IOMMU in the model); an AMD-Vi front end installs its device table. */
  rootTable: IommuRootTable = { lookup: (_sid, pasid) => this.pasidTable.get(pasid) ?? null };
  private readonly devices = new Map<number, DevtlbTarget>();
  private readonly labels = walkLabels('iommu_walk');
  /** The walk hooks when nobody observes: only count A/D writes (no per-walk allocation). */
  private readonly countingHooks: WalkHooks = {
    onAdWrite: () => {
      this.stats.adWrites++;
    },
  };
  /** Requests in flight, by id; ids increase, so the first in iteration order is the oldest. */
  private readonly inFlight = new Set<number>();
  private nextRequest = 1;
  /** Bumped by every IOTLB/paging-structure invalidation processed. */
  private invalidationGen = 0;
  /** IOTLB and device-TLB descriptors processed so far (what invalidationsCompleted counts). */
  private descriptorsProcessed = 0;
  /** This execution's answer to LEGACY_IOTLB_CHOICE, once asked: one implementation per machine. */
  private legacyDropsPsc: boolean | undefined;

  constructor(
    readonly exec: Execution,
    readonly mem: PhysMem,
    readonly config: IommuConfig,
  ) {
    this.obj = exec.objects.register('iommu');
    this.caches = new IommuCaches(config);
    this.kind = config.kind ?? 'intel';
    this.cap = vtdCap({ pgselInv: config.pgselInv ?? true, mamv: config.mamv ?? DEFAULT_MAMV, readDrain: true, writeDrain: true });
  }

  /** Programs (or clears) a PASID-table entry. Cached translations stay until invalidated. */
  setPasidEntry(pasid: number, entry: PasidEntry | null): void {
    if (entry === null) this.pasidTable.delete(pasid);
    else this.pasidTable.set(pasid, entry);
    this.rootEntrySet(pasid, entry);
  }

  /** The root table now gives `pasid` this entry (or none): the observers learn of it. */
  rootEntrySet(pasid: number, entry: PasidEntry | null): void {
    for (const o of this.observers) o.pasidEntrySet?.(pasid, entry);
  }

  pasidEntry(pasid: number): PasidEntry | null {
    return this.pasidTable.get(pasid) ?? null;
  }

  /** Puts a device behind this IOMMU (SvaDevice does it when built); one device per source-id. */
  attachDevice(sid: number, device: DevtlbTarget): void {
    const present = this.devices.get(sid);
    if (present !== undefined && present !== device) throw new ModelInvariantError(`iommu: sid ${hex(sid)} is already ${present.name}`);
    this.devices.set(sid, device);
  }

  /** A request enters the IOMMU: an invalidation wait processed from now on waits for its end. */
  beginRequest(): number {
    const id = this.nextRequest++;
    this.inFlight.add(id);
    return id;
  }

  endRequest(id: number): void {
    if (!this.inFlight.delete(id)) throw new ModelInvariantError(`iommu: request ${id} ended twice or never began`);
  }

  /**
   * Translates one request. Without `request`, the request is this translation alone; a device
   * that goes on to access memory with the result passes its own (beginRequest) and ends it after.
   */
  *translate(pasid: number, va: Va, access: IommuAccess, request?: number): Sim<IommuTranslation> {
    yield step('iommu_translate', 'write', this.obj);
    const own = request === undefined ? this.beginRequest() : null;
    const result = yield* this.resolve(pasid, va, access);
    if (this.config.speculate === true && this.exec.choose('iommu speculative walk', ['none', 'next page']) === 1) {
      this.stats.speculativeWalks++;
      yield* this.resolve(pasid, va + BigInt(PAGE_SIZE), { write: false, sid: access.sid });
    }
    if (own !== null) this.endRequest(own);
    return result;
  }

  /** Processes the descriptors in order, then Linux's own trailing wait descriptor (dmar.c). */
  *qi_submit_sync(descs: readonly InvDesc[]): Sim {
    yield* this.qi_submit(descs);
    yield* this.invalidationWait();
  }

  /**
   * Queues descriptors without the trailing wait: nothing tells the submitter when they took effect
   * (Linux never does this; a design that does is wrong, and the hazard oracle says so).
   */
  *qi_submit(descs: readonly InvDesc[]): Sim {
    for (const d of descs) {
      if (d.type === 'wait') yield* this.invalidationWait();
      else yield* this.process(d);
    }
  }

  private *resolve(pasid: number, va: Va, access: IommuAccess): Sim<IommuTranslation> {
    const stats = this.stats;
    stats.translations++;
    if (access.ats === true) stats.atsTranslations++;
    const pe = this.rootTable.lookup(access.sid, pasid);
    if (pe === null) return this.fault(pasid, va, 0, 'no-pasid');
    const tag = didPasidTag(pe.domainId, pasid);
    const vpn = vpnOfVa(va);
    const walkAccess = { write: access.write, user: true };

    const hit = this.caches.lookupIotlb(tag, vpn);
    if (hit !== undefined && permits(hit, walkAccess) && (!access.write || hit.dirty)) {
      stats.iotlbHits++;
      const pa = hit.base + (vpn % PAGES_PER_ENTRY[hit.level]) * PAGE_SIZE + Number(BigInt.asUintN(64, va) & 0xfffn);
      return this.success(pasid, va, pa, hit, access.write, true);
    }
    stats.iotlbMisses++;

    const gen = this.invalidationGen;
    let start: WalkStart = rootStart(this.config.levels, pe.pgd);
    const cached = this.caches.deepestPsc(tag, vpn);
    if (cached !== undefined) {
      const e = cached.entry;
      stats.pscHits[e.level as 2 | 3 | 4 | 5]++;
      start = { level: (e.level - 1) as Level, tablePa: e.targetPa, user: e.user, writable: e.writable, nx: e.nx };
      this.reportRead(pasid, va, e, cached.filledAt);
    }
    stats.walks++;
    const r = yield* walk(this.mem, va, start, walkAccess, this.labels, this.walkHooks(pasid, va));

    // Every non-leaf entry the walk went through is cached, whatever the leaf decides.
    const nonLeaf = r.path.length - 1;
    const granted = r.ok && permits(r, walkAccess);
    if (nonLeaf > 0 || granted) {
      yield step('iommu_cache_fill', 'write', this.obj);
      if (this.invalidationGen === gen) {
        const filledAt = this.exec.stepCount;
        for (let i = 0; i < nonLeaf; i++) this.caches.fillPsc(tag, vpn, r.path[i], filledAt);
        if (r.ok && granted) {
          const leafBase = r.pa - (r.pa % (PAGES_PER_ENTRY[r.leafLevel] * PAGE_SIZE));
          this.caches.fillIotlb(tag, vpn, { base: leafBase, level: r.leafLevel, user: r.user, writable: r.writable, nx: r.nx, dirty: r.dirty });
        }
        if (this.exec.tracing) this.exec.log('pwc', `pasid ${hex(pasid)} va ${hex(va)}: cached ${nonLeaf} non-leaf entr${nonLeaf === 1 ? 'y' : 'ies'}`);
      }
    }
    if (!r.ok) return this.fault(pasid, va, r.level, r.reason);
    if (!granted) return this.fault(pasid, va, r.leafLevel, 'protection');
    return this.success(pasid, va, r.pa, { level: r.leafLevel, writable: r.writable }, access.write, false);
  }

  private success(pasid: number, va: Va, pa: Pa, leaf: Pick<IotlbEntry, 'level' | 'writable'>, write: boolean, fromIotlb: boolean): IommuTranslation {
    for (const o of this.observers) o.translated?.({ pasid, va, pa, write, fromIotlb });
    if (this.exec.tracing) this.exec.log('iotlb', `pasid ${hex(pasid)} ${write ? 'write' : 'read'} ${hex(va)} -> ${hex(pa)}${fromIotlb ? ' (IOTLB hit)' : ''}`);
    return { ok: true, pa, pageLevel: leaf.level, writable: leaf.writable, fromIotlb };
  }

  private fault(pasid: number, va: Va, level: number, reason: IommuFaultReason): IommuTranslation {
    this.stats.faults++;
    for (const o of this.observers) o.fault?.({ pasid, va, level, reason });
    if (this.exec.tracing) this.exec.log('iotlb', `DMAR fault: pasid ${hex(pasid)} addr ${hex(va)} ${reason} at level ${level}`);
    return { ok: false, reason, level };
  }

  private walkHooks(pasid: number, va: Va): WalkHooks | undefined {
    if (this.observers.length === 0 && !this.exec.tracing) return this.countingHooks;
    return {
      onRead: (e) => this.reportRead(pasid, va, e, null),
      onAdWrite: (e, bits) => {
        this.stats.adWrites++;
        for (const o of this.observers) o.adWrite?.({ pasid, va, level: e.level, entryPa: e.entryPa, bits: BigInt(bits) });
        if (this.exec.tracing) this.exec.log('walker', `iommu set ${hex(bits)} in ${ENTRY_NAMES[e.level]} entry at ${hex(e.entryPa)}`);
      },
    };
  }

  /** `filledAt`: the fill step of the paging-structure-cache entry used, or null for a memory read. */
  private reportRead(pasid: number, va: Va, e: WalkEntry, filledAt: number | null): void {
    const fromCache = filledAt !== null;
    const tablePa = fromCache ? e.targetPa : e.tablePa;
    for (const o of this.observers) o.walkRead?.({ pasid, va, level: e.level, tablePa, entryPa: e.entryPa, entry: e.entry, fromCache, filledAt });
    if (this.exec.tracing) {
      const where = fromCache ? `cached ${ENTRY_NAMES[e.level]} entry (from ${hex(e.entryPa)}) trusts table ${hex(tablePa)}` : `${ENTRY_NAMES[e.level]} entry at ${hex(e.entryPa)}`;
      this.exec.log(fromCache ? 'pwc' : 'walker', `iommu pasid ${hex(pasid)} va ${hex(va)}: ${where}: ${formatEntry(e.entry, e.level)}`);
    }
  }

  private *process(d: Exclude<InvDesc, { type: 'wait' }>): Sim {
    this.stats.invalidations[descKind(d)]++;
    this.descriptorsProcessed++;
    if (isDeviceTlbInvalidation(d)) {
      const { sid, pasid, addr, size } = deviceTlbInvalidation(d);
      const dev = this.devices.get(sid);
      if (dev === undefined) throw new ModelInvariantError(`iommu: device-TLB invalidation for sid ${hex(sid)} with no device attached`);
      yield step(d.type === 'devtlb' ? 'qi_dev_iotlb_inv' : 'amd_inv_iotlb_pages', 'write', dev.devtlbObj);
      if (this.exec.tracing) this.exec.log('iotlb', formatDesc(d));
      dev.invalidateDevtlb(pasid, addr, size);
      for (const o of this.observers) o.invalidated?.(d);
      return;
    }
    yield step(d.type === 'amd-inv-iommu-pages' ? 'amd_inv_iommu_pages' : d.type === 'piotlb' ? 'qi_piotlb_inv' : d.granularity === 'domain' ? 'qi_iotlb_dsi' : 'qi_iotlb_psi', 'write', this.obj);
    const done = d.type === 'iotlb' ? { ...d, behaviour: this.legacyBehaviour() } : d;
    if (this.exec.tracing) this.exec.log('iotlb', formatDesc(done));
    this.invalidationGen++;
    this.caches.invalidate(invalidationEffect(done));
    for (const o of this.observers) o.invalidated?.(done);
  }

  private legacyBehaviour(): LegacyIotlbBehaviour {
    const option = this.config.legacyFlushesPagingStructures;
    if (option !== undefined) return { dropsPagingStructures: option, chosen: false };
    this.legacyDropsPsc ??= this.exec.choose(LEGACY_IOTLB_CHOICE, ['keeps them', 'drops them']) === 1;
    return { dropsPagingStructures: this.legacyDropsPsc, chosen: true };
  }

  private *invalidationWait(): Sim {
    yield step('qi_inv_wait', 'write', this.obj);
    this.stats.invalidations.wait++;
    const upTo = this.descriptorsProcessed;
    const drainUntil = this.nextRequest - 1;
    if (this.inFlightUpTo(drainUntil)) {
      const blocker: Blocker = {
        blocks: () => this.inFlightUpTo(drainUntil),
        describe: () => `invalidation wait: DMA requests ${[...this.inFlight].filter((id) => id <= drainUntil).join(', ')} still in flight`,
      };
      yield step('qi_inv_wait_drain', 'read', this.obj, blocker);
    }
    for (const o of this.observers) o.invalidationsCompleted?.(upTo);
  }

  private inFlightUpTo(id: number): boolean {
    for (const oldest of this.inFlight) return oldest <= id;
    return false;
  }
}
