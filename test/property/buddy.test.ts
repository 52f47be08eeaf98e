import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newExecution, runThreads } from '../helpers/sim.ts';
import { bootMemory } from '../../src/kernel/model/boot-memory.ts';
import { __free_page, __free_pages, alloc_pages, check_free_lists, nr_free_pages, split_page } from '../../src/kernel/mm/page_alloc.ts';
import { DEFAULT_CONFIG } from '../../src/kernel/model/config.ts';
import { GFP_KERNEL, __GFP_COMP } from '../../src/kernel/include/linux/gfp.ts';
import type { MemoryCore } from '../../src/kernel/model/kernel.ts';
import { SHADOW_ALLOCATED, type Page } from '../../src/kernel/include/linux/mm_types.ts';

const FRAMES = 128;

type Op =
  | { t: 'alloc'; order: number; comp: boolean }
  | { t: 'free'; pick: number }
  | { t: 'split'; pick: number }
  | { t: 'freeOne'; pick: number; sub: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('alloc' as const), order: fc.integer({ min: 0, max: 4 }), comp: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('split' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('freeOne' as const), pick: fc.nat(), sub: fc.nat() }) },
);

interface Live {
  page: Page;
  order: number;
  comp: boolean;
  /** After split_page: the pages not yet freed, each with its own reference. */
  split: Page[] | null;
}

const freeCounts = (k: MemoryCore) => k.zones.map((z) => z.free_area.map((a) => a.nr_free).join(',')).join(' | ');

test('random alloc_pages/__free_pages/split_page sequences lose no frame, hand none out twice, keep the free lists consistent and merge back fully', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const exec = newExecution(undefined, { trace: false });
      const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: FRAMES });
      const bootFree = nr_free_pages(k);
      const bootLayout = freeCounts(k);
      const owned = new Uint8Array(FRAMES);
      let ownedCount = 0;
      const live: Live[] = [];
      const release = (p: Page, n: number) => {
        for (let i = 0; i < n; i++) owned[p + i] = 0;
        ownedCount -= n;
      };
      const checkAll = (what: string) => {
        assert.deepEqual(exec.violations, [], `after ${what}`);
        assert.deepEqual(check_free_lists(k), [], `after ${what}`);
        assert.equal(nr_free_pages(k) + ownedCount, bootFree, `after ${what}: a frame is lost`);
      };
      runThreads(exec, [function* () {
        for (const op of ops) {
          const what = JSON.stringify(op);
          if (op.t === 'alloc') {
            const page = yield* alloc_pages(k, GFP_KERNEL | (op.comp ? __GFP_COMP : 0), op.order);
            if (page !== null) {
              for (let i = 0; i < 1 << op.order; i++) {
                assert.equal(owned[page + i], 0, `${what}: frame ${page + i} handed out twice`);
                assert.equal(k.pages.shadow[page + i], SHADOW_ALLOCATED);
                owned[page + i] = 1;
              }
              ownedCount += 1 << op.order;
              live.push({ page, order: op.order, comp: op.comp, split: null });
            }
          } else if (live.length > 0) {
            const i = op.pick % live.length;
            const a = live[i];
            if (op.t === 'free') {
              if (a.split === null) {
                yield* __free_pages(k, a.page, a.order);
                release(a.page, 1 << a.order);
              } else {
                for (const p of a.split) {
                  yield* __free_page(k, p);
                  release(p, 1);
                }
              }
              live.splice(i, 1);
            } else if (op.t === 'split') {
              if (a.comp || a.split !== null) continue;
              split_page(k, a.page, a.order);
              a.split = Array.from({ length: 1 << a.order }, (_, j) => a.page + j);
            } else if (a.split !== null && a.split.length > 0) {
              const [p] = a.split.splice(op.sub % a.split.length, 1);
              yield* __free_page(k, p);
              release(p, 1);
              if (a.split.length === 0) live.splice(i, 1);
            }
          }
          checkAll(what);
        }
        for (const a of live) {
          if (a.split === null) yield* __free_pages(k, a.page, a.order);
          else for (const p of a.split) yield* __free_page(k, p);
        }
      }]);
      assert.deepEqual(exec.violations, []);
      assert.deepEqual(check_free_lists(k), []);
      assert.equal(nr_free_pages(k), bootFree);
      assert.equal(freeCounts(k), bootLayout);
    }),
    { numRuns: 300 },
  );
});
