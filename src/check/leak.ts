/**
 * `leak`: at quiescence, an allocated page that nothing references (reachable.ts) was lost — the
 * kmemleak report. That covers a page freed only in part (a non-compound block through
 * compound_order(), docs/kernel/pitfalls.md §8) and a deferred-free list that is never drained (its pages stay
 * allocated, referenced by nothing but the list). Reported per contiguous run, with the thread that
 * allocated it. A kmalloc()ed object still allocated at quiescence is reported too, unless
 * kmemleak_not_leak() was called on it: the model cannot scan a typed payload for pointers, and a
 * design's side records are done with once everything has quiesced (src/kernel/mm/slab.ts).
 */
import { PAGE_SIZE } from '../hw/address.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { KernelObserver } from '../kernel/model/observer.ts';
import { PageReserved, SHADOW_ALLOCATED, currentThread, dump_page, type Page } from '../kernel/include/linux/mm_types.ts';
import { reachableFrames } from './reachable.ts';
import { slab_live_objects } from '../kernel/mm/slab.ts';

export class LeakOracle implements KernelObserver {
  /** Who allocated each frame: an index into `owners`, and the step. */
  private readonly owner: Int32Array;
  private readonly allocStep: Float64Array;
  private readonly owners: string[] = ['boot'];
  count = 0;

  constructor(private readonly k: Kernel) {
    this.owner = new Int32Array(k.mem.frames);
    this.allocStep = new Float64Array(k.mem.frames);
    k.exec.onQuiescence(() => this.check());
  }

  pagesAllocated(page: Page, order: number): void {
    const t = currentThread(this.k.exec);
    const name = t?.name ?? 'boot';
    let id = this.owners.indexOf(name);
    if (id < 0) id = this.owners.push(name) - 1;
    for (let i = 0; i < 1 << order; i++) {
      this.owner[page + i] = id;
      this.allocStep[page + i] = this.k.exec.stepCount;
    }
  }

  private check(): void {
    const k = this.k;
    const seen = reachableFrames(k);
    const lost = (pfn: number) => k.pages.shadow[pfn] === SHADOW_ALLOCATED && seen[pfn] === 0 && !PageReserved(k.pages, pfn);
    for (let pfn = 0; pfn < k.mem.frames; pfn++) {
      if (!lost(pfn)) continue;
      let end = pfn;
      while (end + 1 < k.mem.frames && lost(end + 1) && this.owner[end + 1] === this.owner[pfn]) end++;
      const n = end - pfn + 1;
      this.count++;
      k.exec.report('leak', `unreferenced object pfn 0x${pfn.toString(16)} (size ${n * PAGE_SIZE}): comm "${this.owners[this.owner[pfn]]}"`, [
        `kmemleak: ${n} page${n === 1 ? '' : 's'} (pfn 0x${pfn.toString(16)}-0x${end.toString(16)}) allocated at step ${this.allocStep[pfn]} and referenced by no page table, vmalloc area or free list at quiescence`,
        `refcount of the first page ${k.pages.refcount[pfn]}${n > 1 ? `, of the next ${k.pages.refcount[pfn + 1]}` : ''}`,
        ...dump_page(k.pages, pfn, 'kmemleak: unreferenced'),
      ]);
      pfn = end;
    }
    for (const o of slab_live_objects(k)) {
      this.count++;
      k.exec.report('leak', `unreferenced object ${o.name}: comm "${o.allocComm}"`, [
        `kmemleak: ${o.name} kmalloc()ed at step ${o.allocStep} and never kfree()d by quiescence (the model cannot see what points to an object: one meant to live on is declared with kmemleak_not_leak())`,
      ]);
    }
  }
}
