/**
 * Differential verdicts: `check --baseline B` explores B the same way and reports what --design adds
 * and removes relative to it, finding by finding (kind and site), so a patch's own effect shows
 * through the holes it inherits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

interface Ref {
  kind: string;
  site?: string;
}

function diff(args: string[]): { code: number; added: Ref[]; removed: Ref[]; kept: Ref[]; design: string } {
  const r = kptsim(['check', ...args, '--budget', '2', '--json']);
  const out = JSON.parse(r.stdout);
  return { code: r.code, design: out.baseline.design, added: out.baseline.added, removed: out.baseline.removed, kept: out.baseline.kept };
}

test('a design that fixes one upstream hole: the CPA collapse\'s uncovered free is reported as removed, nothing added', () => {
  const d = diff(['--design', 'test/fixtures/designs/upstream-cpa-fixed.ts', '--baseline', 'upstream', '--scenario', 'cpa-collapse']);
  assert.equal(d.code, 0);
  assert.equal(d.design, 'upstream');
  assert.deepEqual(d.added, []);
  assert.ok(d.removed.some((f) => f.kind === 'iommu-uncovered-free' && f.site === 'PTE table freed in cpa_free_pgtable > pagetable_free'), JSON.stringify(d.removed));
});

test('a design that adds a bug: the PTE table pmd_free_pte_page frees at once is reported as added, and the holes it shares with upstream as kept', () => {
  const vmalloc = diff(['--design', 'test/fixtures/designs/upstream-regressed.ts', '--baseline', 'upstream', '--scenario', 'vfree-huge-vmap']);
  assert.equal(vmalloc.code, 1);
  assert.ok(vmalloc.added.some((f) => f.kind === 'iommu-uncovered-free' && f.site === 'PTE table freed in pmd_free_pte_page'), JSON.stringify(vmalloc.added));
  assert.deepEqual(vmalloc.removed, []);
  const cpa = diff(['--design', 'test/fixtures/designs/upstream-regressed.ts', '--baseline', 'upstream', '--scenario', 'cpa-collapse']);
  assert.deepEqual(cpa.added, [], 'the CPA path is untouched');
  assert.ok(cpa.kept.some((f) => f.kind === 'iommu-uncovered-free'), 'inherited from upstream');
});

test('the text report ends with the difference', () => {
  const r = kptsim(['check', '--design', 'test/fixtures/designs/upstream-cpa-fixed.ts', '--baseline', 'upstream', '--scenario', 'cpa-collapse', '--budget', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /against the baseline upstream \(bug: [^)]*\), the same exploration:\n {2}added \(this design only\): none\n {2}removed \(the baseline only\):\n {4}iommu-uncovered-free: PTE table freed in cpa_free_pgtable > pagetable_free\n/);
});
