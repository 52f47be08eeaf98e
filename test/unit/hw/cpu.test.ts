import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cpu, PAGE_KERNEL, PAGE_SHARED, PhysMem, _KERNPG_TABLE, _PAGE_GLOBAL, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, type CpuTranslation } from '../../../src/hw/index.ts';
import { ObjectNames } from '../../../src/sim/index.ts';
import { drive, TableBuilder } from './machine.ts';

const KREAD = { write: false, user: false };
const VA_A = 0xffffc90000001000n;
const VA_B = 0xffffc90000401000n; // another 2 MiB region under the same PUD
const NON_GLOBAL_KERNEL = PAGE_KERNEL & ~_PAGE_GLOBAL;

function setup() {
  const mem = new PhysMem(64);
  const b = new TableBuilder(mem, 4);
  b.map(VA_A, 0x20000, 1, PAGE_KERNEL, () => _KERNPG_TABLE);
  b.map(VA_B, 0x21000, 1, NON_GLOBAL_KERNEL, () => _KERNPG_TABLE);
  const cpu = new Cpu(0, mem, { tlbEntries: 16, pscEntries: 4, levels: 4 });
  cpu.load_cr3(b.root);
  return { mem, b, cpu };
}

const tr = (cpu: Cpu, va: bigint, access = KREAD): CpuTranslation => drive(cpu.translate(va, access)).value;

test('a TLB hit translates without walking; a miss walks and fills the TLB and paging-structure caches', () => {
  const { cpu } = setup();
  const first = tr(cpu, VA_A + 0x10n);
  assert.deepEqual(first, { ok: true, pa: 0x20010, pageLevel: 1, global: true, fromTlb: false });
  assert.equal(cpu.pscSize, 3);
  const { value, steps } = drive(cpu.translate(VA_A + 0x20n, KREAD));
  assert.deepEqual(value, { ok: true, pa: 0x20020, pageLevel: 1, global: true, fromTlb: true });
  assert.equal(steps.length, 0);
  assert.deepEqual([cpu.stats.tlbHits, cpu.stats.walks], [1, 1]);
});

test('a stale TLB entry keeps translating after the PTE is cleared in memory, until INVLPG (why Linux flushes)', () => {
  const { mem, b, cpu } = setup();
  tr(cpu, VA_A);
  mem.write64(b.entryPa(VA_A, 1) as number, 0n);
  assert.equal(tr(cpu, VA_A).ok, true);
  cpu.invlpg(VA_A);
  assert.deepEqual(tr(cpu, VA_A), { ok: false, reason: 'not-present', level: 1 });
});

test('a cached PDE lets the CPU read the PTE table directly even after the PMD entry was cleared in memory', () => {
  const { mem, b, cpu } = setup();
  tr(cpu, VA_A);
  const ptePa = b.entryPa(VA_A, 1) as number;
  const other = VA_A + 0x1000n; // same 2 MiB region, not in the TLB
  mem.write64(ptePa + 8, mem.read64(ptePa) + 0x1000n);
  mem.write64(b.entryPa(VA_A, 2) as number, 0n);
  const { value, steps } = drive(cpu.translate(other, KREAD));
  assert.deepEqual(value, { ok: true, pa: 0x21000, pageLevel: 1, global: true, fromTlb: false });
  assert.equal(steps.filter((s) => s.label === 'cpu_walk_level').length, 1, 'only the PTE table was read');
  assert.equal(cpu.stats.pscHits, 1);
});

test('INVLPG drops that page from the TLB (global or not) and ALL paging-structure-cache entries', () => {
  const { cpu } = setup();
  tr(cpu, VA_A);
  tr(cpu, VA_B);
  assert.equal(cpu.pscSize, 4); // PML4E and PDPTE shared, two PDEs
  cpu.invlpg(VA_A);
  assert.equal(cpu.pscSize, 0);
  assert.equal(cpu.tlbHas(VA_A), false, 'the global entry of that page is gone');
  assert.equal(cpu.tlbHas(VA_B), true, 'other pages stay in the TLB');
  assert.equal(cpu.stats.invlpg, 1);
});

test('flushAll (CR4.PGE toggle) drops global TLB entries; flushNonGlobal (CR3 write) keeps them', () => {
  const { cpu } = setup();
  tr(cpu, VA_A); // global
  tr(cpu, VA_B); // not global
  cpu.flushNonGlobal();
  assert.deepEqual([cpu.tlbHas(VA_A), cpu.tlbHas(VA_B), cpu.pscSize], [true, false, 0]);
  tr(cpu, VA_B);
  cpu.flushAll();
  assert.deepEqual([cpu.tlbHas(VA_A), cpu.tlbHas(VA_B), cpu.pscSize], [false, false, 0]);
});

test('a page fault leaves nothing cached for the faulting address, unlike the IOMMU', () => {
  const { cpu } = setup();
  const r = tr(cpu, VA_A, { write: false, user: true });
  assert.deepEqual(r, { ok: false, reason: 'protection', level: 1 });
  assert.equal(cpu.pscSize, 0);
  assert.equal(cpu.tlbHas(VA_A), false);
  // A TLB hit whose rights do not allow the access faults and drops the entry.
  tr(cpu, VA_A);
  assert.deepEqual(tr(cpu, VA_A, { write: false, user: true }), { ok: false, reason: 'protection', level: 1 });
  assert.equal(cpu.tlbHas(VA_A), false);
});

test('a write through a TLB entry cached clean re-walks to set Dirty in the PTE', () => {
  const mem = new PhysMem(32);
  const b = new TableBuilder(mem, 4);
  const va = 0x400000n;
  b.map(va, 0x9000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
  const cpu = new Cpu(1, mem, { tlbEntries: 4, pscEntries: 4, levels: 4 });
  cpu.load_cr3(b.root);
  tr(cpu, va, { write: false, user: true });
  const w = tr(cpu, va, { write: true, user: true });
  assert.equal(w.ok && w.fromTlb, false);
  assert.equal(mem.read64(b.entryPa(va, 1) as number) & 0x60n, 0x60n);
  const again = tr(cpu, va, { write: true, user: true });
  assert.equal(again.ok && again.fromTlb, true, 'the re-walk cached the entry dirty');
  assert.equal(cpu.stats.walks, 2);
});

test('with an object registry a TLB lookup is a step on the CPU TLB object (remote flushes are dependent)', () => {
  const mem = new PhysMem(32);
  const b = new TableBuilder(mem, 4);
  b.map(0x400000n, 0x9000, 1, PAGE_SHARED);
  const objects = new ObjectNames();
  const cpu = new Cpu(3, mem, { tlbEntries: 4, pscEntries: 4, levels: 4 }, objects);
  cpu.load_cr3(b.root);
  const { steps } = drive(cpu.translate(0x400000n, KREAD));
  assert.equal(steps[0].label, 'cpu_tlb_lookup');
  assert.equal(objects.describe(steps[0].obj), 'cpu3 tlb');
});
