/**
 * mixed-reuse — many frees through every path, with the freed pages handed out again in between:
 * vfree + huge vmalloc (pmd_free_pte_page), a 1 GiB ioremap (pud_free_pmd_page), CPA split and
 * collapse, memory hot-add/remove, while another CPU keeps allocating pages and filling them with
 * fake user PTEs (the attacker's spray) and freeing them again. Reuse is what turns a stale walk
 * into an attack, and what exposes a flag that survives a free.
 */
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from '../../hw/address.ts';
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, mk_entry } from '../../hw/index.ts';
import { __free_page, alloc_page } from '../../kernel/mm/page_alloc.ts';
import { set_memory_ro, set_memory_rox, set_memory_rw } from '../../kernel/arch/x86/mm/pat/set_memory.ts';
import { GFP_KERNEL } from '../../kernel/include/linux/gfp.ts';
import { __va } from '../../kernel/arch/x86/include/asm/pgtable_64_types.ts';
import type { Page } from '../../kernel/include/linux/mm_types.ts';
import { ioremap, purge_vmap_area_lazy, vfree, vmalloc } from '../../kernel/mm/vmalloc.ts';
import { step, type Sim } from '../../sim/index.ts';
import { spawnAttacker } from '../attacker.ts';
import { Doorbell } from '../doorbell.ts';
import type { Workload } from '../workload.ts';
import { hotAddRemove, hotplugSection } from './hot-remove.ts';
import { vfreeThenHugeVmap } from './vfree-huge-vmap.ts';

const params = z
  .object({
    rounds: z.number().int().min(1).max(16).default(1).describe('rounds through every free path'),
    reusePages: z.number().int().min(0).max(256).default(8).describe('pages the reuse thread allocates, fills and frees per round'),
    probes: z.number().int().min(0).max(1000).default(4).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

export const mixedReuse: Workload<z.infer<typeof params>> = {
  name: 'mixed-reuse',
  summary: 'every free path in turn while another CPU reallocates and refills the freed pages',
  params,
  // 2 MiB direct-map leaves: with a 4 KiB direct map (directMap4k, as under debug_pagealloc) the CPA
  // collapse would fold a boot-time (reserved) PTE table and __free_page() it — see the closing note.
  config: () => ({ hotplugSections: 1 }),
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes });
    const done = new Doorbell(k.exec, 'frees done');
    const publish = (va: bigint) => attacker.targets.publish(va);
    k.exec.spawn({ name: 'cpu0:frees', cpu: 0 }, function* (): Sim {
      yield* attacker.bound.wait();
      for (let r = 0; r < p.rounds; r++) {
        yield* vfreeThenHugeVmap(k, publish);
        const small = yield* vmalloc(k, PAGE_SIZE);
        if (small !== null) {
          yield* publish(small);
          yield* vfree(k, small);
          yield* purge_vmap_area_lazy(k);
          yield* ioremap(k, PUD_SIZE, PUD_SIZE);
        }
        const region = __va(k.layout, PMD_SIZE);
        yield* set_memory_ro(k, region + BigInt(PAGE_SIZE), 1);
        yield* publish(region + BigInt(PAGE_SIZE));
        yield* set_memory_rw(k, region + BigInt(PAGE_SIZE), 1);
        yield* set_memory_rox(k, region, PMD_SIZE / PAGE_SIZE);
        yield* hotAddRemove(k, hotplugSection(k), attacker.targets);
      }
      yield* done.ring();
    });
    const fake = mk_entry(0, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED);
    k.exec.spawn({ name: 'cpu1:reuse', cpu: 1 }, function* (): Sim {
      yield* attacker.bound.wait();
      for (let r = 0; r < p.rounds + 1; r++) {
        const held: Page[] = [];
        for (let i = 0; i < p.reusePages; i++) {
          const page = yield* alloc_page(k, GFP_KERNEL);
          if (page === null) break;
          yield step('memset fake ptes', 'write', page);
          for (let e = 0; e < 512; e += 64) k.mem.write64(page * PAGE_SIZE + 8 * e, fake);
          held.push(page);
        }
        for (const page of held) yield* __free_page(k, page);
      }
      yield* done.wait();
    });
  },
};
