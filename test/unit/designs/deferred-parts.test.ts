/**
 * The deferred-free machinery as parts (src/designs/parts/): a variant of `upstream` written as one
 * changed part, in a file of a few lines that imports only from 'kptsim', and what the checker
 * finds in it on the scenarios where `upstream` itself is clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { variant } from '../../../src/designs/parts/deferred-design.ts';
import { upstream, upstreamSpec } from '../../../src/designs/upstream.ts';
import type { Design } from '../../../src/designs/design.ts';
import { designFromModule } from '../../../src/job/inputs.ts';
import { check } from '../../../src/job/check.ts';
import type { CheckResult } from '../../../src/job/check-result.ts';
import { replayLabel } from '../../../src/job/label.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';

const FIXTURES = new URL('../../fixtures/designs/', import.meta.url);

/** A fixture variant: its line count and the design it exports, as `--design` would load it. */
async function fixture(name: string): Promise<{ lines: number; design: Design }> {
  const url = new URL(`${name}.ts`, FIXTURES);
  const lines = readFileSync(url, 'utf8').trimEnd().split('\n').length;
  return { lines, design: designFromModule(url.pathname, await import(url.href)) };
}

/** The first PCT execution of `design` on a built-in scenario (the hazard oracle needs no more). */
function firstExecution(design: Design, scenario: string): CheckResult {
  return check(design, builtinScenario(scenario)!, { strategy: 'pct', seed: 0, budget: 1, shrinkRuns: 0, witnessRuns: 0 }, replayLabel(design.name, scenario));
}

const uncovered = (r: CheckResult) => r.violations.filter((v) => v.kind === 'iommu-uncovered-free');

test('upstream is clean on vfree-huge-vmap and pud-huge-vmap at the first execution: the baseline the variants are judged against', () => {
  for (const s of ['vfree-huge-vmap', 'pud-huge-vmap']) assert.deepEqual(firstExecution(upstream, s).violations, [], s);
});

test('order: a work function that frees its batch before it invalidates frees each table with no invalidation after its unlink (docs/kernel/pitfalls.md §1)', async () => {
  const { lines, design } = await fixture('upstream-free-first');
  assert.ok(lines < 15, `${lines} lines`);
  for (const s of ['vfree-huge-vmap', 'pud-huge-vmap']) {
    const [v, ...more] = uncovered(firstExecution(design, s));
    assert.deepEqual(more, [], s);
    assert.equal(v.site, 'PTE table freed in kernel_pgtable_work', s);
    assert.ok(v.details.includes('No IOMMU invalidation was processed between the unlink and the free'), v.details.join('\n'));
  }
});

test('IH: the same invalidation with IH = 1 keeps the paging-structure caches, so no freed table is covered — PTE and PMD tables alike (VT-d PSI with IH set)', async () => {
  const { lines, design } = await fixture('upstream-ih1');
  assert.ok(lines < 15, `${lines} lines`);
  const sites = (s: string) => uncovered(firstExecution(design, s)).map((v) => v.site);
  assert.deepEqual(sites('vfree-huge-vmap'), ['PTE table freed in kernel_pgtable_work']);
  const pud = firstExecution(design, 'pud-huge-vmap');
  assert.deepEqual(uncovered(pud).map((v) => v.site), ['PTE table freed in kernel_pgtable_work', 'PMD table freed in kernel_pgtable_work']);
  for (const v of uncovered(pud)) assert.ok(v.details.some((d) => / ih=1 .*: IH=1: only leaf entries changed, so the paging-structure caches are kept$/.test(d)), v.details.join('\n'));
});

test('range: invalidating where the freed tables are (their own direct-map pages) instead of what they map misses every vmalloc table', async () => {
  const { lines, design } = await fixture('upstream-own-addresses');
  assert.ok(lines < 15, `${lines} lines`);
  const pud = firstExecution(design, 'pud-huge-vmap');
  assert.deepEqual(uncovered(pud).map((v) => v.site), ['PTE table freed in kernel_pgtable_work', 'PMD table freed in kernel_pgtable_work']);
  for (const v of uncovered(pud)) assert.ok(v.details.some((d) => /: its range \[0xffff888000000000, \+\d+ pages\) misses the table's \[0xffffc9/.test(d)), v.details.join('\n'));
});

test('range: starting at VMALLOC_START still covers every table upstream defers — they all map vmalloc space — so the variant is as clean as upstream there', async () => {
  const { lines, design } = await fixture('upstream-from-vmalloc');
  assert.ok(lines < 15, `${lines} lines`);
  for (const s of ['vfree-huge-vmap', 'pud-huge-vmap']) assert.deepEqual(firstExecution(design, s).violations, [], s);
});

test('enqueue: list_add_tail, and queueing the work only when the add found the list empty, keep upstream clean (a producer that never queued would leak its tables)', () => {
  const tail = variant(upstreamSpec, { name: 'upstream-fifo', summary: 'FIFO, queued once per batch', add: 'tail', schedule: 'if-empty' });
  for (const s of ['vfree-huge-vmap', 'pud-huge-vmap']) assert.deepEqual(firstExecution(tail, s).violations, [], s);
});
