/**
 * Differential verdicts: `check --baseline B` explores B the same way and reports what --design adds
 * and removes relative to it, finding by finding (kind and site), so a patch's own effect shows
 * through the holes it inherits; `compare --baseline B` and the study's `--baseline B` do the same
 * for each other design, on the timed run (and, in the study, the checker's findings of each cell).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const CPA_FIXED = 'test/fixtures/designs/upstream-cpa-fixed.ts';
const REGRESSED = 'test/fixtures/designs/upstream-regressed.ts';
const CPA_SITE = 'PTE table freed in cpa_free_pgtable > pagetable_free';
const dir = mkdtempSync(join(tmpdir(), 'kptsim-baseline-'));

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
  const d = diff(['--design', CPA_FIXED, '--baseline', 'upstream', '--scenario', 'cpa-collapse']);
  assert.equal(d.code, 0);
  assert.equal(d.design, 'upstream');
  assert.deepEqual(d.added, []);
  assert.ok(d.removed.some((f) => f.kind === 'iommu-uncovered-free' && f.site === CPA_SITE), JSON.stringify(d.removed));
});

test('a design that adds a bug: the PTE table pmd_free_pte_page frees at once is reported as added, and the holes it shares with upstream as kept', () => {
  const vmalloc = diff(['--design', REGRESSED, '--baseline', 'upstream', '--scenario', 'vfree-huge-vmap']);
  assert.equal(vmalloc.code, 1);
  assert.ok(vmalloc.added.some((f) => f.kind === 'iommu-uncovered-free' && f.site === 'PTE table freed in pmd_free_pte_page'), JSON.stringify(vmalloc.added));
  assert.deepEqual(vmalloc.removed, []);
  const cpa = diff(['--design', REGRESSED, '--baseline', 'upstream', '--scenario', 'cpa-collapse']);
  assert.deepEqual(cpa.added, [], 'the CPA path is untouched');
  assert.ok(cpa.kept.some((f) => f.kind === 'iommu-uncovered-free'), 'inherited from upstream');
});

test('the text report ends with the difference', () => {
  const r = kptsim(['check', '--design', CPA_FIXED, '--baseline', 'upstream', '--scenario', 'cpa-collapse', '--budget', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /against the baseline upstream \(bug: [^)]*\), the same exploration:\n {2}added \(this design only\): none\n {2}removed \(the baseline only\):\n {4}iommu-uncovered-free: PTE table freed in cpa_free_pgtable > pagetable_free\n/);
});

interface Diffed {
  design: string;
  baseline?: { design: string; summary: string; added: Ref[]; removed: Ref[]; kept: Ref[] };
}

test('compare --baseline runs the baseline first and gives every other row what it adds, removes and keeps, in JSON and HTML', () => {
  const html = join(dir, 'compare.html');
  const r = kptsim(['compare', '--designs', `${CPA_FIXED},${REGRESSED}`, '--baseline', 'upstream', '--scenario', 'vfree-huge-vmap', '--json', '--html', html]);
  assert.equal(r.code, 1, r.stderr);
  const rows = (JSON.parse(r.stdout) as { rows: Diffed[] }).rows;
  assert.deepEqual(rows.map((x) => x.design), ['upstream', 'upstream-cpa-fixed', 'upstream-regressed']);
  assert.equal(rows[0].baseline, undefined, 'the baseline is not diffed against itself');
  const [fixed, regressed] = [rows[1].baseline!, rows[2].baseline!];
  assert.equal(fixed.design, 'upstream');
  assert.deepEqual([fixed.added, fixed.removed], [[], []], 'the CPA fix changes nothing on the vmalloc path');
  assert.ok(regressed.added.some((f) => f.kind === 'iommu-uncovered-free' && f.site === 'PTE table freed in pmd_free_pte_page'), JSON.stringify(regressed.added));
  assert.deepEqual(regressed.removed, []);
  const doc = readFileSync(html, 'utf8');
  assert.match(doc, /<h2>Against the baseline <code>upstream<\/code><\/h2>/);
  assert.match(doc, /<strong>upstream-regressed<\/strong>: adds 2, removes 0, keeps 0/);
  assert.match(doc, /<li class="added"><b>added<\/b> iommu-uncovered-free: <span class="mono">PTE table freed in pmd_free_pte_page<\/span><\/li>/);
});

test('the study --baseline: each cell says what its design adds and removes against the baseline\'s cell, in JSON and HTML', () => {
  const html = join(dir, 'study.html');
  const r = kptsim(['--designs', CPA_FIXED, '--baseline', 'upstream', '--scenarios', 'cpa-collapse', '--budget', '2', '--workers', '2', '--json', '--html', html]);
  assert.equal(r.code, 0, r.stderr);
  const study = JSON.parse(r.stdout) as { baseline: string; cells: Diffed[][] };
  assert.equal(study.baseline, 'upstream');
  const [upstream, fixed] = study.cells[0];
  assert.deepEqual([upstream.design, fixed.design], ['upstream', 'upstream-cpa-fixed'], 'the baseline is added first');
  assert.equal(upstream.baseline, undefined);
  assert.deepEqual(fixed.baseline!.added, []);
  assert.ok(fixed.baseline!.removed.some((f) => f.kind === 'iommu-uncovered-free' && f.site === CPA_SITE), JSON.stringify(fixed.baseline));
  assert.match(fixed.baseline!.summary, /^bug: iommu-uncovered-free/, "the baseline cell's verdict");
  const doc = readFileSync(html, 'utf8');
  assert.match(doc, new RegExp(`<div class="vs-baseline">vs upstream: \\+0 -${fixed.baseline!.removed.length} =${fixed.baseline!.kept.length}</div>`));
  assert.match(doc, /<li class="removed"><b>removed<\/b> iommu-uncovered-free: <span class="mono">PTE table freed in cpa_free_pgtable &gt; pagetable_free<\/span><\/li>/);
});
