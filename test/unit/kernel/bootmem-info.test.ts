/**
 * Hot-remove's free of a reserved page with a bootmem-info reference (arch/x86/mm/init_64.c
 * free_pagetable(), free_vmemmap_pages(); mm/bootmem_info.c put_page_bootmem();
 * CONFIG_HAVE_BOOTMEM_INFO_NODE, selected by MEMORY_HOTREMOVE on x86-64). The registration
 * register_page_bootmem_info() would do at boot is done here by hand (get_page_bootmem).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE } from '../../../src/hw/address.ts';
import { RoundRobinScheduler } from '../../../src/explore/index.ts';
import { boot } from '../../../src/kernel/model/boot.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { DEFAULT_RELEASE, type KernelRelease } from '../../../src/kernel/model/release.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { entry_table } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { free_pagetable } from '../../../src/kernel/arch/x86/mm/init_64.ts';
import { MIX_SECTION_INFO, SECTION_INFO, bootmem_type, get_page_bootmem } from '../../../src/kernel/mm/bootmem_info.ts';
import { PageReserved, SHADOW_FREE } from '../../../src/kernel/include/linux/mm_types.ts';
import { nr_free_pages } from '../../../src/kernel/mm/page_alloc.ts';
import { entryAt, runClean } from '../../helpers/kernel.ts';
import { newExecution } from '../../helpers/sim.ts';

function bootWith(release: KernelRelease = DEFAULT_RELEASE): Kernel {
  return boot(newExecution(new RoundRobinScheduler()), { config: DEFAULT_CONFIG, release, devices: [] });
}

/** The vmemmap PUD table: a memblock (reserved) table from boot, which register_page_bootmem_memmap() registers as MIX_SECTION_INFO. */
function vmemmapPudTable(k: Kernel): number {
  return entry_table(entryAt(k, k.layout.VMEMMAP_START, 4)!.value) / PAGE_SIZE;
}

test('free_pagetable() of a MIX_SECTION_INFO table registered by two sections drops one reference per free (put_page_bootmem) and gives the page back with free_reserved_page() only at the last', () => {
  const k = bootWith();
  const pud = vmemmapPudTable(k);
  get_page_bootmem(k.pages, 0, pud, MIX_SECTION_INFO);
  get_page_bootmem(k.pages, 1, pud, MIX_SECTION_INFO);
  const free = nr_free_pages(k);
  const after: { reserved: boolean; refcount: number; type: number }[] = [];
  runClean(k, function* () {
    for (let i = 0; i < 2; i++) {
      yield* free_pagetable(k, pud, 0);
      after.push({ reserved: PageReserved(k.pages, pud), refcount: k.pages.refcount[pud], type: bootmem_type(k.pages, pud) });
    }
  });
  assert.deepEqual(after[0], { reserved: true, refcount: 2, type: MIX_SECTION_INFO }, 'the other section still holds it: not freed');
  assert.deepEqual(after[1], { reserved: false, refcount: 0, type: 0 }, 'the last reference: free_reserved_page()');
  assert.equal(k.pages.shadow[pud], SHADOW_FREE);
  assert.equal(nr_free_pages(k), free + 1);
});

test('a reserved page without a bootmem type still goes straight to free_reserved_page()', () => {
  const k = bootWith();
  const pud = vmemmapPudTable(k);
  runClean(k, function* () {
    yield* free_pagetable(k, pud, 0);
  });
  assert.equal(PageReserved(k.pages, pud), false);
  assert.equal(k.pages.shadow[pud], SHADOW_FREE);
});

test('a SECTION_INFO (memmap) page reaching free_pagetable(): put_page_bootmem() while vmemmap pages go there (≤ v7.1), free_reserved_page() after 39406c05f8f1 left them to free_vmemmap_pages()', () => {
  const kept = (release: KernelRelease) => {
    const k = bootWith(release);
    const page = vmemmapPudTable(k);
    get_page_bootmem(k.pages, 0, page, SECTION_INFO);
    get_page_bootmem(k.pages, 1, page, SECTION_INFO);
    runClean(k, function* () {
      yield* free_pagetable(k, page, 0);
    });
    return PageReserved(k.pages, page);
  };
  assert.equal(kept(DEFAULT_RELEASE), true);
  assert.equal(kept({ ...DEFAULT_RELEASE, vmemmapFree: 'free_vmemmap_pages' }), false);
});
