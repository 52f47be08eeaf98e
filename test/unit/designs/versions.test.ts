/**
 * The version axis: upstream as v6.19.0 (the Intel driver sends legacy IOTLB descriptors for SVA
 * domains, b33125296b50) and as 6.19.y (PASID-based again since 04b1b069f151), the driver's
 * descriptor choice per release, and what the checker makes of the legacy descriptor's open
 * question (src/kernel/model/releases.ts, docs/kernel/versions.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PAGE_SIZE, ULONG_MAX } from '../../../src/hw/address.ts';
import { LEGACY_IOTLB_CHOICE, type InvDesc } from '../../../src/hw/index.ts';
import { BUILTIN_ALIASES, BUILTIN_DESIGNS, builtinDesign, type Design } from '../../../src/designs/index.ts';
import { check } from '../../../src/job/check.ts';
import type { CheckOptions } from '../../../src/job/check.ts';
import type { CheckResult } from '../../../src/job/check-result.ts';
import { replayLabel } from '../../../src/job/label.ts';
import { iommu_sva_bind_device, iommu_sva_invalidate_kva_range } from '../../../src/kernel/drivers/iommu/iommu-sva.ts';
import { pgd_alloc } from '../../../src/kernel/kernel/fork.ts';
import { boot } from '../../../src/kernel/model/boot.ts';
import { DEFAULT_CONFIG, type IommuCacheConfig } from '../../../src/kernel/model/config.ts';
import { RELEASE_6_19_0, RELEASE_6_19_Y } from '../../../src/kernel/model/releases.ts';
import type { KernelRelease } from '../../../src/kernel/model/release.ts';
import { builtinScenario, type Scenario } from '../../../src/scenario/scenario.ts';
import { newExecution, runThreads } from '../../helpers/sim.ts';

const VMALLOC_PATHS = ['vfree-huge-vmap', 'pud-huge-vmap'];
const design = (name: string): Design => builtinDesign(name)!;

function withIommu(name: string, options: Partial<IommuCacheConfig>): Scenario {
  const s = builtinScenario(name)!;
  return { ...s, config: { ...s.config, iommu: { ...s.config.iommu, ...options } } };
}

function run(d: Design, s: Scenario, options: Partial<CheckOptions> = {}): CheckResult {
  return check(d, s, { strategy: 'pct', seed: 0, budget: 1, shrinkRuns: 0, witnessRuns: 0, ...options }, replayLabel(d.name, s.name));
}

const uncovered = (r: CheckResult) => r.violations.filter((v) => v.kind === 'iommu-uncovered-free');

test('upstream@6.19.0 on an IOMMU whose legacy invalidation keeps the paging-structure caches: the worker frees vmalloc tables uncovered, and the report says why', () => {
  for (const name of VMALLOC_PATHS) {
    const found = uncovered(run(design('upstream@6.19.0'), withIommu(name, { legacyFlushesPagingStructures: false })));
    assert.ok(found.length > 0, name);
    for (const v of found) {
      assert.match(v.site ?? '', /table freed in kernel_pgtable_work$/);
      assert.ok(
        v.details.some((d) => /iotlb_inv_dsc DSI did=1 .*: a legacy IOTLB invalidation: .*legacyFlushesPagingStructures says this IOMMU keeps them$/.test(d)),
        v.details.join('\n'),
      );
    }
  }
});

test('upstream@6.19.0 on an IOMMU whose legacy invalidation drops them: clean on the vmalloc paths', () => {
  for (const name of VMALLOC_PATHS) assert.deepEqual(run(design('upstream@6.19.0'), withIommu(name, { legacyFlushesPagingStructures: true })).violations, [], name);
});

test('upstream@6.19.0 with the behaviour unset: DPOR explores it as a data choice of the space and finds the uncovered free', () => {
  const r = run(design('upstream@6.19.0'), builtinScenario('vfree-huge-vmap')!, { strategy: 'dpor', budget: 2 });
  assert.deepEqual(r.space.dataChoices, [LEGACY_IOTLB_CHOICE]);
  const [v] = uncovered(r);
  assert.ok(v.details.some((d) => d.endsWith('this execution chose an IOMMU that keeps them')), v.details.join('\n'));
});

test('upstream@6.19.y (PASID-based again, 04b1b069f151) is clean on the vmalloc paths and offers no legacy choice; upstream is its other name', () => {
  for (const name of VMALLOC_PATHS) {
    const r = run(design('upstream@6.19.y'), builtinScenario(name)!);
    assert.deepEqual(r.violations, [], name);
    assert.deepEqual(r.space.dataChoices, [], name);
  }
  assert.equal(design('upstream').kernel, RELEASE_6_19_Y);
  assert.equal(design('upstream@6.19.y').kernel, RELEASE_6_19_Y);
  assert.ok(!BUILTIN_DESIGNS.some((d) => d.name === 'upstream'), 'listed once, as upstream@6.19.y');
  assert.deepEqual(BUILTIN_ALIASES.map((a) => [a.design.name, a.of]), [['upstream', 'upstream@6.19.y']]);
});

test('every built-in design names the kernel release it describes', () => {
  for (const d of BUILTIN_DESIGNS) assert.ok(d.kernel !== undefined, d.name);
});

/** The IOTLB descriptors the Intel driver of `release` sends for one kernel-range invalidation. */
function descriptorsFor(release: KernelRelease, iommu: Partial<IommuCacheConfig>, start: bigint, end: bigint): InvDesc[] {
  const k = boot(newExecution(), { config: { ...DEFAULT_CONFIG, iommu: { ...DEFAULT_CONFIG.iommu, ...iommu } }, release, devices: [{ name: 'dev0', sid: 0x100 }] });
  const seen: InvDesc[] = [];
  k.iommu.observers.push({ invalidated: (d) => void seen.push(d) });
  runThreads(k.exec, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      yield* iommu_sva_bind_device(k, k.devices[0], mm);
      yield* iommu_sva_invalidate_kva_range(k, start === -1n ? k.layout.PAGE_OFFSET : start, end);
    },
  ]);
  return seen.map((d) => ('behaviour' in d ? { ...d, behaviour: undefined } : d));
}

const shape = (d: InvDesc) => (d.type === 'iotlb' ? `${d.type} ${d.granularity} did=${d.did} addr=${d.addr.toString(16)} am=${d.am} ih=${d.ih}` : `${d.type} ${'granularity' in d ? d.granularity : ''}`);

test("cache_tag_flush_iotlb() of v6.19.0: the worker's (PAGE_OFFSET, ULONG_MAX) has AM 35 > MAMV, so a domain-selective descriptor with addr, AM and IH zeroed", () => {
  const legacy = { legacyFlushesPagingStructures: true };
  assert.deepEqual(descriptorsFor(RELEASE_6_19_0, legacy, -1n, ULONG_MAX).map(shape), ['iotlb domain did=1 addr=0 am=0 ih=0']);
  assert.deepEqual(descriptorsFor(RELEASE_6_19_0, { ...legacy, mamv: 63 }, -1n, ULONG_MAX).map(shape), ['iotlb page did=1 addr=ffff800000000000 am=35 ih=0'], 'AM ≤ MAMV: page-selective');
  assert.deepEqual(descriptorsFor(RELEASE_6_19_0, { ...legacy, mamv: 63, pgselInv: false }, -1n, ULONG_MAX).map(shape), ['iotlb domain did=1 addr=0 am=0 ih=0'], 'no PSI capability');
  assert.deepEqual(descriptorsFor(RELEASE_6_19_0, { ...legacy, mamv: 63 }, 0n, ULONG_MAX).map(shape), ['iotlb domain did=1 addr=0 am=0 ih=0'], 'flush-all (pages == -1)');
  const one = 0xffffc90000000000n;
  assert.deepEqual(descriptorsFor(RELEASE_6_19_0, legacy, one, one + BigInt(PAGE_SIZE)).map(shape), ['iotlb page did=1 addr=ffffc90000000000 am=0 ih=0']);
  assert.deepEqual(descriptorsFor(RELEASE_6_19_Y, {}, -1n, ULONG_MAX).map(shape), ['piotlb page'], '6.19.y: PASID-based, no MAMV check');
});
