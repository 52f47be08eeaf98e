import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

/** v3 on vfree-huge-vmap: the device walks the PTE table pmd_free_pte_page() freed, through its cached PDE. */
const TOKEN = 'kpt1.H1sidjMiLCJ2ZnJlZS1odWdlLXZtYXAiLDIwMDAwMF2zB1sYAAoBAwABAQABAQoABAEaBwUEAgcCAwACAgMAAQAAAQMBAgADAQQBAgABAQACAQUAaX6TFfMwP_M2J8oF';
const SNAPSHOT = new URL('../fixtures/snapshots/kasan-report.txt', import.meta.url);

/** The finding's title and report, up to its hint. */
function findingOf(text: string, kind: string): string {
  const at = text.indexOf(`\n${kind}: `);
  assert.ok(at >= 0, `no ${kind} in:\n${text}`);
  return text.slice(at + 1, text.indexOf('  hint:', at)).trimEnd() + '\n';
}

test('kptsim replay prints a KASAN-shaped report: the bad access, the Call Trace, "Allocated by task" and "Freed by task" with their stacks, the page dump (snapshot; UPDATE_SNAPSHOTS=1 rewrites it)', () => {
  const r = kptsim(['replay', TOKEN]);
  assert.equal(r.code, 1, r.stderr);
  const report = findingOf(r.stdout, 'iommu-use-after-free');
  if (process.env.UPDATE_SNAPSHOTS === '1') writeFileSync(SNAPSHOT, report);
  assert.equal(report, readFileSync(SNAPSHOT, 'utf8'));
  const lines = report.split('\n').map((l) => l.trim());
  const order = ['Call Trace:', 'Allocated by task', 'Freed by task', 'The buggy address belongs to the physical page:'].map((h) => lines.findIndex((l) => l.startsWith(h)));
  assert.deepEqual([...order].sort((a, b) => a - b), order, 'the sections in KASAN\'s order');
  assert.ok(order.every((i) => i > 0));
  for (const fn of ['Iommu.translate', 'vmalloc', 'pmd_free_pte_page', 'pte_free_kernel', 'pagetable_free', 'pte_alloc_one_kernel']) assert.ok(lines.includes(fn), `${fn} is a frame`);
});
