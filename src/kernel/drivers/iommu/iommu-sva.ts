/**
 * The IOMMU SVA core (drivers/iommu/iommu-sva.c, v6.19 after commit e37d5a2d60a3 "iommu/sva:
 * invalidate stale IOTLB entries for kernel address space"; docs/kernel/deferred-free.md, IOMMU side).
 *
 * Binding gives the mm a PASID and an SVA domain; the first domain of an mm puts it on the global
 * `iommu_sva_mms` list and sets `iommu_sva_present`. `iommu_sva_invalidate_kva_range()` walks that
 * list under the `iommu_sva_lock` mutex and reaches each mm's IOMMU through the mmu_notifier
 * `arch_invalidate_secondary_tlbs` path. It takes a mutex, so it may sleep: it is only legal in
 * process context (docs/kernel/pitfalls.md §2) — calling it from an atomic section is how v1 failed.
 */
import type { Va } from '../../../hw/address.ts';
import type { SvaDevice } from '../../../hw/index.ts';
import { step, type ObjectId, type Sim } from '../../../sim/index.ts';
import { intel_svm_domain_alloc, intel_svm_domain_free, intel_svm_remove_dev_pasid, intel_svm_set_dev_pasid } from './intel/svm.ts';
import { amd_iommu_domain_alloc_sva, amd_iommu_remove_dev_pasid, iommu_sva_domain_free, iommu_sva_set_dev_pasid } from './amd/pasid.ts';
import type { Kernel, SyncCore } from '../../model/kernel.ts';
import type { MmStruct } from '../../kernel/fork.ts';
import { mutex_init, mutex_lock, mutex_unlock, type mutex } from '../../kernel/locking/mutex.ts';
import { lockdep_assert_held } from '../../kernel/locking/lockdep.ts';

/** An SVA domain (struct iommu_domain of type IOMMU_DOMAIN_SVA) with the vendor's ops the core calls. */
export interface SvaDomain {
  users: number;
  set_dev_pasid(k: Kernel, dev: SvaDevice): Sim;
  remove_dev_pasid(k: Kernel, dev: SvaDevice): Sim;
  free(): void;
}

/** struct iommu_mm_data: an mm's PASID and its SVA domains. */
export interface IommuMmData {
  readonly mm: MmStruct;
  readonly pasid: number;
  readonly sva_domains: SvaDomain[];
}

/** What iommu_sva_bind_device() returns (struct iommu_sva). */
export interface IommuSvaHandle {
  readonly dev: SvaDevice;
  readonly domain: SvaDomain;
  readonly iommu_mm: IommuMmData;
  users: number;
}

export const EOPNOTSUPP = 95;

/** iommu_sva_bind_device()'s ERR_PTR(-errno). */
export interface SvaBindError {
  readonly errno: number;
}

export function IS_ERR(r: IommuSvaHandle | SvaBindError): r is SvaBindError {
  return 'errno' in r;
}

/** ops->domain_alloc_sva of the IOMMU's vendor driver, and the domain's ops. */
function domain_alloc_sva(k: Kernel, mm: MmStruct, did: number, pasid: number): SvaDomain {
  if (k.iommu.kind === 'amd') {
    const pdom = amd_iommu_domain_alloc_sva(k, mm, did);
    return {
      users: 0,
      set_dev_pasid: (kk, dev) => iommu_sva_set_dev_pasid(kk, pdom, dev, pasid),
      remove_dev_pasid: (kk, dev) => amd_iommu_remove_dev_pasid(kk, pdom, dev, pasid),
      free: () => iommu_sva_domain_free(pdom),
    };
  }
  const domain = intel_svm_domain_alloc(k, mm, did, pasid);
  return {
    users: 0,
    set_dev_pasid: (kk, dev) => intel_svm_set_dev_pasid(kk, domain, dev),
    remove_dev_pasid: (kk, dev) => intel_svm_remove_dev_pasid(kk, domain, dev),
    free: () => intel_svm_domain_free(domain),
  };
}

/** The globals of iommu-sva.c: iommu_sva_lock, iommu_sva_present, iommu_sva_mms. */
export class IommuSva {
  readonly iommu_sva_lock: mutex;
  iommu_sva_present = false;
  /** The identity of iommu_sva_present, for designs that read it without the lock (v3's READ_ONCE). */
  readonly presentObj: ObjectId;
  /** iommu_sva_mms, newest first (list_add inserts at the head). */
  readonly iommu_sva_mms: IommuMmData[] = [];
  readonly handles: IommuSvaHandle[] = [];
  private readonly mmData = new Map<MmStruct, IommuMmData>();
  private nextPasid = 1;
  private nextDid = 1;

  constructor(k: SyncCore) {
    this.iommu_sva_lock = mutex_init(k, 'iommu_sva_lock');
    this.presentObj = k.exec.objects.register('iommu_sva_present');
  }

  /** The mm's PASID, allocated on first bind and kept for the mm's life (iommu_alloc_mm_data()). */
  mmDataFor(mm: MmStruct): IommuMmData {
    let data = this.mmData.get(mm);
    if (data === undefined) {
      data = { mm, pasid: this.nextPasid++, sva_domains: [] };
      this.mmData.set(mm, data);
    }
    return data;
  }

  allocDomainId(): number {
    return this.nextDid++;
  }
}

/** iommu_alloc_mm_data(): under iommu_sva_lock, which it asserts as Linux does. */
function iommu_alloc_mm_data(k: Kernel, mm: MmStruct): IommuMmData {
  lockdep_assert_held(k, k.sva.iommu_sva_lock, 'iommu_alloc_mm_data');
  return k.sva.mmDataFor(mm);
}

/**
 * With "iommu: disable SVA when CONFIG_X86 is set" applied alone (k.release.x86SvaDisabled; the
 * model is x86), binding fails with -EOPNOTSUPP whatever the IOMMU: amdxdna's "SVA bind device
 * failed, ret -95" on 6.18.4-6.18.6.
 */
export function* iommu_sva_bind_device(k: Kernel, dev: SvaDevice, mm: MmStruct): Sim<IommuSvaHandle | SvaBindError> {
  if (k.release.x86SvaDisabled) return { errno: -EOPNOTSUPP };
  const sva = k.sva;
  yield* mutex_lock(k, sva.iommu_sva_lock);
  const iommu_mm = iommu_alloc_mm_data(k, mm);
  const existing = sva.handles.find((h) => h.dev === dev && h.iommu_mm === iommu_mm);
  if (existing !== undefined) {
    existing.users++;
    yield* mutex_unlock(k, sva.iommu_sva_lock);
    return existing;
  }
  let domain = iommu_mm.sva_domains[0];
  if (domain === undefined) {
    domain = domain_alloc_sva(k, mm, sva.allocDomainId(), iommu_mm.pasid);
    if (iommu_mm.sva_domains.length === 0) {
      yield step('iommu_sva_present = true', 'write', sva.presentObj);
      if (sva.iommu_sva_mms.length === 0) sva.iommu_sva_present = true;
      sva.iommu_sva_mms.unshift(iommu_mm);
    }
    iommu_mm.sva_domains.unshift(domain);
  }
  yield* domain.set_dev_pasid(k, dev);
  domain.users++;
  const handle: IommuSvaHandle = { dev, domain, iommu_mm, users: 1 };
  sva.handles.push(handle);
  yield* mutex_unlock(k, sva.iommu_sva_lock);
  return handle;
}

export function* iommu_sva_unbind_device(k: Kernel, handle: IommuSvaHandle): Sim {
  const sva = k.sva;
  yield* mutex_lock(k, sva.iommu_sva_lock);
  if (--handle.users > 0) {
    yield* mutex_unlock(k, sva.iommu_sva_lock);
    return;
  }
  sva.handles.splice(sva.handles.indexOf(handle), 1);
  const { domain, iommu_mm } = handle;
  yield* domain.remove_dev_pasid(k, handle.dev);
  if (--domain.users === 0) {
    iommu_mm.sva_domains.splice(iommu_mm.sva_domains.indexOf(domain), 1);
    domain.free();
  }
  if (iommu_mm.sva_domains.length === 0) {
    yield step('iommu_sva_present = false', 'write', sva.presentObj);
    sva.iommu_sva_mms.splice(sva.iommu_sva_mms.indexOf(iommu_mm), 1);
    if (sva.iommu_sva_mms.length === 0) sva.iommu_sva_present = false;
  }
  yield* mutex_unlock(k, sva.iommu_sva_lock);
}

/**
 * iommu_sva_invalidate_kva_range(): flush every SVA mm's IOMMU caches for a kernel range. Takes
 * iommu_sva_lock (may sleep); returns at once when no SVA mm exists.
 *
 * [modelling choice] `ih` is not an argument in v6.19, whose Intel callback always passes IH = 0;
 * here it reaches the descriptor through the mm's notifiers (0 unless a design asks), so a design
 * can try IH = 1.
 */
export function* iommu_sva_invalidate_kva_range(k: Kernel, start: Va, end: Va, ih: 0 | 1 = 0): Sim {
  const sva = k.sva;
  yield* mutex_lock(k, sva.iommu_sva_lock);
  try {
    if (!sva.iommu_sva_present) return;
    for (const iommu_mm of sva.iommu_sva_mms) yield* mmu_notifier_arch_invalidate_secondary_tlbs(k, iommu_mm.mm, start, end, ih);
  } finally {
    yield* mutex_unlock(k, sva.iommu_sva_lock);
  }
}

/** mmu_notifier_arch_invalidate_secondary_tlbs(): every subscription's callback, in order. */
export function* mmu_notifier_arch_invalidate_secondary_tlbs(k: Kernel, mm: MmStruct, start: Va, end: Va, ih: 0 | 1 = 0): Sim {
  for (const sub of mm.notifiers) yield* sub.arch_invalidate_secondary_tlbs(k, mm, start, end, ih);
}
