/**
 * The AMD IOMMU driver's command and GCR3 side (drivers/iommu/amd/iommu.c; SVA since v6.10,
 * 1af95763e0a3 "iommu/amd: Initial SVA support"): how an (address, size) becomes an
 * INVALIDATE_IOMMU_PAGES address, the per-PASID flush amd_iommu_dev_flush_pasid_pages() that the
 * SVA notifier and the GCR3 updates use, and the GCR3 entry writes themselves.
 *
 * [modelling choice] The driver's per-device data (dev_data->gcr3_info.domid, ats_enabled) is read
 * from what it programmed: the device table entry and the device's ATS capability. The command
 * buffer's iommu->lock and the completion semaphore's address and value are not modelled: the
 * wait is the IOMMU core's (it completes after requests in flight drain), and commands take
 * effect in the submitting thread's steps.
 */
import { PAGE_SHIFT, type Pa } from '../../../../hw/address.ts';
import {
  AmdIommu,
  CMD_INV_IOMMU_ALL_PAGES_ADDRESS,
  GCR3_VALID,
  type AmdCommand,
  type AmdInvalidateIommuPages,
  type AmdInvalidateIotlbPages,
  type SvaDevice,
} from '../../../../hw/index.ts';
import { ModelInvariantError, step, type Sim } from '../../../../sim/index.ts';
import type { Kernel } from '../../../model/kernel.ts';

const PAGE_SIZE = 1n << BigInt(PAGE_SHIFT);
const PAGE_MASK = ~(PAGE_SIZE - 1n);
const u64 = (v: bigint) => BigInt.asUintN(64, v);

/** The ATS invalidate queue depth the model's devices report (dev_data->ats_qdep) [modelling choice]. */
export const ATS_QDEP = 0;

/**
 * build_inv_address(): one page → its address; more → the address with every bit below the most
 * significant bit that differs between start and end set, and S; a span that differs above bit 51
 * (bits 63:52 are sign extension) → CMD_INV_IOMMU_ALL_PAGES_ADDRESS. Returns (address, S).
 */
export function build_inv_address(address: bigint, size: bigint): { readonly address: bigint; readonly s: 0 | 1 } {
  const pages = u64((u64(address) & ~PAGE_MASK) + u64(size) + PAGE_SIZE - 1n) >> BigInt(PAGE_SHIFT); // iommu_num_pages()
  if (pages === 1n) return { address: u64(address) & PAGE_MASK, s: 0 };
  const end = u64(address + size - 1n);
  const msbDiff = (end ^ u64(address)).toString(2).length - 1; // fls64() - 1
  const encoded = msbDiff > 51 ? CMD_INV_IOMMU_ALL_PAGES_ADDRESS : u64(address) | ((1n << BigInt(msbDiff)) - 1n);
  return { address: encoded & PAGE_MASK, s: 1 };
}

/** build_inv_iommu_pages() with gn: the PASID's guest translations, page-directory entries too (PDE). */
export function build_inv_iommu_pages(address: bigint, size: bigint, domid: number, pasid: number): AmdInvalidateIommuPages {
  return { type: 'amd-inv-iommu-pages', domid, pasid, ...build_inv_address(address, size), pde: 1 };
}

/** build_inv_iotlb_pages() with gn. */
export function build_inv_iotlb_pages(devid: number, qdep: number, address: bigint, size: bigint, pasid: number): AmdInvalidateIotlbPages {
  return { type: 'amd-inv-iotlb-pages', devid, pasid, ...build_inv_address(address, size), maxpend: qdep };
}

/** amd_iommu_dev_flush_pasid_pages(): the IOMMU's entries, the device's ATS TLB if enabled, then COMPLETION_WAIT. */
export function* amd_iommu_dev_flush_pasid_pages(k: Kernel, dev: SvaDevice, pasid: number, address: bigint, size: bigint): Sim {
  const amd = AmdIommu.of(k.iommu);
  const domid = gcr3Domid(amd, dev);
  const cmds: AmdCommand[] = [build_inv_iommu_pages(address, size, domid, pasid)];
  if (dev.hasDevtlb) cmds.push(build_inv_iotlb_pages(dev.sid, ATS_QDEP, address, size, pasid));
  cmds.push({ type: 'amd-completion-wait', storeAddr: 0, storeData: 1n });
  yield* amd.process(cmds);
}

function gcr3Domid(amd: AmdIommu, dev: SvaDevice): number {
  const dte = amd.dte(dev.sid);
  if (dte === null) throw new ModelInvariantError(`${dev.name}: AMD IOMMU flush with no device table entry`);
  return dte.domid;
}

/** update_gcr3(): write the PASID's GCR3 entry, then flush everything cached for the PASID. */
function* update_gcr3(k: Kernel, dev: SvaDevice, pasid: number, gcr3: Pa | null): Sim {
  yield step('update_gcr3', 'write', k.iommu.obj);
  AmdIommu.of(k.iommu).setGcr3(dev.sid, pasid, gcr3 === null ? 0n : (BigInt(gcr3) & PAGE_MASK) | GCR3_VALID);
  yield* amd_iommu_dev_flush_pasid_pages(k, dev, pasid, 0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS); // dev_flush_pasid_all()
}

export function* amd_iommu_set_gcr3(k: Kernel, dev: SvaDevice, pasid: number, gcr3: Pa): Sim {
  yield* update_gcr3(k, dev, pasid, gcr3);
}

export function* amd_iommu_clear_gcr3(k: Kernel, dev: SvaDevice, pasid: number): Sim {
  yield* update_gcr3(k, dev, pasid, null);
}

/** GCR3 table levels for a device's PASID count (get_gcr3_levels()): 9 PASID bits per level. */
export function get_gcr3_levels(pasids: number): 0 | 1 | 2 {
  const order = pasids <= 1 ? 0 : Math.ceil(Math.log2(pasids));
  return (order === 0 ? 0 : Math.ceil(order / 9) - 1) as 0 | 1 | 2;
}

/** PASIDs the model's devices support (dev_data->max_pasids) [modelling choice]. */
export const MAX_PASIDS = 1 << 16;

/**
 * attach_device() of a PASID-capable device to its default domain at boot: setup_gcr3_table()
 * (a per-device domain id, an empty GCR3 table) and a DTE with GV set (set_dte_gcr3_table()).
 */
export function amd_iommu_attach_device(k: Kernel, dev: SvaDevice): void {
  AmdIommu.of(k.iommu).setDte(dev.sid, {
    domid: k.sva.allocDomainId(),
    gv: true,
    glx: get_gcr3_levels(MAX_PASIDS),
    giov: false,
    gptLevels: k.config.pagingLevels,
  });
}
