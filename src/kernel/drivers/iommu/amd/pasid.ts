/**
 * The AMD IOMMU driver's SVA domain (drivers/iommu/amd/pasid.c, v6.10+, a5a91e54846d "iommu/amd:
 * Add SVA domain support"): a protection domain whose mmu_notifier turns an mm range into
 * per-(device, PASID) flushes, and set_dev_pasid / remove_dev_pasid, which write the device's GCR3
 * entry (each write followed by a PASID-wide flush and a wait, amd_iommu_set_gcr3()).
 *
 * sva_arch_invalidate_secondary_tlbs() holds `spin_lock_irqsave(&sva_pdom->lock)` across its
 * flushes, so the path is atomic-safe: no sleeping, unlike iommu_sva_invalidate_kva_range()'s
 * mutex above it. The v6.10 form also took each dev_data->lock inside; the later one does not. Both
 * issue the same commands [the inner lock is not modelled]. There is no flush-all special case:
 * (0, ULONG_MAX) goes through build_inv_address(), which makes it every page.
 */
import type { Va } from '../../../../hw/address.ts';
import type { SvaDevice } from '../../../../hw/index.ts';
import type { Sim } from '../../../../sim/index.ts';
import type { Kernel } from '../../../model/kernel.ts';
import type { MmStruct, MmuNotifier } from '../../../kernel/fork.ts';
import { spin_lock_init, spin_lock_irqsave, spin_unlock_irqrestore, type spinlock_t } from '../../../kernel/locking/spinlock.ts';
import { amd_iommu_clear_gcr3, amd_iommu_dev_flush_pasid_pages, amd_iommu_set_gcr3 } from './iommu.ts';

/** struct pdom_dev_data: one (device, PASID) of the domain. */
export interface PdomDevData {
  readonly dev: SvaDevice;
  readonly pasid: number;
}

/** struct protection_domain of type IOMMU_DOMAIN_SVA. */
export interface ProtectionDomain {
  readonly id: number;
  readonly mm: MmStruct;
  readonly lock: spinlock_t;
  /** dev_data_list, newest first (list_add). */
  readonly dev_data_list: PdomDevData[];
  readonly mn: MmuNotifier;
}

/** amd_iommu_domain_alloc_sva(): a domain with its mmu_notifier registered on `mm`. */
export function amd_iommu_domain_alloc_sva(k: Kernel, mm: MmStruct, id: number): ProtectionDomain {
  const pdom: ProtectionDomain = {
    id,
    mm,
    lock: spin_lock_init(k, `protection_domain${id}.lock`),
    dev_data_list: [],
    mn: {
      name: `amd-sva pdom ${id}`,
      // `ih` is the model's knob for Intel designs; AMD's notifier has no such hint (PDE is always 1).
      arch_invalidate_secondary_tlbs: (kk, m, start, end) => sva_arch_invalidate_secondary_tlbs(kk, pdom, m, start, end),
    },
  };
  mm.notifiers.push(pdom.mn);
  return pdom;
}

/** iommu_sva_set_dev_pasid(): under the domain lock, point the device's GCR3 entry at mm->pgd. */
export function* iommu_sva_set_dev_pasid(k: Kernel, pdom: ProtectionDomain, dev: SvaDevice, pasid: number): Sim {
  const flags = yield* spin_lock_irqsave(k, pdom.lock);
  yield* amd_iommu_set_gcr3(k, dev, pasid, pdom.mm.pgd);
  pdom.dev_data_list.unshift({ dev, pasid });
  yield* spin_unlock_irqrestore(k, pdom.lock, flags);
  dev.pasid = pasid;
  k.exec.log('sva', `PASID ${pasid} of ${dev.name} -> ${pdom.mm.name} pgd 0x${pdom.mm.pgd.toString(16)} (GCR3, pdom ${pdom.id})`);
}

/** amd_iommu_remove_dev_pasid(): clear the GCR3 entry (and flush the PASID), drop it from the list. */
export function* amd_iommu_remove_dev_pasid(k: Kernel, pdom: ProtectionDomain, dev: SvaDevice, pasid: number): Sim {
  const flags = yield* spin_lock_irqsave(k, pdom.lock);
  const i = pdom.dev_data_list.findIndex((d) => d.dev === dev && d.pasid === pasid);
  if (i >= 0) {
    yield* amd_iommu_clear_gcr3(k, dev, pasid);
    pdom.dev_data_list.splice(i, 1);
  }
  yield* spin_unlock_irqrestore(k, pdom.lock, flags);
  dev.pasid = null;
}

/** iommu_sva_domain_free(): unregister the notifier. */
export function iommu_sva_domain_free(pdom: ProtectionDomain): void {
  const i = pdom.mm.notifiers.indexOf(pdom.mn);
  if (i >= 0) pdom.mm.notifiers.splice(i, 1);
}

/** The mmu_notifier callback: every (device, PASID) of the domain, (start, end - start), under the domain lock. */
export function* sva_arch_invalidate_secondary_tlbs(k: Kernel, pdom: ProtectionDomain, _mm: MmStruct, start: Va, end: Va): Sim {
  const flags = yield* spin_lock_irqsave(k, pdom.lock);
  for (const d of pdom.dev_data_list) yield* amd_iommu_dev_flush_pasid_pages(k, d.dev, d.pasid, start, end - start);
  yield* spin_unlock_irqrestore(k, pdom.lock, flags);
}
