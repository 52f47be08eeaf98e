/**
 * The x86-64 page walk, one memory access per step (Intel SDM vol. 3 §4.5, §4.8), shared by the CPU
 * (cpu.ts) and the VT-d first-stage walker (iommu.ts, which uses the same format). The walk yields a
 * `read` step on the table's frame before each entry read and a `write` step on it before each
 * Accessed/Dirty update, so a device's walk interleaves with the kernel clearing or freeing tables.
 *
 * Rules this walker follows, and why:
 *  - It starts at the root table or at a lower table a paging-structure-cache hit names, carrying
 *    the rights accumulated above it (SDM §4.10.3.2: a PSC entry caches the combined rights).
 *  - Rights accumulate down the path: user only if every level has U/S, writable only if every level
 *    has R/W, no-execute if any level has XD (SDM §4.6). The fault decision is the caller's, through
 *    `permits()`; the walker needs the access only to decide A/D below.
 *  - PS at PDPTE (1 GiB) and PDE (2 MiB) makes a leaf; PS in a PTE is PAT; PS in a PML4E/PML5E and
 *    non-zero reserved bits of a large leaf are reserved-bit faults. The machine's MAXPHYADDR is
 *    taken as 52 (no reserved address bits), but a table pointer outside simulated memory is
 *    reported as `reserved` at the entry that holds it: real hardware reads all-ones there, which is
 *    a reserved-bit fault at any level. Leaves may point outside memory (MMIO of an ioremap).
 *  - Accessed is set in every non-leaf entry the walk goes through, whether or not the access then
 *    faults (SDM §4.8: A is set in each paging-structure entry used for the translation; the kernel
 *    tables carry A already, since _KERNPG_TABLE includes it, so this is usually no write at all).
 *    The leaf gets A, and D for a write, only when the access is permitted: an access that faults
 *    (a user request to a supervisor leaf) leaves the leaf unmarked.
 *  - A/D updates are locked read-modify-writes that compare against the value the walk read: if
 *    the entry changed between the read and the update, nothing is written and the walk re-reads
 *    that entry. Hardware that ORs bits into whatever is there is the exception, not the rule:
 *    Knights Landing's erratum of setting A/D in non-present entries is why Linux x86 pte_none()
 *    masks _PAGE_KNL_ERRATUM_MASK. [ANALYSIS: the SDM does not specify the retry; this is the
 *    conservative reading that still writes into a freed table whose contents are unchanged.]
 */
import { step, type Sim } from '../sim/index.ts';
import { PAGE_SIZE, type Level, type Pa, type PagingLevels, type Va } from './address.ts';
import { HI_NX, LO_ACCESSED, LO_DIRTY, LO_PRESENT, LO_PSE, LO_RW, LO_USER, LO_GLOBAL, paFromHalves } from './pte.ts';
import type { PhysMem } from './phys-mem.ts';

/** What the walk is for: the permission check and the A/D decision depend on it. */
export interface WalkAccess {
  readonly write: boolean;
  /** A user-mode (CPL 3) access or an unprivileged DMA request. */
  readonly user: boolean;
  /** An instruction fetch (CPU only; DMA requests here are never execute requests). */
  readonly exec?: boolean;
}

/** Rights accumulated from the root down to some level. */
export interface WalkRights {
  readonly user: boolean;
  readonly writable: boolean;
  readonly nx: boolean;
}

/** Where a walk begins: the table at `tablePa`, whose entries are at `level`. */
export interface WalkStart extends WalkRights {
  readonly level: Level;
  readonly tablePa: Pa;
}

/** A full walk from the root table (CR3 or the PASID entry's first-stage pointer). */
export function rootStart(levels: PagingLevels, rootPa: Pa): WalkStart {
  return { level: levels, tablePa: rootPa, user: true, writable: true, nx: false };
}

/** Whether accumulated rights allow the access (CR0.WP=1: supervisor writes honour R/W too; SMEP/SMAP not modelled). */
export function permits(rights: WalkRights, access: WalkAccess): boolean {
  if (access.user && !rights.user) return false;
  if (access.write && !rights.writable) return false;
  if (access.exec === true && rights.nx) return false;
  return true;
}

/** One entry as the walk read it, with the rights accumulated down to and including it. */
export class WalkEntry implements WalkRights {
  constructor(
    readonly level: Level,
    /** The table the entry was read from. */
    readonly tablePa: Pa,
    readonly entryPa: Pa,
    /** The entry's low and high u32 halves as read. */
    readonly lo: number,
    readonly hi: number,
    readonly user: boolean,
    readonly writable: boolean,
    readonly nx: boolean,
  ) {}

  get entry(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The address the entry holds: the next table for a non-leaf entry. */
  get targetPa(): Pa {
    return paFromHalves(this.lo, this.hi);
  }
}

export interface WalkOk extends WalkRights {
  readonly ok: true;
  readonly pa: Pa;
  readonly leafLevel: Level;
  readonly global: boolean;
  /** The leaf's Dirty bit after this walk (a TLB caches it: a write through a clean entry re-walks). */
  readonly dirty: boolean;
  /** The entries walked, top first, one per level (the final read of each). */
  readonly path: readonly WalkEntry[];
}

export interface WalkFault {
  readonly ok: false;
  readonly reason: 'not-present' | 'reserved';
  readonly level: Level;
  readonly path: readonly WalkEntry[];
}

export type WalkResult = WalkOk | WalkFault;

/** Step labels of one walker, built once: `<prefix>_level` for reads, `<prefix>_set_ad` for A/D writes. */
export interface WalkLabels {
  readonly read: string;
  readonly ad: string;
}

export function walkLabels(prefix: string): WalkLabels {
  return { read: `${prefix}_level`, ad: `${prefix}_set_ad` };
}

/** Synchronous reports to the walker's owner (cache fills, observers, traces). */
export interface WalkHooks {
  /** Every entry read from memory, as it is read, including a re-read after a failed A/D update. */
  onRead?(entry: WalkEntry): void;
  /** Every Accessed/Dirty update that reached memory; `bits` are low-half bits (LO_ACCESSED, LO_DIRTY). */
  onAdWrite?(entry: WalkEntry, bits: number): void;
}

/** 512^(level-1): the number of 4 KiB pages one entry at `level` covers. */
export const PAGES_PER_ENTRY: readonly number[] = [0, 1, 512, 512 ** 2, 512 ** 3, 512 ** 4];

/** The virtual page number of a canonical va as a number (52 bits, exact). */
export function vpnOfVa(va: Va): number {
  return Number(BigInt.asUintN(64, va) >> 12n);
}

/** Reserved low-half bits of a large leaf: 29:13 of a 1 GiB PDPTE, 20:13 of a 2 MiB PDE. */
const RSVD_1G_LO = 0x3fffe000;
const RSVD_2M_LO = 0x001fe000;

export function* walk(
  mem: PhysMem,
  va: Va,
  start: WalkStart,
  access: WalkAccess,
  labels: WalkLabels,
  hooks?: WalkHooks,
): Sim<WalkResult> {
  const vpn = vpnOfVa(va);
  const path: WalkEntry[] = [];
  let level = start.level;
  let tablePa = start.tablePa;
  let user = start.user;
  let writable = start.writable;
  let nx = start.nx;
  for (;;) {
    const entryPa = tablePa + (Math.floor(vpn / PAGES_PER_ENTRY[level]) % 512) * 8;
    const frame = tablePa / PAGE_SIZE;
    yield step(labels.read, 'read', frame);
    const lo = mem.readLo(entryPa);
    const hi = mem.readHi(entryPa);
    const e = new WalkEntry(
      level,
      tablePa,
      entryPa,
      lo,
      hi,
      user && (lo & LO_USER) !== 0,
      writable && (lo & LO_RW) !== 0,
      nx || (hi & HI_NX) !== 0,
    );
    hooks?.onRead?.(e);
    if ((lo & LO_PRESENT) === 0) {
      path.push(e);
      return { ok: false, reason: 'not-present', level, path };
    }
    const ps = (lo & LO_PSE) !== 0;
    const leaf = level === 1 || (ps && (level === 2 || level === 3));
    const reserved =
      (ps && level >= 4) ||
      (ps && level === 3 && (lo & RSVD_1G_LO) !== 0) ||
      (ps && level === 2 && (lo & RSVD_2M_LO) !== 0) ||
      (!leaf && !mem.contains(e.targetPa));
    if (reserved) {
      path.push(e);
      return { ok: false, reason: 'reserved', level, path };
    }
    let bits = 0;
    if (!leaf) {
      if ((lo & LO_ACCESSED) === 0) bits = LO_ACCESSED;
    } else if (permits(e, access)) {
      if ((lo & LO_ACCESSED) === 0) bits |= LO_ACCESSED;
      if (access.write && (lo & LO_DIRTY) === 0) bits |= LO_DIRTY;
    }
    if (bits !== 0) {
      yield step(labels.ad, 'write', frame);
      if (mem.readLo(entryPa) !== lo || mem.readHi(entryPa) !== hi) continue;
      mem.orLo(entryPa, bits);
      hooks?.onAdWrite?.(e, bits);
    }
    path.push(e);
    user = e.user;
    writable = e.writable;
    nx = e.nx;
    if (!leaf) {
      tablePa = e.targetPa;
      level = (level - 1) as Level;
      continue;
    }
    const pagesPerLeaf = PAGES_PER_ENTRY[level];
    const leafBase = e.targetPa - (e.targetPa % (pagesPerLeaf * PAGE_SIZE));
    const offset = (vpn % pagesPerLeaf) * PAGE_SIZE + Number(BigInt.asUintN(64, va) & 0xfffn);
    return {
      ok: true,
      pa: leafBase + offset,
      leafLevel: level,
      user,
      writable,
      nx,
      global: (lo & LO_GLOBAL) !== 0,
      dirty: ((lo | bits) & LO_DIRTY) !== 0,
      path,
    };
  }
}
