import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const SMALL = ['--designs', 'immediate,upstream', '--scenarios', 'vfree-huge-vmap,cpa-collapse', '--budget', '4'];

test('the study (kptsim with no command) checks and measures each pair, prints a table per scenario and writes the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-study-'));
  const html = join(dir, 'report.html');
  const r = kptsim([...SMALL, '--workers', '1', '--html', html]);
  // Showing buggy designs is the study's job, not a failure.
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^vfree-huge-vmap: /m);
  assert.match(r.stdout, /^immediate +bug: iommu-uncovered-free, iommu-use-after-free /m);
  assert.match(r.stdout, /^upstream +not found in 4 /m);
  // v6.19 leaves CPA split tables unmarked: freed at once, found by the checker.
  assert.match(r.stdout, /^cpa-collapse: [\s\S]*^upstream +bug: iommu-uncovered-free/m);
  // Progress goes to stderr, one line per pair when it is not a terminal.
  assert.equal(r.stderr.split('\n').filter((l) => /^\[\d\/4\] /.test(l)).length, 4);
  assert.ok(existsSync(html));
  assert.match(readFileSync(html, 'utf8'), /<svg/);
});

test('the study is the same record whatever the number of workers', () => {
  const one = kptsim([...SMALL, '--workers', '1', '--no-html', '--json']);
  const two = kptsim([...SMALL, '--workers', '2', '--no-html', '--json']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  assert.equal(one.stdout, two.stdout);
  const study = JSON.parse(one.stdout);
  assert.deepEqual(study.cells.map((row: { design: string }[]) => row.map((c) => c.design)), [['immediate', 'upstream'], ['immediate', 'upstream']]);
  // upstream on vfree-huge-vmap: one page-selective invalidation for the one freed PTE table.
  assert.equal(study.cells[0][1].metrics.invalidations.piotlbPage, 1);
  assert.equal(study.cells[0][1].metrics.pageTables.freed, 1);
});

test('the study refuses a bad design or scenario before running anything (exit 2)', () => {
  const r = kptsim(['--designs', 'immediate,nope', '--no-html']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--design: unknown design 'nope'/);
  assert.equal(r.stdout, '');
});
