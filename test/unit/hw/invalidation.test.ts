import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AGAW_PFN_WIDTH, ULONG_MAX, descKind, devtlbRange, encodeDesc, formatDesc, invalidationEffect, piotlbRange, vtdCap, type IotlbDesc } from '../../../src/hw/index.ts';
import { ModelInvariantError } from '../../../src/sim/index.ts';

test('qi_desc_piotlb: a page-selective-within-PASID descriptor encodes PASID, DID, GRAN=3, type 6 and ADDR|IH|AM', () => {
  const d = { type: 'piotlb', granularity: 'page', did: 1, pasid: 2, addr: 0xffff888000200000n, am: 9, ih: 0 } as const;
  assert.deepEqual(encodeDesc(d), { qw0: 0x0000000200010036n, qw1: 0xffff888000200009n });
  assert.equal(encodeDesc({ ...d, ih: 1, addr: 0xffff888000200123n }).qw1, 0xffff888000200049n, 'IH is bit 6; the page offset is dropped');
  assert.equal(formatDesc(d), 'p_iotlb_inv_dsc PSI did=1 pasid=0x2 addr=0xffff888000200000 am=9 ih=0 (qw0=0x200010036 qw1=0xffff888000200009)');
});

test('qi_desc_piotlb_all: a PASID-selective (NONG_PASID, GRAN=2) descriptor has a zero qw1', () => {
  assert.deepEqual(encodeDesc({ type: 'piotlb', granularity: 'pasid', did: 0x10, pasid: 0xfffff }), { qw0: 0x000fffff00100026n, qw1: 0n });
});

test('the invalidation wait descriptor asks for a status write of QI_DONE (qi_submit_sync)', () => {
  assert.deepEqual(encodeDesc({ type: 'wait', statusAddr: 0x1000 }), { qw0: 0x0000000200000025n, qw1: 0x1000n });
});

test('qi_desc_dev_iotlb_pasid encodes the size in the address bits below the S bit and the device decodes it back', () => {
  const one = encodeDesc({ type: 'devtlb', sid: 0x100, pasid: 3, addr: 0x2000n, mask: 0 });
  assert.deepEqual(one, { qw0: 0x0000000301000008n, qw1: 0x2000n });
  assert.deepEqual(devtlbRange(one.qw1), { addr: 0x2000n, size: 0x1000n });
  const two = encodeDesc({ type: 'devtlb', sid: 0x100, pasid: 3, addr: 0x2000n, mask: 1 });
  assert.equal(two.qw1, 0x2800n);
  assert.deepEqual(devtlbRange(two.qw1), { addr: 0x2000n, size: 0x2000n });
  const big = encodeDesc({ type: 'devtlb', sid: 1, pasid: 3, addr: 0x40000000n, mask: 9 });
  assert.deepEqual(devtlbRange(big.qw1), { addr: 0x40000000n, size: 0x200000n });
  const all = encodeDesc({ type: 'devtlb', sid: 1, pasid: 3, addr: 0n, mask: MAX_AGAW_PFN_WIDTH });
  assert.deepEqual(devtlbRange(all.qw1), { addr: 0n, size: ULONG_MAX + 1n });
  assert.equal(encodeDesc({ type: 'devtlb', sid: 0, pasid: 0, addr: 0n, mask: 0, pfsid: 0x123 }).qw0, (0x12n << 52n) | (0x3n << 12n) | 8n);
});

test('a PSI range ignores the address bits below the mask: AM=9 from the middle covers the whole 2 MiB', () => {
  assert.deepEqual(piotlbRange({ type: 'piotlb', granularity: 'page', did: 0, pasid: 1, addr: 0x40005000n, am: 9, ih: 0 }), { first: 0x40000, pages: 512 });
});

test('a field that does not fit its descriptor bits is a model bug', () => {
  assert.throws(() => encodeDesc({ type: 'piotlb', granularity: 'page', did: 0, pasid: 1 << 20, addr: 0n, am: 0, ih: 0 }), ModelInvariantError);
  assert.throws(() => encodeDesc({ type: 'piotlb', granularity: 'page', did: 0, pasid: 1, addr: 0n, am: 64, ih: 0 }), ModelInvariantError);
});

const dsi: IotlbDesc = { type: 'iotlb', granularity: 'domain', did: 1, addr: 0n, am: 0, ih: 0, dr: true, dw: true };
const psi: IotlbDesc = { type: 'iotlb', granularity: 'page', did: 0x1234, addr: 0xffff800000000000n, am: 35, ih: 0, dr: false, dw: false };

test('qi_desc_iotlb: the legacy IOTLB descriptor is type 2 (bits 3:0), GRAN 5:4 (2 domain, 3 page), DW 6, DR 7, DID 31:16; qw1 ADDR|IH bit 6|AM 5:0', () => {
  assert.deepEqual(encodeDesc(dsi), { qw0: (1n << 16n) | (1n << 7n) | (1n << 6n) | (2n << 4n) | 2n, qw1: 0n });
  assert.deepEqual(encodeDesc(psi), { qw0: (0x1234n << 16n) | (3n << 4n) | 2n, qw1: 0xffff800000000000n | 35n });
  assert.equal(encodeDesc({ ...psi, ih: 1, addr: 0xffff800000000123n }).qw1, 0xffff800000000000n | (1n << 6n) | 35n, 'IH is bit 6; the page offset is dropped');
  assert.equal(formatDesc(dsi), 'iotlb_inv_dsc DSI did=1 dr=1 dw=1 (qw0=0x100e2 qw1=0x0)');
  assert.equal(formatDesc(psi), 'iotlb_inv_dsc PSI did=4660 addr=0xffff800000000000 am=35 ih=0 dr=0 dw=0 (qw0=0x12340032 qw1=0xffff800000000023)');
  assert.deepEqual([descKind(dsi), descKind(psi)], ['iotlb-domain', 'iotlb-page']);
  assert.throws(() => encodeDesc({ ...psi, am: 64 }), ModelInvariantError);
});

test('a legacy IOTLB invalidation reaches every PASID of its DID and, for first-stage entries, every address (QEMU 005c83953977); its paging-structure effect is what the IOMMU recorded', () => {
  assert.throws(() => invalidationEffect(dsi), ModelInvariantError, 'unprocessed: the hardware has not said');
  const drops = invalidationEffect({ ...psi, behaviour: { dropsPagingStructures: true, chosen: true } });
  assert.deepEqual(drops, { did: 0x1234, pasid: null, range: null, keepsPagingStructures: null });
  const keeps = invalidationEffect({ ...dsi, behaviour: { dropsPagingStructures: false, chosen: true } });
  assert.match(keeps.keepsPagingStructures ?? '', /^a legacy IOTLB invalidation: .*this execution chose an IOMMU that keeps them$/);
  assert.match(invalidationEffect({ ...dsi, behaviour: { dropsPagingStructures: false, chosen: false } }).keepsPagingStructures ?? '', /hardware option legacyFlushesPagingStructures/);
  assert.match(invalidationEffect({ ...psi, ih: 1, behaviour: { dropsPagingStructures: true, chosen: false } }).keepsPagingStructures ?? '', /^IH=1/);
});

test('the capability register carries PSI at bit 39, MAMV at 53:48, DWD 54, DRD 55 (cap_pgsel_inv, cap_max_amask_val, cap_write_drain, cap_read_drain)', () => {
  // The value Linux's DMAR driver prints on many Intel platforms: PSI, MAMV 18, DWD and DRD set.
  assert.equal(vtdCap({ pgselInv: true, mamv: 18, writeDrain: true, readDrain: true }), 0xd2008c40660462n & ((0x3fn << 48n) | (3n << 54n) | (1n << 39n)));
  assert.equal(vtdCap({ pgselInv: false, mamv: 0, writeDrain: false, readDrain: false }), 0n);
});
