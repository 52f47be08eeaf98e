import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE } from '../../../src/hw/address.ts';
import { PageReserved } from '../../../src/kernel/include/linux/mm_types.ts';
import { nr_free_pages } from '../../../src/kernel/mm/page_alloc.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

test('boot maps every frame in the direct map at PAGE_OFFSET + pa (kernel_physical_mapping_init)', () => {
  for (const frames of [2048, 1100]) {
    for (const pagingLevels of [4, 5] as const) {
      const k = bootTestKernel({ config: { frames, pagingLevels } });
      const wrong: string[] = [];
      runKernel(k, [
        function* () {
          for (let pfn = 0; pfn < frames; pfn += 37) {
            const t = yield* k.cpus[0].translate(k.layout.PAGE_OFFSET + BigInt(pfn * PAGE_SIZE + 8), { write: true, user: false });
            if (!t.ok || t.pa !== pfn * PAGE_SIZE + 8) wrong.push(`pfn ${pfn}`);
          }
        },
      ]);
      assert.deepEqual(wrong, [], `${frames} frames, ${pagingLevels}-level`);
    }
  }
});

test('boot page tables come from memblock (PageReserved) and every other frame but pfn 0 is free', () => {
  const k = bootTestKernel();
  const pgd = k.init_mm.pgd / PAGE_SIZE;
  assert.ok(PageReserved(k.pages, pgd));
  let reserved = 0;
  for (let pfn = 0; pfn < k.mem.frames; pfn++) if (PageReserved(k.pages, pfn)) reserved++;
  assert.equal(nr_free_pages(k), k.mem.frames - reserved);
  assert.ok(reserved >= 4 && reserved < 10, `${reserved} boot frames`);
});
