/**
 * AMD-Vi command encodings against the layouts of the AMD IOMMU specification (doc 48882,
 * "Commands"; Linux's build_* helpers in drivers/iommu/amd/iommu.c write the same fields), the
 * build_inv_address() range encoding, and what each command's effect drops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ULONG_MAX } from '../../../src/hw/address.ts';
import {
  amdInvalidationEffect,
  amdInvRange,
  CMD_INV_IOMMU_ALL_PAGES_ADDRESS,
  descKind,
  deviceTlbInvalidation,
  encodeAmdCommand,
  formatDesc,
} from '../../../src/hw/index.ts';
import { build_inv_address, build_inv_iommu_pages, build_inv_iotlb_pages } from '../../../src/kernel/drivers/iommu/amd/iommu.ts';

const PAGE_OFFSET = 0xffff888000000000n;
const hex32 = (ws: readonly number[]) => ws.map((w) => w.toString(16).padStart(8, '0'));

test('INVALIDATE_IOMMU_PAGES: PASID in dw0[19:0], opcode 0x3 in dw1[31:28] over DomainID, S/PDE/GN in dw2[2:0], address 63:12 in dw2/dw3', () => {
  // The merged worker's (PAGE_OFFSET, ULONG_MAX) through sva_arch_invalidate_secondary_tlbs: size end - start.
  const c = build_inv_iommu_pages(PAGE_OFFSET, ULONG_MAX - PAGE_OFFSET, 0x2a, 0x1);
  assert.deepEqual(hex32(encodeAmdCommand(c)), ['00000001', '3000002a', 'fffff007', 'ffffbfff']);
  assert.equal(descKind(c), 'piotlb-page');
});

test('INVALIDATE_IOTLB_PAGES: Maxpend dw0[31:24], PASID[15:8] dw0[23:16], DeviceID dw0[15:0]; opcode 0x4, PASID[7:0] dw1[23:16], QueueID = DeviceID', () => {
  const c = build_inv_iotlb_pages(0x100, 0x20, 0x1000n, 0x2000n, 0x1234);
  assert.deepEqual(hex32(encodeAmdCommand(c)), ['20120100', '40340100', '00001005', '00000000']);
  assert.deepEqual(deviceTlbInvalidation(c), { sid: 0x100, pasid: 0x1234, addr: 0n, size: 0x4000n });
  assert.equal(descKind(c), 'devtlb');
});

test('COMPLETION_WAIT: store address[31:3] with S in dw0, opcode 0x1 over address[51:32] in dw1, the store value in dw2/dw3', () => {
  const ws = encodeAmdCommand({ type: 'amd-completion-wait', storeAddr: 0x12_3456_7000, storeData: 0x1_0000_0002n });
  assert.deepEqual(hex32(ws), ['34567001', '10000012', '00000002', '00000001']);
});

test('build_inv_address: one page has S=0; a span sets every bit below the highest differing one; beyond bit 51 it is all pages', () => {
  assert.deepEqual(build_inv_address(0x5123n, 8n), { address: 0x5000n, s: 0 });
  const two = build_inv_address(0x1000n, 0x2000n);
  assert.deepEqual(two, { address: 0x1000n, s: 1 });
  assert.deepEqual(amdInvRange(two.address, two.s), { addr: 0n, size: 0x4000n }, 'the naturally aligned 16 KiB block covering both pages');
  const worker = build_inv_address(PAGE_OFFSET, ULONG_MAX - PAGE_OFFSET);
  assert.deepEqual(worker, { address: 0xffffbffffffff000n, s: 1 });
  assert.deepEqual(amdInvRange(worker.address, worker.s), { addr: 0xffff800000000000n, size: 1n << 47n }, 'the whole upper half of the 4-level space');
  assert.deepEqual(build_inv_address(0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS), { address: 0x7ffffffffffff000n, s: 1 }, "dev_flush_pasid_all()");
  assert.equal(amdInvalidationEffect(build_inv_iommu_pages(0n, ULONG_MAX, 1, 1)).range, null, '(0, ULONG_MAX): every page, no special case needed');
});

test('effect: GN=1 drops the (DomainID, PASID) entries in the range; PDE=1 drops page-directory entries too, PDE=0 keeps them and says why', () => {
  const c = build_inv_iommu_pages(PAGE_OFFSET, ULONG_MAX - PAGE_OFFSET, 3, 7);
  assert.deepEqual(amdInvalidationEffect(c), { did: 3, pasid: 7, range: { first: 0xffff800000000000 / 4096, pages: 2 ** 35 }, keepsPagingStructures: null });
  assert.match(amdInvalidationEffect({ ...c, pde: 0 }).keepsPagingStructures ?? '', /^PDE=0: only page-table entries/);
});

test('trace format: mnemonic, decoded fields, raw words', () => {
  const c = build_inv_iommu_pages(PAGE_OFFSET, ULONG_MAX - PAGE_OFFSET, 1, 1);
  assert.equal(formatDesc(c), 'INVALIDATE_IOMMU_PAGES domid=1 pasid=0x1 addr=0xffffbffffffff000 S=1 PDE=1 GN=1 (dw0=0x00000001 dw1=0x30000001 dw2=0xfffff007 dw3=0xffffbfff)');
});
