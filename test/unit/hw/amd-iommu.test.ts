/**
 * The AMD-Vi front end over the shared IOMMU core: a request finds its root through the device's
 * DTE (GV) and GCR3 entry (drivers/iommu/amd/pasid.c iommu_sva_set_dev_pasid → amd_iommu_set_gcr3),
 * walks mm->pgd's kernel half into the page-directory caches, and INVALIDATE_IOMMU_PAGES with PDE=0
 * keeps those entries while PDE=1 drops them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AmdIommu, didPasidTag, vpnOfVa, type SvaDevice } from '../../../src/hw/index.ts';
import { IS_ERR, iommu_sva_bind_device } from '../../../src/kernel/drivers/iommu/iommu-sva.ts';
import { build_inv_iommu_pages } from '../../../src/kernel/drivers/iommu/amd/iommu.ts';
import { pgd_alloc } from '../../../src/kernel/kernel/fork.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

const KVA = 0xffff888000000000n;

function boundAmdKernel() {
  const k = bootTestKernel({ config: { iommu: { ...DEFAULT_CONFIG.iommu, kind: 'amd' } } });
  const dev: SvaDevice = k.devices[0];
  const amd = AmdIommu.of(k.iommu);
  return { k, dev, amd };
}

test('bind programs the GCR3 entry behind a GV=1 DTE; a kernel probe faults at the leaf but caches the kernel half', () => {
  const { k, dev, amd } = boundAmdKernel();
  const pde1: boolean[] = [];
  runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      const h = yield* iommu_sva_bind_device(k, dev, mm);
      assert.ok(!IS_ERR(h));
      const dte = amd.dte(dev.sid)!;
      assert.equal(dte.gv, true);
      assert.deepEqual(amd.lookup(dev.sid, dev.pasid!), { pgd: mm.pgd, domainId: dte.domid });
      assert.equal(amd.lookup(0x999, dev.pasid!), null, 'another requester has no DTE');
      const r = yield* dev.dma({ va: KVA, write: false });
      assert.equal(r.ok, false);
      const tag = didPasidTag(dte.domid, dev.pasid!);
      const cached = () => k.iommu.caches.peekPsc(4, tag, vpnOfVa(KVA)) !== undefined;
      assert.ok(cached(), 'the PML4E of the kernel half is cached');
      // PDE=0: only page-table entries; the page-directory (paging-structure) entries stay.
      yield* amd.process([{ ...build_inv_iommu_pages(0n, 0x7fffffffffffffffn, dte.domid, dev.pasid!), pde: 0 }, { type: 'amd-completion-wait', storeAddr: 0, storeData: 1n }]);
      pde1.push(cached());
      yield* amd.process([build_inv_iommu_pages(0n, 0x7fffffffffffffffn, dte.domid, dev.pasid!), { type: 'amd-completion-wait', storeAddr: 0, storeData: 1n }]);
      pde1.push(cached());
    },
  ]);
  assert.deepEqual(pde1, [true, false], 'kept by PDE=0, dropped by PDE=1');
  assert.ok(k.iommu.stats.invalidations.wait >= 3, 'the GCR3 write flushes and waits too');
});
