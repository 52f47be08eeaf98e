/**
 * The bug the project is about, as one workload (docs/kernel/deferred-free.md; docs/kernel/iommu.md,
 * Why kernel tables are cached):
 *
 *  1. a process binds an SVA device to its mm (iommu_sva_bind_device): the device's PASID now points
 *     the IOMMU at a PGD whose kernel half is shared with init_mm;
 *  2. the kernel vmallocs a page; the device probes that kernel address — the DMA faults at the
 *     supervisor-only leaf, but the IOMMU has already cached the PML4E/PDPTE/PDE on the way down;
 *  3. the kernel vfrees it (the PTE table stays), then maps a huge vmalloc over the same 2 MiB:
 *     vmap_try_huge_pmd → pmd_free_pte_page frees the PTE table with the design's free path;
 *  4. the process sprays anonymous pages with fake PTEs mapping a secret kernel page as
 *     user-accessible, so the freed PTE-table frame is likely reused as one of them (x86 links
 *     kernel tables with the USER bit set, so only the leaf keeps user requests out);
 *  5. the device reads the vmalloc address again: through a stale cached PDE the IOMMU walks the
 *     sprayed page as if it were the PTE table, and the DMA returns the secret.
 *
 * Nothing here decides whether the secret leaks: the doorbells only order the workload; the IOMMU
 * model, the allocator and the design's free path decide.
 */
import type { Va } from '../hw/address.ts';
import { PAGE_SHIFT, PAGE_SIZE, PMD_SIZE } from '../hw/address.ts';
import { _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, mk_entry } from '../hw/index.ts';
import { boot, type BootOptions } from '../kernel/model/boot.ts';
import { alloc_page } from '../kernel/mm/page_alloc.ts';
import { GFP_KERNEL } from '../kernel/include/linux/gfp.ts';
import { iommu_sva_bind_device } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { handle_mm_fault, pgd_alloc } from '../kernel/kernel/fork.ts';
import { p4d_offset, pgd_offset, pmd_offset, pmd_page, pmdp_get, pud_offset } from '../kernel/arch/x86/include/asm/pgtable.ts';
import { purge_vmap_area_lazy, vfree, vmalloc } from '../kernel/mm/vmalloc.ts';
import { Execution, step, type ExecutionStatus, type Scheduler, type Sim, type TraceEvent, type Violation } from '../sim/index.ts';
import { Doorbell } from './doorbell.ts';

export interface LeakDemoOptions extends BootOptions {
  /** Anonymous pages the attacker sprays with fake PTEs. */
  readonly sprayPages: number;
}

export interface LeakDemoResult {
  readonly version: 1;
  readonly status: ExecutionStatus;
  readonly steps: number;
  readonly secret: string;
  /** What the device's DMA of the freed range returned, or null when it faulted. */
  readonly leaked: string | null;
  readonly freedTable: number | null;
  readonly events: readonly TraceEvent[];
  readonly violations: readonly Violation[];
}

const SECRET = 'kptsim-secret: root:$6$s3cr3t$hash';
const USER_BUFFER: Va = 0x7f0000000000n;
const SPRAY_BASE: Va = 0x7f1000000000n;

export function runLeakDemo(scheduler: Scheduler, options: LeakDemoOptions): LeakDemoResult {
  scheduler.beginExecution(0);
  const exec = new Execution(scheduler, { trace: true });
  const k = boot(exec, options);
  const dev = k.devices[0];
  const bound = new Doorbell(exec, 'bound');
  const mapped = new Doorbell(exec, 'mapped');
  const probed = new Doorbell(exec, 'probed');
  const freed = new Doorbell(exec, 'freed');
  const sprayed = new Doorbell(exec, 'sprayed');
  const shared = { target: 0n as Va, secretPfn: -1, leaked: null as string | null, freedTable: null as number | null };

  exec.spawn({ name: 'cpu0:vmalloc', cpu: 0 }, function* () {
    const secretPage = yield* alloc_page(k, GFP_KERNEL);
    if (secretPage === null) return;
    yield step('memcpy secret', 'write', secretPage);
    k.mem.writeBytes(secretPage << PAGE_SHIFT, new TextEncoder().encode(SECRET));
    shared.secretPfn = secretPage;
    yield* bound.wait();
    const addr = yield* vmalloc(k, PAGE_SIZE);
    if (addr === null) return;
    shared.target = addr;
    yield* mapped.ring();
    yield* probed.wait();
    const pmdTable = yield* pteTableOf(k, addr);
    yield* vfree(k, addr);
    yield* purge_vmap_area_lazy(k);
    const huge = yield* vmalloc(k, PMD_SIZE, true);
    k.exec.log('note', `huge vmalloc at 0x${huge?.toString(16)} over the old range: PTE table pfn 0x${pmdTable.toString(16)} went through the design's free path`);
    shared.freedTable = pmdTable;
    yield* freed.ring();
  });

  exec.spawn({ name: 'cpu1:attacker', cpu: 1 }, function* () {
    const mm = yield* pgd_alloc(k, 'attacker');
    if (mm === null) return;
    yield* iommu_sva_bind_device(k, dev, mm);
    yield* handle_mm_fault(k, mm, USER_BUFFER);
    // Touch the first spray page now, so the spray's page tables exist before the free and every
    // page the spray allocates later is a data page it can fill.
    yield* handle_mm_fault(k, mm, SPRAY_BASE);
    yield* bound.ring();
    yield* freed.wait();
    const fake = mk_entry(shared.secretPfn << PAGE_SHIFT, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED);
    for (let i = 0; i < options.sprayPages; i++) {
      const page = yield* handle_mm_fault(k, mm, SPRAY_BASE + BigInt(i * PAGE_SIZE));
      if (page === null) break;
      yield step('copy_from_user spray', 'write', page);
      for (let e = 0; e < 512; e++) k.mem.write64((page << PAGE_SHIFT) + 8 * e, fake);
    }
    k.exec.log('note', `attacker sprayed ${options.sprayPages} pages with fake user PTEs -> pfn 0x${shared.secretPfn.toString(16)}`);
    yield* sprayed.ring();
  });

  exec.spawn({ name: 'dev0:dma', cpu: -1 }, function* () {
    yield* bound.wait();
    const own = yield* dev.dma({ va: USER_BUFFER, write: true, bytes: new Uint8Array([1, 2, 3, 4]) });
    k.exec.log('dma', `DMA write to its own user buffer: ${own.ok ? 'ok' : 'fault'}`);
    yield* mapped.wait();
    const probe = yield* dev.dma({ va: shared.target, write: false, bytes: 8 });
    k.exec.log('dma', `probe of kernel address 0x${shared.target.toString(16)}: ${probe.ok ? 'translated!' : 'faulted (paging-structure caches filled on the way)'}`);
    yield* probed.ring();
    yield* sprayed.wait();
    const read = yield* dev.dma({ va: shared.target, write: false, bytes: SECRET.length });
    shared.leaked = read.ok && read.data !== undefined ? new TextDecoder().decode(read.data) : null;
    k.exec.log('dma', read.ok ? `read of 0x${shared.target.toString(16)} returned ${JSON.stringify(shared.leaked)}` : `read of 0x${shared.target.toString(16)} faulted`);
  });

  const result = exec.run();
  return {
    version: 1,
    status: result.status,
    steps: result.steps,
    secret: SECRET,
    leaked: shared.leaked,
    freedTable: shared.freedTable,
    events: exec.events ?? [],
    violations: result.violations,
  };
}

/** The PTE table currently under `addr` in init_mm (what pmd_free_pte_page will free). */
function* pteTableOf(k: Kernel, addr: Va): Sim<number> {
  const p4dp = yield* p4d_offset(k, pgd_offset(k, k.init_mm, addr), addr);
  const pmdp = yield* pmd_offset(k, yield* pud_offset(k, p4dp, addr), addr);
  return pmd_page(yield* pmdp_get(k, pmdp));
}
