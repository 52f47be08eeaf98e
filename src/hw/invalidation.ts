/**
 * VT-d queued-invalidation descriptors, as Linux's Intel driver issues them for first-stage (SVA)
 * domains (drivers/iommu/intel/iommu.h qi_desc_piotlb / qi_desc_piotlb_all / qi_desc_dev_iotlb_pasid,
 * dmar.c qi_submit_sync; v6.19), with their real encodings (VT-d spec §6.5.2):
 *
 *   PASID-based IOTLB invalidation (type 6, QI_EIOTLB_TYPE)
 *     qw0: PASID 51:32 | DID 31:16 | GRAN 5:4 (2 = NONG_PASID, 3 = PSI_PASID) | TYPE 3:0
 *     qw1: ADDR 63:12 | IH 6 | AM 5:0                  (zero for NONG_PASID)
 *   PASID-based device-TLB invalidation (type 8, QI_DEIOTLB_TYPE)
 *     qw0: PFSID[15:4] 63:52 | PASID 51:32 | SID 31:16 | PFSID[3:0] 15:12 | QDEP 8:4 | TYPE 3:0
 *     qw1: ADDR 63:12 with the size encoded in its low bits | S 11
 *   Invalidation wait (type 5, QI_IWD_TYPE)
 *     qw0: STATUS DATA 63:32 | SW (status write) 5 | TYPE 3:0
 *     qw1: status address
 *   IOTLB invalidation, the legacy (domain-tagged) one (type 2, QI_IOTLB_TYPE; qi_desc_iotlb)
 *     qw0: DID 31:16 | DR 7 | DW 6 | GRAN 5:4 (2 = domain-selective, 3 = page-selective-within-domain) | TYPE 3:0
 *     qw1: ADDR 63:12 | IH 6 | AM 5:0                  (zero for domain-selective)
 *   The driver sets DR/DW when CAP.DRD/DWD say the hardware drains reads/writes on request; the
 *   model's wait drains every request in flight anyway, so they change nothing here. Granularity 1
 *   (global) is left out: no modelled path issues it.
 *
 * Semantics the IOMMU applies (iommu.ts):
 *  - NONG_PASID drops every IOTLB and paging-structure-cache entry of (DID, PASID). Linux does not
 *    set the PASID entry's page-global enable for SVA, so there are no global entries to keep.
 *  - PSI_PASID drops IOTLB entries of (DID, PASID) overlapping [ADDR, ADDR + 2^AM pages) (ADDR's low
 *    AM page bits are ignored); with IH=0 also every paging-structure-cache entry whose region
 *    overlaps that range; IH=1 says only leaves changed and keeps them (docs/kernel/iommu.md, Intel VT-d).
 *  - The legacy IOTLB descriptor drops every first-stage IOTLB entry of the DID, for every PASID,
 *    whatever its granularity; its effect on the paging-structure caches is the hardware's (legacyEffect).
 *  - The device-TLB descriptor is forwarded to the device with that SID.
 */
import { ModelInvariantError } from '../sim/index.ts';
import { PAGE_SHIFT, hex, type Pa, type Va } from './address.ts';
import { amdInvalidatesAllPages, amdInvalidationEffect, amdInvRange, encodeAmdCommand, formatAmdCommand, type AmdInvalidateIommuPages, type AmdInvalidateIotlbPages } from './amd/commands.ts';
import { sizeEncodedRange } from './size-encoded-range.ts';

export const QI_IOTLB_TYPE = 0x2n;
export const QI_IWD_TYPE = 0x5n;
export const QI_EIOTLB_TYPE = 0x6n;
export const QI_DEIOTLB_TYPE = 0x8n;
export const QI_GRAN_NONG_PASID = 2n;
export const QI_GRAN_PSI_PASID = 3n;
/** The legacy IOTLB descriptor's granularities (DMA_TLB_DSI_FLUSH, DMA_TLB_PSI_FLUSH moved to bits 5:4). */
export const QI_IOTLB_GRAN_DSI = 2n;
export const QI_IOTLB_GRAN_PSI = 3n;
export const QI_IWD_STATUS_WRITE = 1n << 5n;
/** The status value Linux's wait descriptor asks the hardware to write (enum QI_DONE). */
export const QI_DONE = 2n;
export const QI_DEV_EIOTLB_SIZE = 1n << 11n;
/** The device-TLB size order Linux uses to flush a PASID's whole device TLB (MAX_AGAW_PFN_WIDTH). */
export const MAX_AGAW_PFN_WIDTH = 52;

export interface PiotlbPasidDesc {
  readonly type: 'piotlb';
  readonly granularity: 'pasid';
  readonly did: number;
  readonly pasid: number;
}

export interface PiotlbPageDesc {
  readonly type: 'piotlb';
  readonly granularity: 'page';
  readonly did: number;
  readonly pasid: number;
  readonly addr: Va;
  /** Address mask: the range is 2^am pages (6-bit field). */
  readonly am: number;
  /** Invalidation hint: 1 = only leaf entries changed, paging-structure caches may be kept. */
  readonly ih: 0 | 1;
}

export interface DevtlbDesc {
  readonly type: 'devtlb';
  readonly sid: number;
  readonly pasid: number;
  readonly addr: Va;
  /** 2^mask pages: qi_flush_dev_iotlb_pasid()'s size_order, which cache.c passes its PSI mask as. */
  readonly mask: number;
  readonly pfsid?: number;
  readonly qdep?: number;
}

/**
 * What the hardware does, where the VT-d specification leaves it open, with a legacy IOTLB
 * invalidation of first-stage-tagged entries: whether it also drops the first-stage
 * paging-structure caches. Not a descriptor field: the IOMMU sets it when it processes the
 * descriptor (a hardware option, else a recorded choice), so the effect says what happened.
 */
export interface LegacyIotlbBehaviour {
  readonly dropsPagingStructures: boolean;
  /** true: a recorded choice of this execution; false: the hardware option said so. */
  readonly chosen: boolean;
}

/** The legacy IOTLB invalidation (type 2): by domain-id only, no PASID. Domain-selective: addr, am, ih 0. */
export interface IotlbDesc {
  readonly type: 'iotlb';
  readonly granularity: 'domain' | 'page';
  readonly did: number;
  readonly addr: Va;
  readonly am: number;
  readonly ih: 0 | 1;
  /** Drain reads / writes (set when CAP.DRD / CAP.DWD). */
  readonly dr: boolean;
  readonly dw: boolean;
  /** Set by the IOMMU when it processed the descriptor; a driver never sets it. */
  readonly behaviour?: LegacyIotlbBehaviour;
}

export interface WaitDesc {
  readonly type: 'wait';
  readonly statusAddr?: Pa;
}

/** VT-d descriptors, and the AMD-Vi invalidation commands (amd/commands.ts; COMPLETION_WAIT is the IOMMU's wait). */
export type InvDesc = PiotlbPasidDesc | PiotlbPageDesc | IotlbDesc | DevtlbDesc | WaitDesc | AmdInvalidateIommuPages | AmdInvalidateIotlbPages;

/** The counting key of a descriptor in the IOMMU's stats. */
export type InvDescKind = 'piotlb-pasid' | 'piotlb-page' | 'iotlb-domain' | 'iotlb-page' | 'devtlb' | 'wait';

export function descKind(d: InvDesc): InvDescKind {
  if (d.type === 'piotlb') return d.granularity === 'pasid' ? 'piotlb-pasid' : 'piotlb-page';
  if (d.type === 'iotlb') return d.granularity === 'domain' ? 'iotlb-domain' : 'iotlb-page';
  // AMD-Vi commands count under what they do: every page of a PASID, some pages, a device TLB.
  if (d.type === 'amd-inv-iommu-pages') return amdInvalidatesAllPages(d) ? 'piotlb-pasid' : 'piotlb-page';
  if (d.type === 'amd-inv-iotlb-pages') return 'devtlb';
  return d.type;
}

export interface EncodedDesc {
  readonly qw0: bigint;
  readonly qw1: bigint;
}

const U64 = (v: bigint) => BigInt.asUintN(64, v);

/** The invalidation fields of the VT-d capability register that the driver reads (bit positions: Linux's cap_* macros, drivers/iommu/intel/iommu.h). */
export interface VtdInvalidationCaps {
  /** PSI, bit 39: page-selective invalidation supported. */
  readonly pgselInv: boolean;
  /** MAMV, bits 53:48: the largest AM a page-selective invalidation may carry. */
  readonly mamv: number;
  /** DWD bit 54 and DRD bit 55: write and read draining. */
  readonly writeDrain: boolean;
  readonly readDrain: boolean;
}

/** Those fields as CAP bits (cap_pgsel_inv(), cap_max_amask_val(), cap_write_drain(), cap_read_drain() read them back). */
export function vtdCap(c: VtdInvalidationCaps): bigint {
  const bit = (on: boolean, n: bigint) => (on ? 1n << n : 0n);
  return bit(c.readDrain, 55n) | bit(c.writeDrain, 54n) | (checkField('mamv', c.mamv, 6) << 48n) | bit(c.pgselInv, 39n);
}
const PAGE_MASK = ~0xfffn;

function checkField(name: string, v: number, bits: number): bigint {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new ModelInvariantError(`invalidation descriptor: ${name} ${v} does not fit ${bits} bits`);
  return BigInt(v);
}

/** qw1 of a page-selective IOTLB invalidation, PASID-based or legacy: ADDR 63:12 | IH 6 | AM 5:0. */
function addrIhAm(d: { readonly addr: Va; readonly ih: 0 | 1; readonly am: number }): bigint {
  return (U64(d.addr) & PAGE_MASK) | (BigInt(d.ih) << 6n) | checkField('am', d.am, 6);
}

export function encodeDesc(d: InvDesc): EncodedDesc {
  switch (d.type) {
    case 'amd-inv-iommu-pages':
    case 'amd-inv-iotlb-pages': {
      const [dw0, dw1, dw2, dw3] = encodeAmdCommand(d).map(BigInt);
      return { qw0: (dw1 << 32n) | dw0, qw1: (dw3 << 32n) | dw2 };
    }
    case 'piotlb': {
      const gran = d.granularity === 'pasid' ? QI_GRAN_NONG_PASID : QI_GRAN_PSI_PASID;
      const qw0 = (checkField('pasid', d.pasid, 20) << 32n) | (checkField('did', d.did, 16) << 16n) | (gran << 4n) | QI_EIOTLB_TYPE;
      if (d.granularity === 'pasid') return { qw0, qw1: 0n };
      return { qw0, qw1: addrIhAm(d) };
    }
    case 'iotlb': {
      const gran = d.granularity === 'domain' ? QI_IOTLB_GRAN_DSI : QI_IOTLB_GRAN_PSI;
      const drain = (d.dr ? 1n << 7n : 0n) | (d.dw ? 1n << 6n : 0n);
      const qw0 = (checkField('did', d.did, 16) << 16n) | drain | (gran << 4n) | QI_IOTLB_TYPE;
      return { qw0, qw1: addrIhAm(d) };
    }
    case 'devtlb': {
      const pfsid = checkField('pfsid', d.pfsid ?? 0, 16);
      const qw0 =
        (((pfsid >> 4n) & 0xfffn) << 52n) |
        (checkField('pasid', d.pasid, 20) << 32n) |
        (checkField('sid', d.sid, 16) << 16n) |
        ((pfsid & 0xfn) << 12n) |
        (checkField('qdep', d.qdep ?? 0, 5) << 4n) |
        QI_DEIOTLB_TYPE;
      // The S bit says "more than one page"; the lowest clear address bit at or above 12 then
      // gives the size (VT-d §6.5.2.6), hence ones below the size bit and a zero at it.
      let qw1 = U64(d.addr) & PAGE_MASK;
      const order = checkField('mask', d.mask, 6);
      if (order > 0n) {
        qw1 |= ((1n << (order + 12n)) - 1n) & PAGE_MASK;
        qw1 &= ~(1n << (order + 11n));
        qw1 |= QI_DEV_EIOTLB_SIZE;
      }
      return { qw0, qw1: U64(qw1) };
    }
    case 'wait':
      return { qw0: (QI_DONE << 32n) | QI_IWD_STATUS_WRITE | QI_IWD_TYPE, qw1: BigInt(d.statusAddr ?? 0) };
  }
}

/** A page-number range [first, first + pages) (numbers: exact below 2^53; wider ranges only grow). */
export interface PageRange {
  readonly first: number;
  readonly pages: number;
}

/** The pages a PSI descriptor covers: ADDR with its low AM page bits ignored, 2^AM pages. */
export function piotlbRange(d: PiotlbPageDesc): PageRange {
  const pages = 2 ** d.am;
  const vpn = Number(U64(d.addr) >> BigInt(PAGE_SHIFT));
  return { first: vpn - (vpn % pages), pages };
}

/**
 * What an IOTLB invalidation drops from the IOMMU's translation caches: the one statement of a
 * descriptor's semantics, which the IOMMU applies (iommu.ts) and the hazard oracle judges a freed
 * table's cover by (src/check/iommu-hazard.ts). A new descriptor (another IOMMU, another
 * granularity) says what it does here, once.
 */
export interface InvalidationEffect {
  /** The domain whose entries it drops. */
  readonly did: number;
  /** The PASID whose entries it drops; null: every PASID of the domain. */
  readonly pasid: number | null;
  /** The pages whose entries it drops; null: every address. */
  readonly range: PageRange | null;
  /**
   * Why paging-structure-cache entries survive it (only IOTLB leaves are dropped), or null when it
   * drops them too: a freed table is covered only by an effect with null here.
   */
  readonly keepsPagingStructures: string | null;
}

const IH_KEEPS = 'IH=1: only leaf entries changed, so the paging-structure caches are kept';

/** The effect of an IOTLB descriptor (not a device-TLB one, not a wait). */
export function invalidationEffect(d: PiotlbPasidDesc | PiotlbPageDesc | IotlbDesc | AmdInvalidateIommuPages): InvalidationEffect {
  if (d.type === 'amd-inv-iommu-pages') return amdInvalidationEffect(d);
  if (d.type === 'iotlb') return legacyEffect(d);
  if (d.granularity === 'pasid') return { did: d.did, pasid: d.pasid, range: null, keepsPagingStructures: null };
  return {
    did: d.did,
    pasid: d.pasid,
    range: piotlbRange(d),
    keepsPagingStructures: d.ih === 1 ? IH_KEEPS : null,
  };
}

/**
 * A legacy IOTLB invalidation of an SVA (first-stage) domain. It names no PASID, so it reaches
 * every PASID of the domain. In scalable mode its page-selective form drops first-stage entries
 * for the whole domain, not by address (QEMU's reading of the spec, vtd_hash_remove_by_page(),
 * 005c83953977), so both granularities drop every first-stage IOTLB entry of the DID. Whether
 * either drops the first-stage paging-structure caches the specification does not say for this
 * descriptor; Linux (ac1a3483febd) holds that only the PASID-based one does. So it is the
 * hardware's behaviour the IOMMU recorded when it processed the descriptor.
 */
function legacyEffect(d: IotlbDesc): InvalidationEffect {
  const b = d.behaviour;
  if (b === undefined) throw new ModelInvariantError(`the effect of a legacy IOTLB descriptor the IOMMU has not processed: ${formatDesc(d)}`);
  const keeps = d.granularity === 'page' && d.ih === 1 ? IH_KEEPS : b.dropsPagingStructures ? null : legacyKeeps(b);
  return { did: d.did, pasid: null, range: null, keepsPagingStructures: keeps };
}

function legacyKeeps(b: LegacyIotlbBehaviour): string {
  const why = b.chosen ? 'this execution chose an IOMMU that keeps them' : 'the hardware option legacyFlushesPagingStructures says this IOMMU keeps them';
  return `a legacy IOTLB invalidation: the VT-d specification leaves open whether it drops first-stage paging-structure-cache entries (Linux, ac1a3483febd: only a PASID-based one must); ${why}`;
}

/** The byte range a device decodes from a device-TLB descriptor's qw1 (S bit and size encoding). */
export function devtlbRange(qw1: bigint): { readonly addr: Va; readonly size: Va } {
  if ((qw1 & QI_DEV_EIOTLB_SIZE) === 0n) return { addr: qw1 & PAGE_MASK, size: 1n << BigInt(PAGE_SHIFT) };
  return sizeEncodedRange(qw1);
}

/** A device-TLB invalidation as its device receives it (VT-d device-TLB descriptor, AMD-Vi INVALIDATE_IOTLB_PAGES). */
export interface DeviceTlbInvalidation {
  /** The source-id (AMD: DeviceID) of the device it goes to. */
  readonly sid: number;
  readonly pasid: number;
  readonly addr: Va;
  readonly size: Va;
}

/** Whether `d` goes to a device's TLB (never to the IOMMU's own caches). */
export function isDeviceTlbInvalidation(d: InvDesc): d is DevtlbDesc | AmdInvalidateIotlbPages {
  return d.type === 'devtlb' || d.type === 'amd-inv-iotlb-pages';
}

export function deviceTlbInvalidation(d: DevtlbDesc | AmdInvalidateIotlbPages): DeviceTlbInvalidation {
  if (d.type === 'devtlb') return { sid: d.sid, pasid: d.pasid, ...devtlbRange(encodeDesc(d).qw1) };
  return { sid: d.devid, pasid: d.pasid, ...amdInvRange(d.address, d.s) };
}

/** One line for traces: `p_iotlb_inv_dsc PSI did=1 pasid=0x1 addr=0xffff888000200000 am=9 ih=0 (qw0=... qw1=...)`. */
export function formatDesc(d: InvDesc): string {
  if (d.type === 'amd-inv-iommu-pages' || d.type === 'amd-inv-iotlb-pages') return formatAmdCommand(d);
  const { qw0, qw1 } = encodeDesc(d);
  const raw = `(qw0=${hex(qw0)} qw1=${hex(qw1)})`;
  switch (d.type) {
    case 'piotlb':
      return d.granularity === 'pasid'
        ? `p_iotlb_inv_dsc NONG_PASID did=${d.did} pasid=${hex(d.pasid)} ${raw}`
        : `p_iotlb_inv_dsc PSI did=${d.did} pasid=${hex(d.pasid)} addr=${hex(U64(d.addr))} am=${d.am} ih=${d.ih} ${raw}`;
    case 'iotlb': {
      const drain = `dr=${Number(d.dr)} dw=${Number(d.dw)}`;
      return d.granularity === 'domain'
        ? `iotlb_inv_dsc DSI did=${d.did} ${drain} ${raw}`
        : `iotlb_inv_dsc PSI did=${d.did} addr=${hex(U64(d.addr))} am=${d.am} ih=${d.ih} ${drain} ${raw}`;
    }
    case 'devtlb':
      return `p_dev_tlb_inv_dsc sid=${hex(d.sid)} pasid=${hex(d.pasid)} addr=${hex(U64(d.addr))} mask=${d.mask} ${raw}`;
    case 'wait':
      return `inv_wait_dsc ${raw}`;
  }
}
