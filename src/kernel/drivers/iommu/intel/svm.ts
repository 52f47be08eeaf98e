/**
 * The Intel VT-d driver's SVA side (drivers/iommu/intel/svm.c, cache.c, pasid.c; v6.19 and 6.19.y):
 * an SVA domain per mm, the PASID entry pointing the first-stage walk at mm->pgd, and the
 * mmu_notifier callback that turns an mm range into invalidation descriptors.
 *
 * intel_arch_invalidate_secondary_tlbs() special-cases exactly (0, ULONG_MAX) as "flush all" (a
 * PASID-selective invalidation); any other range goes through cache_tag_flush_range() with the
 * mm's exclusive end turned into the IOMMU's inclusive end (end - 1) and ih = 0, so non-leaf
 * (paging-structure) caches are invalidated too (docs/kernel/iommu.md, Intel driver;
 * docs/kernel/pitfalls.md §12). So v6.19's worker
 * call with (PAGE_OFFSET, TLB_FLUSH_ALL) is a page-selective invalidation with a huge address mask.
 * [modelling choice] The IH that v6.19 fixes at 0 there is an argument here (0 by default, and on
 * every path the kernel itself takes), so a design can ask what IH = 1 would do.
 *
 * Which IOTLB descriptor cache_tag_flush_iotlb() sends for the SVA domain depends on the release
 * (k.release.intelSvaFlush; src/kernel/model/releases.ts): PASID-based, or — from b33125296b50
 * until 04b1b069f151 — the legacy one, domain-tagged with no PASID.
 */
import { PAGE_SHIFT, ULONG_MAX, type Va } from '../../../../hw/address.ts';
import type { InvDesc, SvaDevice } from '../../../../hw/index.ts';
import { step, type Sim } from '../../../../sim/index.ts';
import { cap_max_amask_val, cap_pgsel_inv, qi_desc_iotlb } from './iommu.ts';
import type { Kernel } from '../../../model/kernel.ts';
import type { MmStruct, MmuNotifier } from '../../../kernel/fork.ts';
import { spin_lock_init, spin_lock_irqsave, spin_unlock_irqrestore, type spinlock_t } from '../../../kernel/locking/spinlock.ts';

/** MAX_AGAW_PFN_WIDTH: a mask this large means "the whole address space". */
export const MAX_AGAW_PFN_WIDTH = 64 - PAGE_SHIFT;

/** struct dmar_domain for an SVA domain: its domain id, PASID, mm, and the devices (cache tags). */
export interface DmarDomain {
  readonly did: number;
  readonly pasid: number;
  readonly mm: MmStruct;
  readonly devices: SvaDevice[];
  readonly cache_lock: spinlock_t;
  readonly notifier: MmuNotifier;
}

/** intel_svm_domain_alloc(): a domain whose mmu_notifier is registered on `mm`. */
export function intel_svm_domain_alloc(k: Kernel, mm: MmStruct, did: number, pasid: number): DmarDomain {
  const domain: DmarDomain = {
    did,
    pasid,
    mm,
    devices: [],
    cache_lock: spin_lock_init(k, `dmar_domain${did}.cache_lock`),
    notifier: {
      name: `intel-svm did ${did}`,
      arch_invalidate_secondary_tlbs: (kk, m, start, end, ih) => intel_arch_invalidate_secondary_tlbs(kk, domain, m, start, end, ih),
    },
  };
  mm.notifiers.push(domain.notifier);
  return domain;
}

/** intel_svm_set_dev_pasid(): program the PASID entry (first-stage, root = mm->pgd) and tag caches. */
export function* intel_svm_set_dev_pasid(k: Kernel, domain: DmarDomain, dev: SvaDevice): Sim {
  yield step('intel_pasid_setup_first_level', 'write', k.iommu.obj);
  k.iommu.setPasidEntry(domain.pasid, { pgd: domain.mm.pgd, domainId: domain.did });
  domain.devices.push(dev);
  dev.pasid = domain.pasid;
  k.exec.log('sva', `PASID ${domain.pasid} of ${dev.name} -> ${domain.mm.name} pgd 0x${domain.mm.pgd.toString(16)} (did ${domain.did})`);
}

/**
 * intel_svm_remove_dev_pasid() → intel_pasid_tear_down_entry(): clear the PASID entry, then flush
 * everything cached for it (PASID-selective IOTLB + paging-structure caches, device TLB) and wait.
 */
export function* intel_svm_remove_dev_pasid(k: Kernel, domain: DmarDomain, dev: SvaDevice): Sim {
  yield step('intel_pasid_tear_down_entry', 'write', k.iommu.obj);
  k.iommu.setPasidEntry(domain.pasid, null);
  const descs: InvDesc[] = [{ type: 'piotlb', granularity: 'pasid', did: domain.did, pasid: domain.pasid }];
  if (dev.hasDevtlb) descs.push(devtlbDesc(dev, domain.pasid, 0n, MAX_AGAW_PFN_WIDTH));
  yield* k.iommu.qi_submit_sync(descs);
  domain.devices.splice(domain.devices.indexOf(dev), 1);
  dev.pasid = null;
}

/** iommu_domain_free() for an SVA domain: unregister its notifier. */
export function intel_svm_domain_free(domain: DmarDomain): void {
  const i = domain.mm.notifiers.indexOf(domain.notifier);
  if (i >= 0) domain.mm.notifiers.splice(i, 1);
}

/** The mmu_notifier callback: mm ranges are end-exclusive, the IOMMU's are inclusive. Flush-all has no IH. */
export function* intel_arch_invalidate_secondary_tlbs(k: Kernel, domain: DmarDomain, _mm: MmStruct, start: Va, end: Va, ih: 0 | 1 = 0): Sim {
  if (start === 0n && end === ULONG_MAX) {
    yield* cache_tag_flush_all(k, domain);
    return;
  }
  yield* cache_tag_flush_range(k, domain, start, end - 1n, ih);
}

export function* cache_tag_flush_all(k: Kernel, domain: DmarDomain): Sim {
  yield* cache_tag_flush_range(k, domain, 0n, ULONG_MAX, 0);
}

/**
 * cache_tag_flush_range(): one IOTLB descriptor for the domain (cache_tag_flush_iotlb), one
 * device-TLB descriptor per ATS device, submitted under domain->cache_lock and waited for.
 */
export function* cache_tag_flush_range(k: Kernel, domain: DmarDomain, start: Va, end: Va, ih: 0 | 1): Sim {
  const all = start === 0n && end === ULONG_MAX;
  const { addr, mask } = all ? { addr: 0n, mask: MAX_AGAW_PFN_WIDTH } : calculate_psi_aligned_address(start, end);
  const descs: InvDesc[] = [cache_tag_flush_iotlb(k, domain, addr, mask, ih, all)];
  // The SVA tag has a PASID, so the device-TLB descriptor is the PASID-based one in every release.
  for (const dev of domain.devices) if (dev.hasDevtlb) descs.push(devtlbDesc(dev, domain.pasid, addr, mask));
  const flags = yield* spin_lock_irqsave(k, domain.cache_lock);
  yield* k.iommu.qi_submit_sync(descs);
  yield* spin_unlock_irqrestore(k, domain.cache_lock, flags);
  if (k.exec.tracing) {
    k.exec.log('sva', `cache_tag_flush_range(0x${start.toString(16)}, 0x${end.toString(16)}, ih=${ih}): addr 0x${addr.toString(16)} mask ${mask}`);
  }
}

/**
 * cache_tag_flush_iotlb() for the SVA domain's tag. PASID-based: PASID-selective when the mask
 * covers the whole space, else page-selective-within-PASID. Legacy: page-selective-within-domain
 * only if the hardware has PSI and the mask fits its MAMV, else — and for a flush-all (the
 * kernel's pages == -1) — domain-selective with addr, mask and IH zeroed.
 */
function cache_tag_flush_iotlb(k: Kernel, domain: DmarDomain, addr: Va, mask: number, ih: 0 | 1, all: boolean): InvDesc {
  if (k.release.intelSvaFlush === 'piotlb') {
    return mask >= MAX_AGAW_PFN_WIDTH
      ? { type: 'piotlb', granularity: 'pasid', did: domain.did, pasid: domain.pasid }
      : { type: 'piotlb', granularity: 'page', did: domain.did, pasid: domain.pasid, addr, am: mask, ih };
  }
  const cap = k.iommu.cap;
  if (!cap_pgsel_inv(cap) || mask > cap_max_amask_val(cap) || all) return qi_desc_iotlb(cap, domain.did, 0n, 0, 'domain');
  return qi_desc_iotlb(cap, domain.did, addr | BigInt(ih), mask, 'page');
}

function devtlbDesc(dev: SvaDevice, pasid: number, addr: Va, mask: number): InvDesc {
  return { type: 'devtlb', sid: dev.sid, pasid, addr, mask };
}

/**
 * calculate_psi_aligned_address(): the smallest naturally aligned power-of-two block of pages
 * covering [start, end] (inclusive), as (aligned address, log2 pages). Computed on 64-bit
 * unsigned values as C does; a mask of MAX_AGAW_PFN_WIDTH or more means everything.
 */
export function calculate_psi_aligned_address(start: Va, end: Va): { addr: Va; mask: number } {
  const u64 = (v: bigint) => BigInt.asUintN(64, v);
  const size = u64(end - start + 1n);
  const pages = u64((start & 0xfffn) + size + 0xfffn) >> 12n; // aligned_nrpages()
  const alignedPages = pages <= 1n ? 1n : 1n << BigInt((pages - 1n).toString(2).length); // __roundup_pow_of_two
  const bitmask = alignedPages - 1n;
  let mask = alignedPages.toString(2).length - 1; // ilog2
  const pfn = start >> 12n;
  if ((bitmask & pfn) !== 0n) {
    const endPfn = u64(pfn + pages - 1n);
    const shared = u64(~(pfn ^ endPfn) & ~bitmask);
    mask = shared !== 0n ? lowestSetBit(shared) : MAX_AGAW_PFN_WIDTH;
  }
  const alignment = mask + 12 >= 64 ? 0n : 1n << BigInt(mask + 12);
  const addr = alignment === 0n ? 0n : start & ~(alignment - 1n);
  return { addr: u64(addr), mask };
}

function lowestSetBit(v: bigint): number {
  let n = 0;
  while ((v & 1n) === 0n) {
    v >>= 1n;
    n++;
  }
  return n;
}
