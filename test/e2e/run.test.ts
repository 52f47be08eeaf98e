import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

test('kptsim designs lists every built-in design with the hooks it overrides', () => {
  const r = kptsim(['designs']);
  assert.equal(r.code, 0, r.stderr);
  for (const name of ['immediate', 'v1', 'v2', 'v3', 'seed', 'upstream']) assert.match(r.stdout, new RegExp(`^${name} `, 'm'));
  assert.match(r.stdout, /overrides: pte_alloc_one_kernel, pmd_alloc_one/);
});

test('kptsim scenarios lists the built-in scenarios', () => {
  const r = kptsim(['scenarios']);
  assert.equal(r.code, 0, r.stderr);
  for (const name of ['vfree-huge-vmap', 'pud-huge-vmap', 'pte-populate-race', 'cpa-collapse', 'bind-unbind']) assert.match(r.stdout, new RegExp(`^${name} `, 'm'));
});

test('kptsim run --trace prints the trace in simulated time, the violation and the metrics, exit 1', () => {
  const r = kptsim(['run', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--trace']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^ +\d+\.\d{3} µs \[ *\d+\] cpu0:vmalloc/m);
  assert.match(r.stdout, /iommu-use-after-free: BUG: IOMMU use-after-free/);
  // v6.18 frees the PTE table with no IOMMU invalidation at all.
  assert.match(r.stdout, /IOMMU invalidations: 0 PASID-selective, 0 page-selective/);
  assert.match(r.stdout, /page tables: 1 freed \(0 before their parent entry was cleared\)/);
});

test('kptsim run --json carries the metrics; a seed varies step costs, seed 0 is the cost model exactly', () => {
  const exact = JSON.parse(kptsim(['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap', '--json']).stdout);
  const seeded = JSON.parse(kptsim(['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap', '--seed', '7', '--json']).stdout);
  // The seed design flushes the whole PASID once, in its single work execution.
  assert.equal(exact.invalidations.piotlbPasid, 1);
  assert.equal(exact.work.executions, 1);
  assert.equal(exact.pageTables.freed, 1);
  assert.equal(exact.seed, 0);
  assert.notEqual(seeded.simulatedNs, exact.simulatedNs);
  assert.ok(Math.abs(seeded.simulatedNs - exact.simulatedNs) <= 0.2 * exact.simulatedNs);
  assert.ok(exact.trace.every((e: { timeNs: number }, i: number, all: { timeNs: number }[]) => i === 0 || e.timeNs >= all[i - 1].timeNs));
});

test('kptsim run --json is the same record for the same seed, exit 0 when clean', () => {
  const a = kptsim(['run', '--design', 'upstream', '--scenario', 'vfree-huge-vmap', '--seed', '4', '--json']);
  const b = kptsim(['run', '--design', 'upstream', '--scenario', 'vfree-huge-vmap', '--seed', '4', '--json']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const parsed = JSON.parse(a.stdout);
  assert.equal(parsed.design, 'upstream');
  assert.deepEqual(parsed.violations, []);
});

test('a user design and a scenario file load from paths', () => {
  const r = kptsim(['run', '--design', './examples/designs/sync-invalidate.ts', '--scenario', 'examples/scenarios/vfree-small.yaml', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const parsed = JSON.parse(r.stdout);
  assert.equal(parsed.design, 'sync-invalidate');
  assert.equal(parsed.scenario, 'vfree-small');
});

test('bad inputs are one line naming the flag, file and field, exit 2, nothing on stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-'));
  const badScenario = join(dir, 'bad.yaml');
  writeFileSync(badScenario, 'name: x\nworkload: vfree-huge-vmap\nparams:\n  rounds: many\n');
  const badDesign = join(dir, 'bad.ts');
  writeFileSync(badDesign, "export default { name: 'x', summary: 's', source: 's', overrides: ['no_such_hook'], install: () => ({}) };\n");
  const cases: [string[], RegExp][] = [
    [['run', '--design', 'nope', '--scenario', 'vfree-huge-vmap'], /--design: unknown design 'nope'/],
    [['run', '--design', 'seed', '--scenario', badScenario], /bad\.yaml: params\.rounds: .*expected number/],
    [['run', '--design', badDesign, '--scenario', 'vfree-huge-vmap'], /bad\.ts: overrides\.0: /],
    [['run', '--design', 'seed', '--scenario', join(dir, 'missing.yaml')], /--scenario: no such file/],
    [['run', '--scenario', 'vfree-huge-vmap'], /required option '--design/],
  ];
  for (const [args, message] of cases) {
    const r = kptsim(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
