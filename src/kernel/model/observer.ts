/**
 * What the modelled kernel tells the checkers (src/check): typed events at the points where a
 * page-table page's life changes. Observers are called synchronously, inside the step that caused
 * the event, and must not change the model.
 */
import type { Level, Pa } from '../../hw/address.ts';
import type { Page } from '../include/linux/mm_types.ts';

export interface KernelObserver {
  /** An entry of a table at `level` was written by the kernel (set_pmd, pmd_clear, ...). */
  pgtableWrite?(level: Level, entryPa: Pa, old: bigint, value: bigint): void;
  /** A block left the allocator (prep_new_page). */
  pagesAllocated?(page: Page, order: number): void;
  /** An allocation failed for want of memory (not an injected fault): the scenario ran out of frames. */
  allocationFailed?(order: number): void;
  /** __free_pages() was called on a block, before anything about it changed (refcount, flags). */
  pagesFreeing?(page: Page, order: number): void;
  /** A block went back to the allocator: its frames are free (and poisoned) from now on. */
  pagesFreed?(page: Page, order: number): void;
}
