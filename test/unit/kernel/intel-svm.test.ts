import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ULONG_MAX } from '../../../src/hw/address.ts';
import { MAX_AGAW_PFN_WIDTH, calculate_psi_aligned_address } from '../../../src/kernel/drivers/iommu/intel/svm.ts';

const PAGE_OFFSET = 0xffff888000000000n;

test('calculate_psi_aligned_address: one page is AM 0 at the page (drivers/iommu/intel/cache.c)', () => {
  assert.deepEqual(calculate_psi_aligned_address(0x1000n, 0x1fffn), { addr: 0x1000n, mask: 0 });
});

test('calculate_psi_aligned_address widens an unaligned range until one naturally aligned block covers it', () => {
  // pfn 3..4 needs an 8-page block at pfn 0 (mask 1 would cover only 2..3).
  assert.deepEqual(calculate_psi_aligned_address(0x3000n, 0x4fffn), { addr: 0n, mask: 3 });
});

test("v6.19's worker range (PAGE_OFFSET, TLB_FLUSH_ALL - 1) is a page-selective flush with AM 35 over the upper half", () => {
  const { addr, mask } = calculate_psi_aligned_address(PAGE_OFFSET, ULONG_MAX - 1n);
  assert.equal(mask, 35);
  assert.equal(addr, 0xffff800000000000n);
  assert.ok(mask < MAX_AGAW_PFN_WIDTH, 'not the flush-all encoding');
});
