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
 *
 * Semantics the IOMMU applies (iommu.ts):
 *  - NONG_PASID drops every IOTLB and paging-structure-cache entry of (DID, PASID). Linux does not
 *    set the PASID entry's page-global enable for SVA, so there are no global entries to keep.
 *  - PSI_PASID drops IOTLB entries of (DID, PASID) overlapping [ADDR, ADDR + 2^AM pages) (ADDR's low
 *    AM page bits are ignored); with IH=0 also every paging-structure-cache entry whose region
 *    overlaps that range; IH=1 says only leaves changed and keeps them (docs/kernel/iommu.md, Intel VT-d).
 *  - The device-TLB descriptor is forwarded to the device with that SID.
 */
import { ModelInvariantError } from '../sim/index.ts';
import { PAGE_SHIFT, hex, type Pa, type Va } from './address.ts';

export const QI_IWD_TYPE = 0x5n;
export const QI_EIOTLB_TYPE = 0x6n;
export const QI_DEIOTLB_TYPE = 0x8n;
export const QI_GRAN_NONG_PASID = 2n;
export const QI_GRAN_PSI_PASID = 3n;
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

export interface WaitDesc {
  readonly type: 'wait';
  readonly statusAddr?: Pa;
}

export type InvDesc = PiotlbPasidDesc | PiotlbPageDesc | DevtlbDesc | WaitDesc;

/** The counting key of a descriptor in the IOMMU's stats. */
export type InvDescKind = 'piotlb-pasid' | 'piotlb-page' | 'devtlb' | 'wait';

export function descKind(d: InvDesc): InvDescKind {
  if (d.type === 'piotlb') return d.granularity === 'pasid' ? 'piotlb-pasid' : 'piotlb-page';
  return d.type;
}

export interface EncodedDesc {
  readonly qw0: bigint;
  readonly qw1: bigint;
}

const U64 = (v: bigint) => BigInt.asUintN(64, v);
const PAGE_MASK = ~0xfffn;

function checkField(name: string, v: number, bits: number): bigint {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new ModelInvariantError(`invalidation descriptor: ${name} ${v} does not fit ${bits} bits`);
  return BigInt(v);
}

export function encodeDesc(d: InvDesc): EncodedDesc {
  switch (d.type) {
    case 'piotlb': {
      const gran = d.granularity === 'pasid' ? QI_GRAN_NONG_PASID : QI_GRAN_PSI_PASID;
      const qw0 = (checkField('pasid', d.pasid, 20) << 32n) | (checkField('did', d.did, 16) << 16n) | (gran << 4n) | QI_EIOTLB_TYPE;
      if (d.granularity === 'pasid') return { qw0, qw1: 0n };
      const qw1 = (U64(d.addr) & PAGE_MASK) | (BigInt(d.ih) << 6n) | checkField('am', d.am, 6);
      return { qw0, qw1 };
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

/** The effect of an IOTLB descriptor (not a device-TLB one, not a wait). */
export function invalidationEffect(d: PiotlbPasidDesc | PiotlbPageDesc): InvalidationEffect {
  if (d.granularity === 'pasid') return { did: d.did, pasid: d.pasid, range: null, keepsPagingStructures: null };
  return {
    did: d.did,
    pasid: d.pasid,
    range: piotlbRange(d),
    keepsPagingStructures: d.ih === 1 ? 'IH=1: only leaf entries changed, so the paging-structure caches are kept' : null,
  };
}

/** The byte range a device decodes from a device-TLB descriptor's qw1 (S bit and size encoding). */
export function devtlbRange(qw1: bigint): { readonly addr: Va; readonly size: Va } {
  if ((qw1 & QI_DEV_EIOTLB_SIZE) === 0n) return { addr: qw1 & PAGE_MASK, size: 1n << BigInt(PAGE_SHIFT) };
  let bit = 12n;
  while (bit < 64n && ((qw1 >> bit) & 1n) === 1n) bit++;
  const size = 1n << (bit + 1n);
  return { addr: U64(qw1 & PAGE_MASK & ~(size - 1n)), size };
}

/** One line for traces: `p_iotlb_inv_dsc PSI did=1 pasid=0x1 addr=0xffff888000200000 am=9 ih=0 (qw0=... qw1=...)`. */
export function formatDesc(d: InvDesc): string {
  const { qw0, qw1 } = encodeDesc(d);
  const raw = `(qw0=${hex(qw0)} qw1=${hex(qw1)})`;
  switch (d.type) {
    case 'piotlb':
      return d.granularity === 'pasid'
        ? `p_iotlb_inv_dsc NONG_PASID did=${d.did} pasid=${hex(d.pasid)} ${raw}`
        : `p_iotlb_inv_dsc PSI did=${d.did} pasid=${hex(d.pasid)} addr=${hex(U64(d.addr))} am=${d.am} ih=${d.ih} ${raw}`;
    case 'devtlb':
      return `p_dev_tlb_inv_dsc sid=${hex(d.sid)} pasid=${hex(d.pasid)} addr=${hex(U64(d.addr))} mask=${d.mask} ${raw}`;
    case 'wait':
      return `inv_wait_dsc ${raw}`;
  }
}
