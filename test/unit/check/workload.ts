/**
 * Fixtures for the oracle tests: the tables under a kernel address, and the leak workload of
 * src/scenario/leak-demo.ts in short (bind → vmalloc → device probe → vfree → purge → huge vmalloc
 * → device probe again), with a kernel thread and a device thread ordered by doorbells.
 */
import { PAGE_SIZE, PMD_SIZE, type Va } from '../../../src/hw/address.ts';
import type { DmaResult } from '../../../src/hw/index.ts';
import { attachOracles, type Oracles } from '../../../src/check/index.ts';
import { iommu_sva_bind_device } from '../../../src/kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { pgd_alloc, type MmStruct } from '../../../src/kernel/kernel/fork.ts';
import { entry_table, p4d_offset, pgd_offset, pmd_offset, pmdp_get, pud_offset, pudp_get, type EntryPtr } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { purge_vmap_area_lazy, vfree, vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { Doorbell } from '../../../src/scenario/doorbell.ts';
import type { ExecutionResult, Sim } from '../../../src/sim/index.ts';
import { runKernel } from '../../helpers/kernel.ts';

export interface Tables {
  readonly pudp: EntryPtr;
  readonly pmdp: EntryPtr;
  /** The PMD table's and the PTE table's frames. */
  readonly pmdTable: number;
  readonly pteTable: number;
}

/** The init_mm entries and tables above the kernel address `va` (which must be mapped with 4 KiB pages). */
export function* tablesOf(k: Kernel, va: Va): Sim<Tables> {
  const pudp = yield* pud_offset(k, yield* p4d_offset(k, pgd_offset(k, k.init_mm, va), va), va);
  const pmdTable = entry_table(yield* pudp_get(k, pudp)) / PAGE_SIZE;
  const pmdp = yield* pmd_offset(k, pudp, va);
  const pteTable = entry_table(yield* pmdp_get(k, pmdp)) / PAGE_SIZE;
  return { pudp, pmdp, pmdTable, pteTable };
}

/** A process mm bound to the kernel's first device (what an SVA user does first). */
export function* bindProcess(k: Kernel): Sim<MmStruct> {
  const mm = yield* pgd_alloc(k, 'task');
  if (mm === null) throw new Error('pgd_alloc failed');
  yield* iommu_sva_bind_device(k, k.devices[0], mm);
  return mm;
}

export interface LeakRun {
  readonly oracles: Oracles;
  readonly result: ExecutionResult;
  readonly va: Va;
  readonly tables: Tables;
  /** The device's DMAs after the huge vmalloc, in order. */
  readonly after: DmaResult[];
}

/**
 * The leak workload: the device probes a vmalloc page (caching the PDE that names its PTE table),
 * the kernel vfrees it, purges, and maps a huge vmalloc over the range (pmd_free_pte_page frees the
 * PTE table through the hooks); then `afterFree(va, tables)` runs in the kernel thread and the device probes
 * the address `probesAfter` more times.
 */
export function runLeakWorkload(k: Kernel, probesAfter: number, afterFree?: (va: Va, tables: Tables) => Sim): LeakRun {
  const oracles = attachOracles(k);
  const mapped = new Doorbell(k.exec, 'mapped');
  const probed = new Doorbell(k.exec, 'probed');
  const freed = new Doorbell(k.exec, 'freed');
  let va: Va = 0n;
  let tables: Tables | null = null;
  const after: DmaResult[] = [];
  const result = runKernel(k, [
    [
      { name: 'cpu0:vmalloc', cpu: 0 },
      function* () {
        yield* bindProcess(k);
        va = (yield* vmalloc(k, PAGE_SIZE))!;
        const t = yield* tablesOf(k, va);
        tables = t;
        yield* mapped.ring();
        yield* probed.wait();
        yield* vfree(k, va);
        yield* purge_vmap_area_lazy(k);
        const huge = yield* vmalloc(k, PMD_SIZE, true);
        if (huge !== va) throw new Error(`huge vmalloc at ${huge}, not over the freed range ${va}`);
        if (afterFree !== undefined) yield* afterFree(va, t);
        yield* freed.ring();
      },
    ],
    [
      { name: 'dev0:dma', cpu: -1 },
      function* () {
        yield* mapped.wait();
        yield* k.devices[0].dma({ va, write: false });
        yield* probed.ring();
        yield* freed.wait();
        for (let i = 0; i < probesAfter; i++) after.push(yield* k.devices[0].dma({ va, write: false }));
      },
    ],
  ]);
  if (tables === null) throw new Error('the workload did not run');
  return { oracles, result, va, tables, after };
}
