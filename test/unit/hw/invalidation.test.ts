import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AGAW_PFN_WIDTH, ULONG_MAX, devtlbRange, encodeDesc, formatDesc, piotlbRange } from '../../../src/hw/index.ts';
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
