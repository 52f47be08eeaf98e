import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE, type Level } from '../../../src/hw/address.ts';
import { PAGE_KERNEL_LARGE, WalkEntry, _KERNPG_TABLE, didPasidTag, mk_entry, vpnOfVa } from '../../../src/hw/index.ts';
import { ModelInvariants, SelfCheckingScheduler } from '../../../src/check/invariants.ts';
import { RoundRobinScheduler } from '../../../src/explore/index.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { PageBuddy, SHADOW_FREE } from '../../../src/kernel/include/linux/mm_types.ts';
import { ModelInvariantError, step } from '../../../src/sim/index.ts';
import { bootTestKernel, entryAt, runKernel } from '../../helpers/kernel.ts';
import { runLeakWorkload } from './workload.ts';

/** A frame on a buddy free list (free, poisoned or never used). */
function freeFrame(k: Kernel): number {
  for (let p = 0; p < k.pages.frames; p++) if (PageBuddy(k.pages, p) && k.pages.shadow[p] === SHADOW_FREE) return p;
  throw new Error('no free frame');
}

/** The PUD table under the vmalloc area's PGD entry (preallocate_vmalloc_pages makes it at boot), and a non-present slot in it. */
function vmallocPud(k: Kernel): { table: number; freeSlotPa: number } {
  const pgdEntry = entryAt(k, k.layout.VMALLOC_START, 4 as Level);
  assert.ok(pgdEntry !== null && pgdEntry.value !== 0n);
  const table = Number(pgdEntry.value & 0x000ffffffffff000n);
  for (let i = 511; i >= 0; i--) if (k.mem.read64(table + 8 * i) === 0n) return { table, freeSlotPa: table + 8 * i };
  throw new Error('no free PUD slot');
}

function throwsSelfCheck(fn: () => void, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ModelInvariantError, `a ModelInvariantError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

test('a freshly booted kernel satisfies every invariant: boot tables live, free lists consistent, IOMMU caches empty', () => {
  const k = bootTestKernel();
  const inv = new ModelInvariants(k);
  inv.check();
});

test('a present entry written (not by the kernel) to point at a free frame is a model bug: the table it names is not live', () => {
  const k = bootTestKernel();
  const inv = new ModelInvariants(k);
  const { freeSlotPa } = vmallocPud(k);
  const free = freeFrame(k);
  k.mem.write64(freeSlotPa, mk_entry(free * PAGE_SIZE, _KERNPG_TABLE));
  throwsSelfCheck(() => inv.checkPageTables(), new RegExp(`^self-check at step 0: init_mm: level-3 entry 0x[0-9a-f]+ at 0x${freeSlotPa.toString(16)} points at frame 0x${free.toString(16)}, which is free$`));
});

test('a frame linked as tables of two levels is a model bug (a PUD entry naming the PUD table itself)', () => {
  const k = bootTestKernel();
  const inv = new ModelInvariants(k);
  const { table, freeSlotPa } = vmallocPud(k);
  k.mem.write64(freeSlotPa, mk_entry(table, _KERNPG_TABLE));
  throwsSelfCheck(() => inv.checkPageTables(), new RegExp(`frame 0x${(table / PAGE_SIZE).toString(16)} is reached as a level-3 table and, from init_mm, as a level-2 table`));
});

test('a huge leaf outside the direct map that maps free frames breaks "no frame is both free and mapped"', () => {
  const k = bootTestKernel();
  const inv = new ModelInvariants(k);
  const { freeSlotPa } = vmallocPud(k);
  // A 1 GiB PUD leaf at pa 0 maps every frame of the small machine, free ones included.
  k.mem.write64(freeSlotPa, mk_entry(0, PAGE_KERNEL_LARGE));
  throwsSelfCheck(() => inv.checkPageTables(), new RegExp(`init_mm: level-3 leaf at 0x${freeSlotPa.toString(16)} maps frame 0x[0-9a-f]+, which is free$`));
});

test('a free list whose nr_free disagrees with its blocks, or a free block head that is not PageBuddy, is a model bug', () => {
  const k = bootTestKernel();
  const inv = new ModelInvariants(k);
  const area = k.zones.flatMap((z) => z.free_area).find((a) => a.nr_free > 0)!;
  area.nr_free++;
  throwsSelfCheck(() => inv.checkFreeLists(), /^self-check at step 0: buddy free lists disagree with the page states: .*nr_free \d+ but \d+ blocks listed/);
  area.nr_free--;
  inv.checkFreeLists();
  const head = freeFrame(k);
  k.pages.pageType[head] = 0xffffffff; // PAGE_TYPE_NONE: PageBuddy cleared behind the allocator's back
  throwsSelfCheck(() => inv.checkFreeLists(), new RegExp(`block head 0x${head.toString(16)} on a free list is not PageBuddy`));
});

test('IOMMU cache entries no walk produced are model bugs: a paging-structure-cache entry and an IOTLB entry filled by hand', () => {
  const k = bootTestKernel();
  const inv = new ModelInvariants(k);
  const va = k.layout.VMALLOC_START;
  const tag = didPasidTag(1, 1);
  const pdpt = vmallocPud(k).table;
  k.iommu.caches.fillPsc(tag, vpnOfVa(va), new WalkEntry(3, pdpt, pdpt, 0x1063, 0, false, true, false), 0);
  throwsSelfCheck(() => inv.checkIommuCaches(), /^self-check at step 0: IOMMU paging-structure cache \(level 3\) holds an entry no walk read: PASID 0x1 region 0x[0-9a-f]+, entry 0x1063 from 0x[0-9a-f]+ \(level 3\), filled at step 0$/);
  k.iommu.caches.invalidate({ did: 1, pasid: 1, range: null, keepsPagingStructures: null });
  inv.checkIommuCaches();
  k.iommu.caches.fillIotlb(tag, vpnOfVa(va), { base: 0x5000, level: 1, user: true, writable: true, nx: false, dirty: true });
  throwsSelfCheck(() => inv.checkIommuCaches(), /IOTLB holds a translation no walk produced: PASID 0x1 level 1 region 0x[0-9a-f]+ -> 0x5000/);
});

test('a design bug is not a model bug: the IOMMU keeps a cached PDE naming a freed PTE table (iommu-use-after-free), every step self-checked, no ModelInvariantError', () => {
  const checking = new SelfCheckingScheduler(new RoundRobinScheduler());
  const k = bootTestKernel({ scheduler: checking });
  const inv = new ModelInvariants(k);
  checking.attach(inv);
  const { result } = runLeakWorkload(k, 2);
  assert.deepEqual(
    result.violations.map((v) => v.kind),
    ['iommu-uncovered-free', 'iommu-use-after-free'],
  );
  let cached = 0;
  for (const c of k.iommu.caches.psc) if (c !== null) cached += c.size;
  assert.ok(cached > 0, 'the stale paging-structure-cache entries are still there, explained by past walks');
  inv.check();
});

test('SelfCheckingScheduler runs the checks before each thread pick: a step that corrupts nr_free stops the run at the next pick', () => {
  const checking = new SelfCheckingScheduler(new RoundRobinScheduler());
  const k = bootTestKernel({ scheduler: checking });
  checking.attach(new ModelInvariants(k));
  const area = k.zones.flatMap((z) => z.free_area).find((a) => a.nr_free > 0)!;
  throwsSelfCheck(
    () =>
      runKernel(k, [
        function* () {
          yield step('corrupt', 'local', -1);
          area.nr_free += 2;
          yield step('after', 'local', -1);
        },
      ]),
    /^self-check at step \d+: buddy free lists disagree with the page states: zone \S+ order \d+: nr_free \d+ but \d+ blocks listed/,
  );
});
