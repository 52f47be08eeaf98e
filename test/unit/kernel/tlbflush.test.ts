import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, TLB_FLUSH_ALL } from '../../../src/hw/address.ts';
import { flush_tlb_kernel_range, generic_flush_tlb_kernel_range } from '../../../src/kernel/arch/x86/mm/tlb.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

test('flush_tlb_kernel_range runs with preemption disabled (get_flush_tlb_info per-CPU data)', () => {
  let preemptCount = -1;
  const k = bootTestKernel({
    hooks: {
      *flush_tlb_kernel_range(kk, start, end) {
        yield* generic_flush_tlb_kernel_range(kk, start, end);
        preemptCount = kk.exec.current.ctx.preemptCount;
      },
    },
  });
  runKernel(k, [
    function* () {
      yield* flush_tlb_kernel_range(k, k.layout.VMALLOC_START, k.layout.VMALLOC_START + BigInt(PAGE_SIZE));
    },
  ]);
  assert.equal(preemptCount, 0, 'balanced after the flush');
});

test('a small kernel range is INVLPG per page on every CPU, which also drops each CPU paging-structure cache', () => {
  const k = bootTestKernel();
  const va = k.layout.PAGE_OFFSET + 0x1000n;
  runKernel(k, [
    function* () {
      for (const cpu of k.cpus) yield* cpu.translate(va, { write: false, user: false });
      assert.ok(k.cpus.every((c) => c.tlbHas(va)));
      yield* flush_tlb_kernel_range(k, va, va + BigInt(PAGE_SIZE));
    },
  ]);
  for (const cpu of k.cpus) {
    assert.equal(cpu.tlbHas(va), false);
    assert.equal(cpu.pscSize, 0);
    assert.equal(cpu.stats.invlpg, 1);
  }
});

test('a range above tlb_single_page_flush_ceiling (or TLB_FLUSH_ALL) becomes a full flush', () => {
  const k = bootTestKernel({ config: { tlbSinglePageFlushCeiling: 4 } });
  runKernel(k, [
    function* () {
      yield* flush_tlb_kernel_range(k, k.layout.VMALLOC_START, k.layout.VMALLOC_START + BigInt(5 * PAGE_SIZE));
      yield* flush_tlb_kernel_range(k, k.layout.VMALLOC_START, TLB_FLUSH_ALL);
    },
  ]);
  for (const cpu of k.cpus) {
    assert.equal(cpu.stats.flushAll, 2);
    assert.equal(cpu.stats.invlpg, 0);
  }
});

test('no CPU TLB flush reaches the IOMMU (the bug the project is about)', () => {
  const k = bootTestKernel();
  runKernel(k, [
    function* () {
      yield* flush_tlb_kernel_range(k, k.layout.VMALLOC_START, TLB_FLUSH_ALL);
    },
  ]);
  assert.deepEqual(Object.values(k.iommu.stats.invalidations).filter((n) => n !== 0), []);
});
