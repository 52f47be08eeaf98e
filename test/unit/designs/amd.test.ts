/**
 * Every built-in design on an AMD IOMMU (config.iommu.kind: amd) against the same design on
 * VT-d. The mechanism is the same on both — the SVA PASID's root is mm->pgd, whose kernel half the
 * IOMMU caches (GCR3 entry vs PASID-table entry), and the SVA core reaches the vendor through the
 * mm's notifier — so the findings must be the same kinds. AMD's notifier sends
 * INVALIDATE_IOMMU_PAGES with PDE=1 where Intel's sends a PASID-based IOTLB descriptor with IH=0:
 * both drop the page-directory entries of the range.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinDesign } from '../../../src/designs/index.ts';
import { RandomScheduler } from '../../../src/explore/index.ts';
import type { InvDesc } from '../../../src/hw/index.ts';
import { DEFAULT_RELEASE } from '../../../src/kernel/model/release.ts';
import { scenarioFrom } from '../../../src/scenario/scenario.ts';
import { buildWorld } from '../../../src/scenario/world.ts';
import type { Design } from '../../../src/designs/design.ts';

const DESIGNS = ['immediate', 'v1', 'v2', 'v3', 'seed', 'upstream'];
const SEEDS = 3;

function run(design: Design, workload: string, kind: 'intel' | 'amd', seed: number) {
  const s = scenarioFrom({ name: `${workload}-${kind}`, workload, config: { iommu: { kind } } }, 'test');
  const scheduler = new RandomScheduler(seed, 1);
  scheduler.beginExecution(0);
  const { exec, k } = buildWorld(s, design, scheduler, {});
  const commands: InvDesc['type'][] = [];
  k.iommu.observers.push({ invalidated: (d) => commands.push(d.type) });
  const r = exec.run();
  return { kinds: [...new Set(r.violations.map((v) => v.kind))].sort(), commands, k, violations: r.violations };
}

function kindsOver(design: string, workload: string, kind: 'intel' | 'amd') {
  const all = new Set<string>();
  const commands = new Set<string>();
  for (let seed = 0; seed < SEEDS; seed++) {
    const r = run(builtinDesign(design)!, workload, kind, seed);
    for (const x of r.kinds) all.add(x);
    for (const c of r.commands) commands.add(c);
  }
  return { kinds: [...all].sort(), commands };
}

for (const workload of ['vfree-huge-vmap', 'hot-remove']) {
  test(`${workload}: each built-in design finds the same kinds on AMD-Vi as on VT-d, and AMD runs send only AMD commands`, () => {
    for (const design of DESIGNS) {
      const intel = kindsOver(design, workload, 'intel');
      const amd = kindsOver(design, workload, 'amd');
      assert.deepEqual(amd.kinds, intel.kinds, `${design} on ${workload}`);
      assert.ok(amd.commands.has('amd-inv-iommu-pages'), `${design}: the bind's GCR3 write at least flushes the PASID`);
      for (const c of amd.commands) assert.match(c, /^amd-/, `${design}: ${c} on an AMD IOMMU`);
    }
  });
}

test('the known findings hold on AMD: immediate walks a freed table; v3 frees before its invalidation; upstream stays clean on vfree', () => {
  assert.ok(kindsOver('immediate', 'vfree-huge-vmap', 'amd').kinds.includes('iommu-use-after-free'));
  assert.ok(kindsOver('v3', 'vfree-huge-vmap', 'amd').kinds.includes('iommu-uncovered-free'));
  assert.deepEqual(kindsOver('upstream', 'vfree-huge-vmap', 'amd').kinds, []);
});

test('x86SvaDisabled (6.18.4-6.18.6, the amdxdna regression): bind fails with -EOPNOTSUPP on AMD too, nothing is reachable', () => {
  const disabled: Design = { ...builtinDesign('immediate')!, kernel: { ...DEFAULT_RELEASE, x86SvaDisabled: true } };
  for (const workload of ['vfree-huge-vmap', 'hot-remove']) {
    const r = run(disabled, workload, 'amd', 0);
    assert.deepEqual(r.kinds.filter((x) => x.startsWith('iommu-')), [], `${workload}: no IOMMU findings without a bond`);
    assert.equal(r.k.devices[0].pasid, null);
    assert.deepEqual(r.commands, [], 'no GCR3 entry written, so nothing flushed');
  }
});

test('determinism: an AMD run replays to the same findings and the same command sequence', () => {
  const a = run(builtinDesign('v3')!, 'vfree-huge-vmap', 'amd', 1);
  const b = run(builtinDesign('v3')!, 'vfree-huge-vmap', 'amd', 1);
  assert.deepEqual(b.violations, a.violations);
  assert.deepEqual(b.commands, a.commands);
});
