import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Iommu, PAGE_KERNEL, PAGE_SHARED, PhysMem, SvaDevice, _KERNPG_TABLE, didPasidTag, dmaProgram, probeKernel, vpnOfVa } from '../../../src/hw/index.ts';
import { RoundRobinScheduler } from '../../../src/explore/index.ts';
import { Execution, ModelInvariantError } from '../../../src/sim/index.ts';
import { drive, TableBuilder } from './machine.ts';

const UVA = 0x7f0000001000n;
const KVAS = [0xffff888000001000n, 0xffffc90000001000n];

function setup(devtlb = 0) {
  const exec = new Execution(new RoundRobinScheduler(), { trace: true });
  const mem = new PhysMem(64);
  const b = new TableBuilder(mem, 4);
  b.map(UVA, 0x9000, 1, PAGE_SHARED);
  for (const va of KVAS) b.map(va, 0x8000, 1, PAGE_KERNEL, () => _KERNPG_TABLE);
  b.map(0x7f0000400000n, 0x10000000, 1, PAGE_SHARED); // beyond the 256 KiB of memory (MMIO-like)
  const iommu = new Iommu(exec, mem, { levels: 4, pml5: 0, pml4: 4, pdpt: 4, pde: 4, iotlb: 8 });
  iommu.setPasidEntry(5, { pgd: b.root, domainId: 1 });
  const dev = new SvaDevice('dev0', 0x10, iommu, mem, devtlb);
  return { exec, mem, b, iommu, dev };
}

test('a bound device reads and writes user memory through its PASID, one access step on the target frame', () => {
  const { mem, dev } = setup();
  dev.pasid = 5;
  const { value, steps } = drive(dmaProgram(dev, [{ va: UVA + 8n, write: true, bytes: new Uint8Array([1, 2, 3]) }, { va: UVA + 8n, write: false, bytes: 4 }]));
  assert.deepEqual(value.map((r) => r.ok && [...r.data]), [[1, 2, 3], [1, 2, 3, 0]]);
  assert.deepEqual([...mem.readBytes(0x9008, 3)], [1, 2, 3]);
  assert.deepEqual(
    steps.filter((s) => s.label.startsWith('dma_')).map((s) => [s.label, s.access, s.obj]),
    [
      ['dma_write', 'write', 9],
      ['dma_read', 'read', 9],
    ],
  );
});

test('probeKernel: every read of a kernel address faults, but the walks leave the kernel half cached', () => {
  const { dev, iommu } = setup();
  dev.pasid = 5;
  const results = drive(probeKernel(dev, KVAS)).value;
  assert.deepEqual(results, KVAS.map(() => ({ ok: false, reason: 'protection', level: 1 })));
  for (const va of KVAS) assert.notEqual(iommu.caches.peekPsc(2, didPasidTag(1, 5), vpnOfVa(va)), undefined);
  assert.equal(dev.stats.faults, 2);
});

test('an unbound device gets a fault and touches nothing', () => {
  const { dev, iommu } = setup();
  const { value, steps } = drive(dev.dma({ va: UVA, write: false }));
  assert.deepEqual(value, { ok: false, reason: 'no-pasid', level: 0 });
  assert.equal(steps.length, 0);
  assert.equal(iommu.stats.translations, 0);
});

test('a translation to an address outside memory ends as an unsupported request, with no access step', () => {
  const { dev } = setup();
  dev.pasid = 5;
  const { value, steps } = drive(dev.dma({ va: 0x7f0000400000n, write: false }));
  assert.deepEqual(value, { ok: false, reason: 'bad-address', level: 0 });
  assert.equal(steps.some((s) => s.label.startsWith('dma_')), false);
});

test('a device-TLB invalidation that arrives while an ATS translation is in flight keeps its answer out of the device TLB', () => {
  const { dev, iommu } = setup(4);
  dev.pasid = 5;
  const sim = dev.dma({ va: UVA, write: false });
  let n = sim.next();
  while (!n.done && n.value.label !== 'iommu_walk_level') n = sim.next();
  dev.invalidateDevtlb(5, 0n, 1n << 64n);
  while (!n.done) n = sim.next();
  assert.equal(n.value.ok, true);
  const again = drive(dev.dma({ va: UVA, write: false })).value;
  assert.equal(again.ok && again.fromDevtlb, false);
  assert.equal(iommu.stats.atsTranslations, 2);
  const third = drive(dev.dma({ va: UVA, write: false })).value;
  assert.equal(third.ok && third.fromDevtlb, true);
});

test('a DMA crossing a page boundary is a model bug (programs split them)', () => {
  const { dev } = setup();
  dev.pasid = 5;
  assert.throws(() => drive(dev.dma({ va: UVA + 0xffcn, write: false, bytes: 8 })), ModelInvariantError);
});

test('the trace tells the DMA story in kernel terms', () => {
  const { dev, exec } = setup();
  dev.pasid = 5;
  drive(dev.dma({ va: KVAS[0], write: false }));
  const text = (exec.events ?? []).map((e) => e.text);
  assert.equal(text.some((t) => t.startsWith('DMAR fault: pasid 0x5 addr 0xffff888000001000 protection at level 1')), true, text.join('\n'));
  assert.equal(text.some((t) => t.includes('PML4E entry at')), true);
});
