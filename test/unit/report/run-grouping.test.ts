/**
 * A timed run that reports one bug on hundreds of pages (seed on mixed-reuse: 511 bad-page reports)
 * is one finding with a count and a pfn range, in the text, the JSON and the HTML alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinDesign } from '../../../src/designs/index.ts';
import { runRecord, timedRun, type TimedRunResult } from '../../../src/measure/timed-run.ts';
import { runHtml } from '../../../src/report/html.ts';
import { jsonBigint, renderRun, renderRunSummary } from '../../../src/report/run-text.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import type { Violation } from '../../../src/sim/index.ts';

const base = timedRun(builtinDesign('immediate')!, builtinScenario('vfree-huge-vmap')!, { trace: true });

/** The same bad-page report on pfn 0x201..0x3ff, one step apart, then one leak. */
const PAGES = 511;
const badPage = (i: number): Violation => ({
  kind: 'bad-page',
  title: 'kernel BUG at include/linux/mm.h! (put_page_testzero)',
  details: [`page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x${(0x201 + i).toString(16)}`],
  thread: 'kworker/u:0',
  step: 100 + i,
  pfn: 0x201 + i,
});
const leak: Violation = { kind: 'leak', title: 'unreferenced object pfn 0x201 (size 2093056): comm "cpu0:frees"', details: [], thread: 'cpu0:frees', step: 900 };
const raw: TimedRunResult = { ...base, violations: [...Array.from({ length: PAGES }, (_, i) => badPage(i)), leak] };
const record = runRecord(raw);

test('511 reports of one bug on 511 pages are one finding: the first report, 511 hits, pfn 0x201-0x3ff — in the JSON', () => {
  const json = JSON.parse(JSON.stringify(record, jsonBigint)) as { violations: { kind: string; step: number; hits: number; pfns?: { first: number; last: number } }[] };
  assert.deepEqual(
    json.violations.map((v) => [v.kind, v.step, v.hits, v.pfns]),
    [
      ['bad-page', 100, PAGES, { first: 0x201, last: 0x3ff }],
      ['leak', 900, 1, undefined],
    ],
  );
});

test('in the text: one report with its count and range, and the one-line summary still counts every report', () => {
  const text = renderRun(record);
  assert.equal(text.match(/^bad-page: /gm)?.length, 1);
  assert.match(text, /^ {4}\(thread kworker\/u:0, step 100\)\n {4}511 pages like this: pfn 0x201-0x3ff\n/m);
  assert.doesNotMatch(text, /more bad-page/);
  assert.doesNotMatch(text, /^leak: .*\n(?: {4}.*\n)* {4}\d+ (pages|reports) like this/m, 'a single report has no count');
  assert.match(renderRunSummary(record), /: 512 violations \(bad-page 511, leak 1\);/);
});

test('in the HTML: one finding block with its count and range, no list of the other 510; the metrics cell counts 512 reports', () => {
  const doc = runHtml(record);
  assert.equal(doc.match(/<div class="violation" data-kind="bad-page">/g)?.length, 1);
  assert.match(doc, /<p class="repeats">511 pages like this: pfn 0x201–0x3ff<\/p>/);
  assert.doesNotMatch(doc, /more-violations/);
  assert.match(doc, /bad-page ×511, leak/);
  // The ungrouped report repeated the block 511 times (300 KB); grouped it is the size of a clean run's report and two blocks.
  assert.ok(doc.length < runHtml(runRecord({ ...raw, violations: [] })).length + 40_000, `${doc.length} bytes`);
});
