import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Iommu,
  LEGACY_IOTLB_CHOICE,
  PAGE_SHARED,
  PhysMem,
  SvaDevice,
  _KERNPG_TABLE,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  didPasidTag,
  mk_entry,
  vpnOfVa,
  type IommuConfig,
  type IommuObserver,
  type IommuWalkReadEvent,
  type InvDesc,
} from '../../../src/hw/index.ts';
import { RoundRobinScheduler } from '../../../src/explore/index.ts';
import { Execution, NO_OBJECT, step, type ChoicePoint, type Scheduler } from '../../../src/sim/index.ts';
import { newExecution, runThreads } from '../../helpers/sim.ts';
import { drive, TableBuilder } from './machine.ts';

const KVA = 0xffffc90000201000n; // a vmalloc-area page: supervisor leaf, _KERNPG_TABLE above it
const UVA = 0x40000000n; // a user page
const DID = 7;
const PASID = 1;
const SIZES = { levels: 4 as const, pml5: 0, pml4: 4, pdpt: 4, pde: 8, iotlb: 16 };

function setup(exec: Execution = new Execution(new RoundRobinScheduler()), options: Partial<IommuConfig> = {}) {
  const mem = new PhysMem(64);
  const b = new TableBuilder(mem, 4);
  // The kernel leaf has no Accessed bit yet, so a walk that marked it would show.
  b.map(KVA, 0x7000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_NX, () => _KERNPG_TABLE);
  b.map(UVA, 0x9000, 1, PAGE_SHARED);
  const iommu = new Iommu(exec, mem, { ...SIZES, ...options });
  iommu.setPasidEntry(PASID, { pgd: b.root, domainId: DID });
  return { exec, mem, b, iommu, tag: didPasidTag(DID, PASID) };
}

function recorder(): IommuObserver & { reads: IommuWalkReadEvent[]; log: string[] } {
  const reads: IommuWalkReadEvent[] = [];
  const log: string[] = [];
  return {
    reads,
    log,
    walkRead: (e) => void reads.push(e),
    adWrite: (e) => void log.push(`ad ${e.level} 0x${e.entryPa.toString(16)} 0x${e.bits.toString(16)}`),
    translated: (e) => void log.push(`translated 0x${e.pa.toString(16)}`),
    fault: (e) => void log.push(`fault ${e.reason} ${e.level}`),
  };
}

const pdeCached = (iommu: Iommu, tag: number, va: bigint) => iommu.caches.peekPsc(2, tag, vpnOfVa(va)) !== undefined;

test('a user DMA to a kernel address faults at the leaf yet leaves the PML4E, PDPTE and PDE caches filled (caches non-leaf entries before the U/S check fails)', () => {
  const { mem, b, iommu, tag } = setup();
  const obs = recorder();
  iommu.observers.push(obs);
  const r = drive(iommu.translate(PASID, KVA, { write: false })).value;
  assert.deepEqual(r, { ok: false, reason: 'protection', level: 1 });
  for (const level of [4, 3, 2] as const) assert.notEqual(iommu.caches.peekPsc(level, tag, vpnOfVa(KVA)), undefined, `level ${level} cached`);
  assert.equal(iommu.caches.iotlb.size, 0, 'nothing in the IOTLB');
  assert.equal(mem.read64(b.entryPa(KVA, 1) as number) & 0x20n, 0n, 'the faulting leaf is not marked accessed');
  assert.deepEqual(obs.log, ['fault protection 1']);
  assert.deepEqual(
    obs.reads.map((e) => [e.level, e.fromCache]),
    [
      [4, false],
      [3, false],
      [2, false],
      [1, false],
    ],
  );
});

test('a later walk uses the cached PDE and reads the PTE table frame directly, even after the PMD entry was cleared (the stale-entry bug)', () => {
  const { mem, b, iommu } = setup();
  drive(iommu.translate(PASID, KVA, { write: false }));
  const ptePa = b.entryPa(KVA, 1) as number;
  const pteTable = ptePa - (ptePa % 4096);
  // pmd_clear() and the PTE table is freed without an IOMMU flush; its next owner writes into it.
  mem.write64(b.entryPa(KVA, 2) as number, 0n);
  mem.fillFrame(pteTable / 4096, 0);
  mem.write64(ptePa, mk_entry(0x5000, PAGE_SHARED));
  const obs = recorder();
  iommu.observers.push(obs);
  const { value, steps } = drive(iommu.translate(PASID, KVA, { write: false }));
  // Without the cached PDE this would be not-present at the PMD; the rights cached with the
  // supervisor PDE still make the user request fault at the leaf it read from the freed frame.
  assert.deepEqual(value, { ok: false, reason: 'protection', level: 1 });
  assert.deepEqual(
    obs.reads.map((e) => [e.level, e.fromCache, e.tablePa]),
    [
      [2, true, pteTable],
      [1, false, pteTable],
    ],
  );
  assert.equal(obs.reads[1].entry, mk_entry(0x5000, PAGE_SHARED), 'the IOMMU read what the new owner wrote');
  assert.deepEqual(
    steps.filter((s) => s.label === 'iommu_walk_level').map((s) => s.obj),
    [pteTable / 4096],
  );
  assert.equal(iommu.stats.pscHits[2], 1);
});

test('through a stale cached PDPTE the IOMMU sets Accessed in a freed and reused PMD table (write-after-free)', () => {
  const { mem, b, iommu } = setup();
  drive(iommu.translate(PASID, KVA, { write: false }));
  const pmdTable = (b.entryPa(KVA, 2) as number) & ~0xfff;
  const otherVa = KVA + 0x400000n; // same 1 GiB region, a 2 MiB region with no cached PDE
  // pud_clear(); the PMD table is freed and reused: its new contents look like a present table entry.
  mem.write64(b.entryPa(KVA, 3) as number, 0n);
  mem.zeroFrame(pmdTable / 4096);
  const fakeEntryPa = pmdTable + ((Number(otherVa >> 21n) & 511) * 8);
  mem.write64(fakeEntryPa, mk_entry(0x28000, _PAGE_PRESENT | _PAGE_RW));
  mem.zeroFrame(0x28);
  const obs = recorder();
  iommu.observers.push(obs);
  const r = drive(iommu.translate(PASID, otherVa, { write: false })).value;
  assert.deepEqual(r, { ok: false, reason: 'not-present', level: 1 });
  assert.equal(obs.reads[0].fromCache && obs.reads[0].level === 3 && obs.reads[0].tablePa === pmdTable, true);
  assert.deepEqual(obs.log, [`ad 2 0x${fakeEntryPa.toString(16)} 0x20`, 'fault not-present 1']);
  assert.equal(mem.read64(fakeEntryPa) & 0x20n, 0x20n, 'the freed frame was written');
});

test('PSI with ih=0 drops the paging-structure-cache entries covering the range; ih=1 keeps them and drops only leaves', () => {
  const { iommu, tag } = setup();
  drive(iommu.translate(PASID, KVA, { write: false }));
  drive(iommu.translate(PASID, UVA, { write: false }));
  assert.equal(iommu.caches.iotlb.size, 1);
  const psi = (addr: bigint, ih: 0 | 1): InvDesc => ({ type: 'piotlb', granularity: 'page', did: DID, pasid: PASID, addr, am: 0, ih });
  drive(iommu.qi_submit_sync([psi(KVA, 1), psi(UVA, 1)]));
  assert.equal(pdeCached(iommu, tag, KVA), true, 'ih=1 keeps the PDE');
  assert.equal(pdeCached(iommu, tag, UVA), true);
  assert.equal(iommu.caches.iotlb.size, 0, 'ih=1 still drops the IOTLB entry');
  drive(iommu.qi_submit_sync([psi(KVA, 0)]));
  for (const level of [4, 3, 2] as const) assert.equal(iommu.caches.peekPsc(level, tag, vpnOfVa(KVA)), undefined);
  assert.equal(pdeCached(iommu, tag, UVA), true, 'entries for other regions stay');
  assert.deepEqual(iommu.stats.invalidations, { 'piotlb-pasid': 0, 'piotlb-page': 3, 'iotlb-domain': 0, 'iotlb-page': 0, devtlb: 0, wait: 2 });
});

test('a PASID-selective invalidation drops every entry of that PASID and none of another PASID', () => {
  const { b, iommu, tag } = setup();
  iommu.setPasidEntry(2, { pgd: b.root, domainId: 8 });
  for (const pasid of [PASID, 2]) {
    drive(iommu.translate(pasid, KVA, { write: false }));
    drive(iommu.translate(pasid, UVA, { write: false }));
  }
  drive(iommu.qi_submit_sync([{ type: 'piotlb', granularity: 'pasid', did: DID, pasid: PASID }]));
  assert.equal(pdeCached(iommu, tag, KVA), false);
  assert.equal(pdeCached(iommu, tag, UVA), false);
  assert.equal(pdeCached(iommu, didPasidTag(8, 2), KVA), true);
  assert.equal(iommu.caches.iotlb.size, 1, "PASID 2's IOTLB entry stays");
});

test('AM masks 2^am pages: the address bits below the mask are ignored and the next region is untouched', () => {
  const { b, iommu } = setup();
  b.map(UVA + 0x1ff000n, 0xa000, 1, PAGE_SHARED);
  b.map(UVA + 0x200000n, 0xb000, 1, PAGE_SHARED);
  for (const va of [UVA, UVA + 0x1ff000n, UVA + 0x200000n]) assert.equal(drive(iommu.translate(PASID, va, { write: false })).value.ok, true);
  assert.equal(iommu.caches.iotlb.size, 3);
  drive(iommu.qi_submit_sync([{ type: 'piotlb', granularity: 'page', did: DID, pasid: PASID, addr: UVA + 0x5000n, am: 9, ih: 1 }]));
  assert.equal(iommu.caches.iotlb.size, 1);
  const again = drive(iommu.translate(PASID, UVA + 0x200000n, { write: false })).value;
  assert.equal(again.ok && again.fromIotlb, true);
});

test('a device-TLB invalidation reaches the attached device; without it a stale ATS translation keeps working', () => {
  const { mem, b, iommu } = setup();
  const dev = new SvaDevice('dev0', 0x100, iommu, mem, 8);
  dev.pasid = PASID;
  mem.fillFrame(9, 0xaa);
  const read = () => drive(dev.dma({ va: UVA, write: false })).value;
  assert.equal(read().ok, true);
  const hit = read();
  assert.equal(hit.ok && hit.fromDevtlb, true);
  mem.write64(b.entryPa(UVA, 1) as number, 0n);
  const stale = read();
  assert.equal(stale.ok && stale.fromDevtlb && stale.data[0] === 0xaa, true, 'stale device-TLB entry still used');
  drive(iommu.qi_submit_sync([{ type: 'piotlb', granularity: 'page', did: DID, pasid: PASID, addr: UVA, am: 0, ih: 0 }]));
  assert.equal(read().ok, true, 'an IOTLB flush alone does not reach the device TLB');
  drive(iommu.qi_submit_sync([{ type: 'devtlb', sid: 0x100, pasid: PASID, addr: UVA, mask: 0 }]));
  assert.deepEqual(read(), { ok: false, reason: 'not-present', level: 1 });
  assert.deepEqual([dev.stats.devtlbInvalidations, dev.stats.devtlbMisses], [1, 2]);
});

test('an invalidation wait completes only after a walk that was in flight when it was processed (drain), and that walk caches nothing', () => {
  let exec: Execution;
  const scheduler: Scheduler = {
    beginExecution: (i) => i === 0,
    choose(p: ChoicePoint) {
      const dev = exec.threads.find((t) => t.name === 'dev');
      const k = p.options.indexOf('kern');
      // Let the device get its walk going (lookup and the PML4 read), then prefer the kernel.
      return k >= 0 && (dev === undefined || dev.steps >= 3) ? k : 0;
    },
  };
  exec = newExecution(scheduler);
  const { iommu, mem, tag } = setup(exec);
  const dev = new SvaDevice('dev0', 0x100, iommu, mem, 0);
  dev.pasid = PASID;
  const order: string[] = [];
  const result = runThreads(exec, [
    [
      { name: 'dev', cpu: -1 },
      function* () {
        const r = yield* dev.dma({ va: UVA, write: false });
        order.push(r.ok ? 'dma-done' : 'dma-fault');
      },
    ],
    [
      { name: 'kern', cpu: 0 },
      function* () {
        yield* iommu.qi_submit_sync([{ type: 'piotlb', granularity: 'pasid', did: DID, pasid: PASID }]);
        order.push('wait-done');
      },
    ],
  ]);
  assert.equal(result.status, 'quiescent');
  assert.deepEqual(order, ['dma-done', 'wait-done']);
  assert.equal(pdeCached(iommu, tag, UVA), false, 'the walk overlapping the invalidation filled no cache');
  assert.equal(iommu.caches.iotlb.size, 0);
});

test('a DMA issued after the wait was processed does not hold the wait up', () => {
  let exec: Execution;
  const scheduler: Scheduler = {
    beginExecution: (i) => i === 0,
    choose(p: ChoicePoint) {
      const k = p.options.indexOf('kern');
      return k >= 0 ? k : 0;
    },
  };
  exec = newExecution(scheduler);
  const { iommu, mem } = setup(exec);
  const dev = new SvaDevice('dev0', 0x100, iommu, mem, 0);
  dev.pasid = PASID;
  const order: string[] = [];
  runThreads(exec, [
    [
      { name: 'dev', cpu: -1 },
      function* () {
        yield* dev.dma({ va: UVA, write: false });
        order.push('dma-done');
      },
    ],
    [
      { name: 'kern', cpu: 0 },
      function* () {
        yield* iommu.qi_submit_sync([{ type: 'piotlb', granularity: 'pasid', did: DID, pasid: PASID }]);
        order.push('wait-done');
      },
    ],
  ]);
  assert.deepEqual(order, ['wait-done', 'dma-done']);
});

test('the walker sets Accessed (and Dirty for a write) in a user leaf and the observers hear of each A/D write', () => {
  const { b, iommu } = setup();
  const va = UVA + 0x3000n;
  b.map(va, 0xc000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
  const obs = recorder();
  iommu.observers.push(obs);
  drive(iommu.translate(PASID, va, { write: true }));
  const ptePa = b.entryPa(va, 1) as number;
  assert.deepEqual(obs.log, [`ad 1 0x${ptePa.toString(16)} 0x60`, 'translated 0xc000']);
  assert.equal(iommu.stats.adWrites, 1);
});

test('a request on a PASID with no PASID-table entry faults before any cache is consulted', () => {
  const { iommu } = setup();
  drive(iommu.translate(PASID, UVA, { write: false }));
  iommu.setPasidEntry(PASID, null);
  assert.deepEqual(drive(iommu.translate(PASID, UVA, { write: false })).value, { ok: false, reason: 'no-pasid', level: 0 });
});

test('a paging-structure-cache entry records the step of its fill, and a walk through it reports that step (filledAt)', () => {
  const exec = newExecution();
  const { iommu } = setup(exec);
  const fills: number[] = [];
  const obs = recorder();
  iommu.observers.push(obs);
  runThreads(exec, [
    [
      { name: 'dev', cpu: -1 },
      function* () {
        yield* iommu.translate(PASID, KVA, { write: false });
        fills.push(exec.stepCount);
        // Some unrelated steps, so the second walk's step differs from the fill's.
        for (let i = 0; i < 3; i++) yield step('idle', 'local', NO_OBJECT);
        yield* iommu.translate(PASID, KVA, { write: false });
      },
    ],
  ]);
  const cached = obs.reads.filter((e) => e.fromCache);
  assert.equal(cached.length, 1);
  assert.equal(cached[0].level, 2, 'the deepest hit is the PDE');
  // The first walk's last step was its cache fill (the fault after it takes no step).
  assert.equal(cached[0].filledAt, fills[0]);
  assert.equal(iommu.caches.peekPsc(2, didPasidTag(DID, PASID), vpnOfVa(KVA))?.filledAt, fills[0]);
  assert.ok(obs.reads.filter((e) => !e.fromCache).every((e) => e.filledAt === null), 'memory reads carry no fill step');
});

/** A legacy IOTLB descriptor for DID, as qi_desc_iotlb() builds it. */
const legacy = (granularity: 'domain' | 'page', am = 0, ih: 0 | 1 = 0): InvDesc => ({ type: 'iotlb', granularity, did: DID, addr: granularity === 'page' ? KVA : 0n, am, ih, dr: true, dw: true });

/** Both PASIDs of DID and one of another domain have walked KVA; returns what the legacy descriptors left. */
function afterLegacy(descs: readonly InvDesc[], options: Partial<IommuConfig>, exec?: Execution) {
  const { iommu, b, tag } = setup(exec, options);
  iommu.setPasidEntry(2, { pgd: b.root, domainId: DID });
  iommu.setPasidEntry(3, { pgd: b.root, domainId: DID + 1 });
  for (const pasid of [PASID, 2, 3]) drive(iommu.translate(pasid, UVA, { write: false }));
  for (const pasid of [PASID, 2, 3]) drive(iommu.translate(pasid, KVA, { write: false }));
  drive(iommu.qi_submit_sync(descs));
  const other = didPasidTag(DID + 1, 3);
  return {
    iommu,
    pde: [tag, didPasidTag(DID, 2), other].map((t) => pdeCached(iommu, t, KVA)),
    iotlbOfDid: iommu.caches.iotlb.size - (iommu.caches.iotlb.peek(other * 4, vpnOfVa(UVA)) === undefined ? 0 : 1),
  };
}

test('a legacy IOTLB invalidation names no PASID: its leaves go for every PASID of the DID, page-selective or not (QEMU vtd_hash_remove_by_page: first-stage entries by DID)', () => {
  for (const d of [legacy('domain'), legacy('page', 0)]) {
    const { iotlbOfDid, iommu } = afterLegacy([d], { legacyFlushesPagingStructures: true });
    assert.equal(iotlbOfDid, 0, 'no IOTLB entry of the DID survives, not even of the user page a 1-page PSI at KVA misses');
    assert.equal(iommu.caches.iotlb.size, 1, 'the other domain keeps its entry');
  }
});

test('whether it drops the first-stage paging-structure caches is the hardware option legacyFlushesPagingStructures (the VT-d specification leaves it open)', () => {
  assert.deepEqual(afterLegacy([legacy('domain')], { legacyFlushesPagingStructures: false }).pde, [true, true, true]);
  assert.deepEqual(afterLegacy([legacy('domain')], { legacyFlushesPagingStructures: true }).pde, [false, false, true]);
  assert.deepEqual(afterLegacy([legacy('page', 0, 1)], { legacyFlushesPagingStructures: true }).pde, [true, true, true], 'IH=1 keeps them whatever the hardware');
});

test('unset, it is a recorded data choice made once per execution, at the first legacy descriptor the IOMMU processes', () => {
  const asked: ChoicePoint[] = [];
  const answer = (data: number): Scheduler => ({ beginExecution: (i) => i === 0, choose: (p) => (p.kind === 'data' ? (asked.push(p), data) : 0) });
  const kept = afterLegacy([legacy('domain'), legacy('domain')], {}, new Execution(answer(0)));
  assert.deepEqual(asked.map((p) => [p.reason, p.options]), [[LEGACY_IOTLB_CHOICE, ['keeps them', 'drops them']]]);
  assert.deepEqual(kept.pde, [true, true, true]);
  assert.deepEqual(afterLegacy([legacy('domain')], {}, new Execution(answer(1))).pde, [false, false, true]);
  assert.deepEqual(kept.iommu.stats.invalidations, { 'piotlb-pasid': 0, 'piotlb-page': 0, 'iotlb-domain': 2, 'iotlb-page': 0, devtlb: 0, wait: 1 });
});
