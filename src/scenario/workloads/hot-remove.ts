/**
 * hot-remove — memory hot-add then hot-remove of one section (CXL/DAX toggling): hot-add builds the
 * section's direct map from alloc_low_pages() tables and its vmemmap from one order-9 block under a
 * vmemmap PMD table, none of them marked as kernel tables; hot-remove's remove_pagetable() frees
 * them through free_pagetable() — a table before its parent entry is cleared — then flush_tlb_all().
 * The device probes the section's direct-map and vmemmap addresses.
 */
import { z } from 'zod';
import { PAGE_SIZE } from '../../hw/address.ts';
import { __va } from '../../kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { add_memory, remove_memory, section_start_pfn, section_vmemmap } from '../../kernel/mm/memory_hotplug.ts';
import type { Kernel } from '../../kernel/model/kernel.ts';
import type { Sim } from '../../sim/index.ts';
import { spawnAttacker } from '../attacker.ts';
import type { TargetBoard } from '../targets.ts';
import type { Workload } from '../workload.ts';

const params = z
  .object({
    rounds: z.number().int().min(1).max(16).default(1).describe('hot-add/hot-remove rounds'),
    probes: z.number().int().min(0).max(1000).default(2).describe('spare DMA probes, besides probing every known address after each publication'),
  })
  .strict();

/** The last section of memory is the hot-pluggable one (config.hotplugSections = 1). */
export function hotplugSection(k: Kernel): number {
  return k.mem.frames / k.config.sectionFrames - 1;
}

/** One add/remove cycle of `section`, publishing its direct-map and vmemmap addresses once mapped. */
export function* hotAddRemove(k: Kernel, section: number, targets: TargetBoard): Sim {
  if (!(yield* add_memory(k, section))) return;
  yield* targets.publish(__va(k.layout, section_start_pfn(k, section) * PAGE_SIZE + PAGE_SIZE));
  yield* targets.publish(section_vmemmap(k, section));
  yield* remove_memory(k, section);
  yield* targets.publish(section_vmemmap(k, section));
}

export const hotRemove: Workload<z.infer<typeof params>> = {
  name: 'hot-remove',
  summary: 'hot-add then hot-remove a section: direct-map and vmemmap tables freed by remove_pagetable',
  params,
  config: () => ({ hotplugSections: 1, directMap4k: true }),
  spawn(k, p) {
    const attacker = spawnAttacker(k, { probes: p.probes });
    k.exec.spawn({ name: 'cpu0:hotplug', cpu: 0 }, function* () {
      yield* attacker.bound.wait();
      for (let r = 0; r < p.rounds; r++) yield* hotAddRemove(k, hotplugSection(k), attacker.targets);
    });
  },
};
