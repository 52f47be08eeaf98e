/**
 * Property: the `iommu-uncovered-free` oracle agrees with a plain reference rule on small designs
 * generated as orderings of one free path's operations.
 *
 * Each generated design replaces pmd_free_pte_page() (the vfree → huge vmalloc path) with a
 * sequence of: unlink (pmd_clear), a CPU TLB flush, IOMMU invalidations queued without a wait
 * (PASID-selective, or page-selective with a range and IH; for the bound PASID or another one),
 * invalidation waits, and the free (pte_free_kernel) — exactly one free, at most one unlink.
 *
 * The reference rule, computed from the ordering alone: the PTE table is safe to free only if it
 * was unlinked before the free, and some invalidation after the unlink and before the free drops
 * the cached PDE naming it — PASID-selective for the bound PASID, or page-selective for it with
 * IH = 0 and a range overlapping the 2 MiB the table maps — and a wait follows that invalidation
 * before the free. Otherwise: a hazard. (A missing unlink is a free while linked: the huge mapping
 * overwrites the entry only after.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Design } from '../../src/designs/index.ts';
import { PAGE_SIZE, PMD_SIZE, type Va } from '../../src/hw/address.ts';
import { RoundRobinScheduler } from '../../src/explore/index.ts';
import { pte_free_kernel } from '../../src/kernel/include/asm-generic/pgalloc.ts';
import { pmd_clear, pmd_page, pmdp_get } from '../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { page_ptdesc } from '../../src/kernel/include/linux/mm.ts';
import { generic_flush_tlb_kernel_range } from '../../src/kernel/arch/x86/mm/tlb.ts';
import { builtinScenario, scenarioFrom } from '../../src/scenario/scenario.ts';
import { buildWorld } from '../../src/scenario/world.ts';

/** Where a page-selective range starts, relative to the 2 MiB the PTE table maps. */
type Where = 'inside' | 'below' | 'above' | 'around';

type Op =
  | { readonly op: 'unlink' | 'flush' | 'wait' | 'free' }
  | { readonly op: 'pasid'; readonly other: boolean }
  | { readonly op: 'psi'; readonly other: boolean; readonly where: Where; readonly am: number; readonly ih: 0 | 1 };

/** The start address of a page-selective range for a table mapping [base, base + 2 MiB). */
function psiAddress(base: Va, where: Where, am: number): Va {
  const span = BigInt(PAGE_SIZE) << BigInt(am);
  switch (where) {
    case 'inside':
      return base + BigInt(PAGE_SIZE) * 7n;
    case 'below':
      return base - span;
    case 'above':
      return base + BigInt(PMD_SIZE);
    case 'around':
      return base - 1n;
  }
}

/** The reference rule (see the header), on the ordering alone. */
function expectHazard(ops: readonly Op[], base: Va): boolean {
  const unlink = ops.findIndex((o) => o.op === 'unlink');
  const free = ops.findIndex((o) => o.op === 'free');
  if (unlink < 0 || unlink > free) return true;
  for (let i = unlink + 1; i < free; i++) {
    const o = ops[i];
    if (!coversTable(o, base)) continue;
    if (ops.slice(i + 1, free).some((w) => w.op === 'wait')) return false;
  }
  return true;
}

function coversTable(o: Op, base: Va): boolean {
  if (o.op === 'pasid') return !o.other;
  if (o.op !== 'psi' || o.other || o.ih === 1) return false;
  const pages = 1n << BigInt(o.am);
  const first = (psiAddress(base, o.where, o.am) >> 12n) & ~(pages - 1n); // ADDR's low AM page bits ignored
  const last = first + pages; // exclusive, in pages
  const tableFirst = base >> 12n;
  return first < tableFirst + 512n && tableFirst < last;
}

function designOf(ops: readonly Op[]): Design {
  return {
    name: 'generated',
    summary: ops.map((o) => o.op).join(', '),
    source: 'test/property/hazard-oracle.test.ts',
    overrides: ['pmd_free_pte_page'],
    install: () => ({
      *pmd_free_pte_page(k, pmdp, addr) {
        const pt = page_ptdesc(pmd_page(yield* pmdp_get(k, pmdp)));
        const dev = k.devices[0];
        const pasid = dev.pasid ?? 1;
        const did = k.iommu.pasidEntry(pasid)?.domainId ?? 1;
        for (const o of ops) {
          switch (o.op) {
            case 'unlink':
              yield* pmd_clear(k, pmdp);
              break;
            case 'flush':
              yield* generic_flush_tlb_kernel_range(k, addr, addr + BigInt(PAGE_SIZE - 1));
              break;
            case 'wait':
              yield* k.iommu.qi_submit_sync([]);
              break;
            case 'free':
              yield* pte_free_kernel(k, k.init_mm, pt);
              break;
            case 'pasid':
              yield* k.iommu.qi_submit([{ type: 'piotlb', granularity: 'pasid', did, pasid: o.other ? pasid + 1 : pasid }]);
              break;
            case 'psi': {
              const at = BigInt.asUintN(64, psiAddress(addr, o.where, o.am));
              yield* k.iommu.qi_submit([{ type: 'piotlb', granularity: 'page', did, pasid: o.other ? pasid + 1 : pasid, addr: at, am: o.am, ih: o.ih }]);
            }
          }
        }
        return true;
      },
    }),
  };
}

const invalidation: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('pasid' as const), other: fc.integer({ min: 0, max: 3 }).map((n) => n === 0) }),
  fc.record({
    op: fc.constant('psi' as const),
    other: fc.boolean(),
    where: fc.constantFrom<Where>('inside', 'below', 'above', 'around'),
    am: fc.constantFrom(0, 3, 9, 10, 21),
    ih: fc.constantFrom<0 | 1>(0, 1),
  }),
);

/**
 * 0–1 unlink, 0–1 flush, 0–3 invalidations, 0–2 waits and exactly one free: a third of them in
 * any order, the rest in the order a fix would use (unlink, flush, invalidations, waits, free) with
 * at most one pair of neighbours swapped — so both verdicts come up often. fast-check shrinks towards
 * fewer operations and the listed order.
 */
const orderings: fc.Arbitrary<Op[]> = fc
  .tuple(
    fc.integer({ min: 0, max: 5 }).map((n) => n > 0),
    fc.boolean(),
    fc.array(invalidation, { maxLength: 3 }),
    fc.integer({ min: 0, max: 3 }).map((n) => Math.min(n, 2)),
    fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }) }),
    fc.integer({ min: -4, max: 7 }),
  )
  .map(([unlink, flush, invs, waits, keys, swap]) => {
    const ops: Op[] = [
      ...(unlink ? [{ op: 'unlink' as const }] : []),
      ...(flush ? [{ op: 'flush' as const }] : []),
      ...invs,
      ...Array.from({ length: waits }, () => ({ op: 'wait' as const })),
      { op: 'free' },
    ];
    if (keys !== null) return ops.map((o, i) => ({ o, k: keys[i] ?? 0 })).sort((a, b) => a.k - b.k).map((x) => x.o);
    if (swap >= 0 && swap + 1 < ops.length) [ops[swap], ops[swap + 1]] = [ops[swap + 1], ops[swap]];
    return ops;
  });

const scenario = scenarioFrom({ ...{ name: 'vfree-one-round', workload: 'vfree-huge-vmap' }, params: { rounds: 1, probes: 0 }, config: { cpus: 2, frames: 2048, kworkers: 1 } }, 'test');

function hazardReported(ops: readonly Op[]): { hazard: boolean; base: Va | null } {
  const world = buildWorld(scenario, designOf(ops), new RoundRobinScheduler(), { stopOnViolation: true });
  world.exec.run();
  const frees = world.oracles.hazard.frees;
  return { hazard: world.exec.violations.some((v) => v.kind === 'iommu-uncovered-free'), base: frees.length === 1 ? frees[0].va : null };
}

test('the hazard oracle agrees with the reference rule on 600 generated free paths (ordering, PASID, range, IH, wait)', () => {
  assert.ok(builtinScenario('vfree-huge-vmap'));
  let hazards = 0;
  fc.assert(
    fc.property(orderings, (ops) => {
      const { hazard, base } = hazardReported(ops);
      assert.ok(base !== null, 'exactly one page-table page is freed, with a known VA range');
      const want = expectHazard(ops, base);
      if (want) hazards++;
      assert.equal(hazard, want, `ordering: ${JSON.stringify(ops)}`);
    }),
    { numRuns: 600, seed: 20261203 },
  );
  // The generator must reach both verdicts often, or the agreement says little.
  assert.ok(hazards >= 90 && 600 - hazards >= 90, `${hazards} of 600 generated paths are hazards`);
});

test('the reference rule itself: the merged order (unlink, PASID-selective, wait, free) is safe; each step removed or moved is not', () => {
  const base = 0xffffc90000000000n;
  const good: Op[] = [{ op: 'unlink' }, { op: 'pasid', other: false }, { op: 'wait' }, { op: 'free' }];
  assert.equal(expectHazard(good, base), false);
  assert.equal(hazardReported(good).hazard, false);
  for (const bad of [
    [{ op: 'unlink' }, { op: 'pasid', other: false }, { op: 'free' }, { op: 'wait' }],
    [{ op: 'pasid', other: false }, { op: 'wait' }, { op: 'unlink' }, { op: 'free' }],
    [{ op: 'unlink' }, { op: 'psi', other: false, where: 'inside', am: 0, ih: 1 }, { op: 'wait' }, { op: 'free' }],
    [{ op: 'unlink' }, { op: 'psi', other: false, where: 'above', am: 9, ih: 0 }, { op: 'wait' }, { op: 'free' }],
    [{ op: 'unlink' }, { op: 'pasid', other: true }, { op: 'wait' }, { op: 'free' }],
    [{ op: 'free' }, { op: 'unlink' }, { op: 'pasid', other: false }, { op: 'wait' }],
  ] as Op[][]) {
    assert.equal(expectHazard(bad, base), true, JSON.stringify(bad));
    assert.equal(hazardReported(bad).hazard, true, JSON.stringify(bad));
  }
});
