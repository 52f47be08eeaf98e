import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, TLB_FLUSH_ALL, ULONG_MAX } from '../../../src/hw/address.ts';
import type { IommuWalkReadEvent } from '../../../src/hw/index.ts';
import { IS_ERR, iommu_sva_bind_device, iommu_sva_invalidate_kva_range, iommu_sva_unbind_device } from '../../../src/kernel/drivers/iommu/iommu-sva.ts';
import { pgd_alloc } from '../../../src/kernel/kernel/fork.ts';
import { spin_lock, spin_lock_init, spin_unlock } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { bootTestKernel, kinds, runKernel } from '../../helpers/kernel.ts';

test('bind puts the mm on iommu_sva_mms and sets iommu_sva_present; the last unbind clears both (iommu-sva.c)', () => {
  const k = bootTestKernel({ devices: [{ name: 'dev0', sid: 1 }, { name: 'dev1', sid: 2 }] });
  const seen: string[] = [];
  runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      const h0 = yield* iommu_sva_bind_device(k, k.devices[0], mm);
      const h1 = yield* iommu_sva_bind_device(k, k.devices[1], mm);
      assert.ok(!IS_ERR(h0) && !IS_ERR(h1));
      seen.push(`bound: present=${k.sva.iommu_sva_present} mms=${k.sva.iommu_sva_mms.length} pasid=${h0.iommu_mm.pasid === h1.iommu_mm.pasid}`);
      yield* iommu_sva_unbind_device(k, h0);
      seen.push(`one left: present=${k.sva.iommu_sva_present}`);
      yield* iommu_sva_unbind_device(k, h1);
      seen.push(`none: present=${k.sva.iommu_sva_present} mms=${k.sva.iommu_sva_mms.length}`);
    },
  ]);
  assert.deepEqual(seen, ['bound: present=true mms=1 pasid=true', 'one left: present=true', 'none: present=false mms=0']);
});

test('iommu_sva_invalidate_kva_range returns without touching the IOMMU when no mm is bound', () => {
  const k = bootTestKernel();
  runKernel(k, [() => iommu_sva_invalidate_kva_range(k, k.layout.PAGE_OFFSET, TLB_FLUSH_ALL)]);
  assert.deepEqual(Object.values(k.iommu.stats.invalidations).filter((n) => n !== 0), []);
});

test('iommu_sva_invalidate_kva_range takes a mutex: under a spinlock it is sleep-in-atomic (the v1 bug)', () => {
  const k = bootTestKernel();
  const lock = spin_lock_init(k, 'some_lock');
  const result = runKernel(k, [
    function* () {
      yield* spin_lock(k, lock);
      yield* iommu_sva_invalidate_kva_range(k, 0n, TLB_FLUSH_ALL);
      yield* spin_unlock(k, lock);
    },
  ]);
  assert.deepEqual(kinds(result), ['sleep-in-atomic']);
  assert.match(result.violations[0].title, /sleeping function called from invalid context/);
});

/** Bind, let the device probe a vmalloc address, then invalidate; report which walks used cached entries afterwards. */
function probeInvalidateProbe(start: bigint, end: bigint) {
  const k = bootTestKernel();
  const reads: IommuWalkReadEvent[] = [];
  k.iommu.observers.push({ walkRead: (e) => void reads.push(e) });
  let afterInvalidation = 0;
  runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      yield* iommu_sva_bind_device(k, k.devices[0], mm);
      const va = (yield* vmalloc(k, PAGE_SIZE))!;
      yield* k.devices[0].dma({ va, write: false });
      yield* iommu_sva_invalidate_kva_range(k, start === -1n ? k.layout.PAGE_OFFSET : start, end);
      afterInvalidation = reads.length;
      yield* k.devices[0].dma({ va, write: false });
    },
  ]);
  return { k, cachedUses: reads.slice(afterInvalidation).filter((e) => e.fromCache).length, walked: reads.slice(afterInvalidation).length };
}

test("v6.19's (PAGE_OFFSET, TLB_FLUSH_ALL) goes the range path with ih=0: the cached kernel PDE is gone", () => {
  const { k, cachedUses, walked } = probeInvalidateProbe(-1n, TLB_FLUSH_ALL);
  assert.equal(k.iommu.stats.invalidations['piotlb-page'], 1);
  assert.equal(k.iommu.stats.invalidations['piotlb-pasid'], 0);
  assert.equal(cachedUses, 0);
  assert.equal(walked, 4, 'a full 4-level walk again');
});

test('(0, ULONG_MAX) is the flush-all shortcut: one PASID-selective descriptor', () => {
  const { k, cachedUses } = probeInvalidateProbe(0n, ULONG_MAX);
  assert.equal(k.iommu.stats.invalidations['piotlb-pasid'], 1);
  assert.equal(k.iommu.stats.invalidations['piotlb-page'], 0);
  assert.equal(cachedUses, 0);
});
