import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMem } from '../../../src/hw/index.ts';
import { ModelInvariantError } from '../../../src/sim/index.ts';

test('a 64-bit entry is stored little-endian and read back whole or as its two u32 halves', () => {
  const mem = new PhysMem(4);
  mem.write64(0x1008, 0x80000000001a3063n);
  assert.deepEqual([...mem.readBytes(0x1008, 8)], [0x63, 0x30, 0x1a, 0x00, 0x00, 0x00, 0x00, 0x80]);
  assert.equal(mem.read64(0x1008), 0x80000000001a3063n);
  assert.equal(mem.readLo(0x1008), 0x001a3063);
  assert.equal(mem.readHi(0x1008), 0x80000000);
});

test('orLo sets Accessed/Dirty bits without touching the rest of the entry (the walker A/D update)', () => {
  const mem = new PhysMem(1);
  mem.write64(0x10, 0x80000000001a3003n);
  mem.orLo(0x10, 0x60);
  assert.equal(mem.read64(0x10), 0x80000000001a3063n);
  mem.writeHi(0x10, 0);
  mem.writeLo(0x10, 0x1000);
  assert.equal(mem.read64(0x10), 0x1000n);
});

test('a freed frame keeps its bytes until its next owner writes: fill, zero, copy, frameFilledWith', () => {
  const mem = new PhysMem(3);
  mem.fillFrame(1, 0x6b);
  assert.equal(mem.frameFilledWith(1, 0x6b), true);
  assert.equal(mem.frameFilledWith(2, 0x6b), false);
  mem.copyFrame(2, 1);
  assert.equal(mem.frameFilledWith(2, 0x6b), true);
  mem.writeBytes(0x2000 + 4095, new Uint8Array([1]));
  assert.equal(mem.frameFilledWith(2, 0x6b), false);
  mem.zeroFrame(1);
  assert.equal(mem.frameFilledWith(1, 0), true);
  assert.equal(mem.read64(0x2000), 0x6b6b6b6b6b6b6b6bn);
});

test('accesses outside memory or misaligned entry accesses are model bugs (ModelInvariantError)', () => {
  const mem = new PhysMem(2);
  assert.throws(() => mem.read64(0x2000), ModelInvariantError);
  assert.throws(() => mem.readLo(0x1004), ModelInvariantError);
  assert.throws(() => mem.write64(-8, 0n), ModelInvariantError);
  assert.throws(() => mem.readBytes(0x1ffc, 8), ModelInvariantError);
  assert.throws(() => mem.fillFrame(2, 0), ModelInvariantError);
  assert.equal(mem.contains(0x1fff), true);
  assert.equal(mem.contains(0x2000), false);
});

test('reset() zeroes every frame any write path touched, as a fresh PhysMem would be', () => {
  const mem = new PhysMem(8);
  mem.write64(0x1008, 0xdeadbeefcafef00dn);
  mem.writeLo(0x2000, 7);
  mem.writeHi(0x2010, 9);
  mem.orLo(0x3000, 0x20);
  mem.fillFrame(4, 0xaa);
  mem.copyFrame(5, 4);
  mem.writeBytes(0x5ffe, new Uint8Array([1, 2, 3, 4]));
  mem.reset();
  for (let pfn = 0; pfn < 8; pfn++) assert.ok(mem.frameFilledWith(pfn, 0), `frame ${pfn}`);
});

test('a filled frame reads as its byte everywhere, and a partial write keeps the rest of the fill (CONFIG_PAGE_POISONING then reuse)', () => {
  const mem = new PhysMem(4);
  mem.write64(0x1ff8, 0x1234n);
  mem.fillFrame(1, 0xaa);
  assert.equal(mem.readLo(0x1ff8), 0xaaaaaaaa);
  assert.equal(mem.readHi(0x1000), 0xaaaaaaaa);
  assert.equal(mem.read64(0x1800), 0xaaaaaaaaaaaaaaaan);
  assert.deepEqual([...mem.readBytes(0x1ffe, 4)], [0xaa, 0xaa, 0, 0]);
  mem.orLo(0x1008, 0x1);
  assert.equal(mem.read64(0x1008), 0xaaaaaaaaaaaaaaabn);
  assert.equal(mem.read64(0x1010), 0xaaaaaaaaaaaaaaaan);
  assert.equal(mem.frameFilledWith(1, 0xaa), false);
  mem.reset();
  mem.writeLo(0x1000, 5);
  assert.equal(mem.read64(0x1000), 5n);
  assert.equal(mem.read64(0x1ff8), 0n);
  assert.throws(() => mem.fillFrame(2, 0x1aa), ModelInvariantError);
});
