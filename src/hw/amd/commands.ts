/**
 * AMD-Vi command-buffer commands the Linux AMD driver issues for an SVA PASID
 * (drivers/iommu/amd/iommu.c build_inv_iommu_pages, build_inv_iotlb_pages, build_completion_wait;
 * amd_iommu_types.h CMD_*), with their 128-bit encodings: four 32-bit words, opcode in dw1[31:28]
 * (AMD I/O Virtualization Technology (IOMMU) Specification, doc 48882, "Commands"):
 *
 *   COMPLETION_WAIT (0x01)
 *     dw0: store address[31:3] | I 1 | S (store) 0     dw1: opcode | store address[51:32]
 *     dw2, dw3: the 64-bit value stored on completion
 *   INVALIDATE_IOMMU_PAGES (0x03)
 *     dw0: PASID 19:0                                   dw1: opcode | DomainID 15:0
 *     dw2: address[31:12] | GN 2 | PDE 1 | S 0          dw3: address[63:32]
 *   INVALIDATE_IOTLB_PAGES (0x04)
 *     dw0: Maxpend 31:24 | PASID[15:8] 23:16 | DeviceID 15:0
 *     dw1: opcode | PASID[7:0] 23:16 | QueueID 15:0 (Linux writes the DeviceID there)
 *     dw2: address[31:12] | GN 2 | S 0                  dw3: address[63:32]
 *
 * The address carries its range in its low bits when S = 1 (size-encoded-range.ts), as the
 * driver's build_inv_address() makes it. GN = 1 (guest: the PASID's GCR3 translation) on every
 * command here: the SVA paths always set it, and the model has no host (GN = 0) translations.
 *
 * Semantics (docs/kernel/iommu.md, AMD-Vi): INVALIDATE_IOMMU_PAGES drops the IOMMU's cached
 * translations of (DomainID, PASID) in the range; with PDE = 1 its cached page-directory entries
 * (the paging-structure caches) too, with PDE = 0 only the page-table (leaf) entries.
 * INVALIDATE_IOTLB_PAGES goes to the device's ATS TLB. COMPLETION_WAIT completes once every
 * earlier command has.
 */
import { ModelInvariantError } from '../../sim/index.ts';
import { PAGE_SHIFT, hex, type Pa } from '../address.ts';
import type { InvalidationEffect, PageRange } from '../invalidation.ts';
import { sizeEncodedRange } from '../size-encoded-range.ts';

export const CMD_COMPL_WAIT = 0x01;
export const CMD_INV_IOMMU_PAGES = 0x03;
export const CMD_INV_IOTLB_PAGES = 0x04;
export const CMD_COMPL_WAIT_STORE_MASK = 0x01;
export const CMD_INV_IOMMU_PAGES_SIZE_MASK = 0x01;
export const CMD_INV_IOMMU_PAGES_PDE_MASK = 0x02;
export const CMD_INV_IOMMU_PAGES_GN_MASK = 0x04;
/** An S=1 address with every bit up to 62 set: the whole address space. */
export const CMD_INV_IOMMU_ALL_PAGES_ADDRESS = 0x7fffffffffffffffn;

export interface AmdInvalidateIommuPages {
  readonly type: 'amd-inv-iommu-pages';
  readonly domid: number;
  readonly pasid: number;
  /** As build_inv_address() returns it: bits 63:12, the size encoded in them when s = 1. */
  readonly address: bigint;
  readonly s: 0 | 1;
  /** 1: page-directory entries too; 0: page-table (leaf) entries only. */
  readonly pde: 0 | 1;
}

export interface AmdInvalidateIotlbPages {
  readonly type: 'amd-inv-iotlb-pages';
  readonly devid: number;
  readonly pasid: number;
  readonly address: bigint;
  readonly s: 0 | 1;
  /** The device's ATS invalidate queue depth (dev_data->ats_qdep). */
  readonly maxpend: number;
}

export interface AmdCompletionWait {
  readonly type: 'amd-completion-wait';
  readonly storeAddr: Pa;
  readonly storeData: bigint;
}

export type AmdCommand = AmdInvalidateIommuPages | AmdInvalidateIotlbPages | AmdCompletionWait;

function field(name: string, v: number, bits: number): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new ModelInvariantError(`AMD-Vi command: ${name} ${v} does not fit ${bits} bits`);
  return v;
}

const dw = (v: bigint) => Number(BigInt.asUintN(32, v));
const opcode = (op: number) => op << 28;

/** The command's four 32-bit words, dw0 first (as struct iommu_cmd's data[]). */
export function encodeAmdCommand(c: AmdCommand): readonly [number, number, number, number] {
  switch (c.type) {
    case 'amd-completion-wait': {
      const addr = BigInt(c.storeAddr);
      if ((addr & 7n) !== 0n) throw new ModelInvariantError(`AMD-Vi COMPLETION_WAIT: store address ${hex(c.storeAddr)} is not 8-byte aligned`);
      return [dw(addr | BigInt(CMD_COMPL_WAIT_STORE_MASK)), (opcode(CMD_COMPL_WAIT) | Number((addr >> 32n) & 0xfffffn)) >>> 0, dw(c.storeData), dw(c.storeData >> 32n)];
    }
    case 'amd-inv-iommu-pages': {
      const low = dw(c.address & ~0xfffn) | c.s | (c.pde << 1) | CMD_INV_IOMMU_PAGES_GN_MASK;
      return [field('pasid', c.pasid, 20), (opcode(CMD_INV_IOMMU_PAGES) | field('domid', c.domid, 16)) >>> 0, low >>> 0, dw(c.address >> 32n)];
    }
    case 'amd-inv-iotlb-pages': {
      const pasid = field('pasid', c.pasid, 16);
      const devid = field('devid', c.devid, 16);
      const dw0 = (field('maxpend', c.maxpend, 8) << 24) | ((pasid >> 8) << 16) | devid;
      const dw1 = opcode(CMD_INV_IOTLB_PAGES) | ((pasid & 0xff) << 16) | devid;
      const low = dw(c.address & ~0xfffn) | c.s | CMD_INV_IOMMU_PAGES_GN_MASK;
      return [dw0 >>> 0, dw1 >>> 0, low >>> 0, dw(c.address >> 32n)];
    }
  }
}

/** The bytes an INVALIDATE_*_PAGES address covers: one page with S = 0, else its size encoding. */
export function amdInvRange(address: bigint, s: 0 | 1): { readonly addr: bigint; readonly size: bigint } {
  if (s === 0) return { addr: BigInt.asUintN(64, address & ~0xfffn), size: 1n << BigInt(PAGE_SHIFT) };
  return sizeEncodedRange(address);
}

/** log2 of the pages an INVALIDATE_*_PAGES address covers (64 - 12 for every address). */
export function amdInvOrder(address: bigint, s: 0 | 1): number {
  return amdInvRange(address, s).size.toString(2).length - 1 - PAGE_SHIFT;
}

function pageRange(address: bigint, s: 0 | 1): PageRange | null {
  const { addr, size } = amdInvRange(address, s);
  if (size >= 1n << 64n) return null;
  return { first: Number(addr >> BigInt(PAGE_SHIFT)), pages: Number(size >> BigInt(PAGE_SHIFT)) };
}

/** What INVALIDATE_IOMMU_PAGES drops (invalidation.ts, InvalidationEffect). */
export function amdInvalidationEffect(c: AmdInvalidateIommuPages): InvalidationEffect {
  return {
    did: c.domid,
    pasid: c.pasid,
    range: pageRange(c.address, c.s),
    keepsPagingStructures: c.pde === 1 ? null : 'PDE=0: only page-table entries are invalidated, so the cached page-directory entries are kept',
  };
}

/** Whether an INVALIDATE_IOMMU_PAGES covers every address (the stats count it as PASID-selective). */
export function amdInvalidatesAllPages(c: AmdInvalidateIommuPages): boolean {
  return pageRange(c.address, c.s) === null;
}

const raw = (c: AmdCommand) => `(${encodeAmdCommand(c).map((w, i) => `dw${i}=0x${w.toString(16).padStart(8, '0')}`).join(' ')})`;

/** One line for traces: `INVALIDATE_IOMMU_PAGES domid=1 pasid=0x1 addr=0xffffbffffffff000 S=1 PDE=1 GN=1 (dw0=...)`. */
export function formatAmdCommand(c: AmdCommand): string {
  switch (c.type) {
    case 'amd-inv-iommu-pages':
      return `INVALIDATE_IOMMU_PAGES domid=${c.domid} pasid=${hex(c.pasid)} addr=${hex(c.address)} S=${c.s} PDE=${c.pde} GN=1 ${raw(c)}`;
    case 'amd-inv-iotlb-pages':
      return `INVALIDATE_IOTLB_PAGES devid=${hex(c.devid)} pasid=${hex(c.pasid)} addr=${hex(c.address)} S=${c.s} GN=1 maxpend=${c.maxpend} ${raw(c)}`;
    case 'amd-completion-wait':
      return `COMPLETION_WAIT store=${hex(c.storeAddr)} data=${hex(c.storeData)} ${raw(c)}`;
  }
}
