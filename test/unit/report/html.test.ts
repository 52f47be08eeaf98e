import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDesign } from '../../../src/designs/index.ts';
import { againstBaseline, findingRef, timedSummary } from '../../../src/job/baseline.ts';
import type { CheckResult, CheckViolation } from '../../../src/job/check-result.ts';
import type { ReplayResult, TimedReplayResult } from '../../../src/job/replay.ts';
import type { StudyCell, StudyResult } from '../../../src/job/study.ts';
import { cellVerdict, checkVerdict } from '../../../src/job/verdict.ts';
import { compare, runRecord, timedRun, type TimedRunRecord } from '../../../src/measure/timed-run.ts';
import { escapeHtml, html } from '../../../src/report/html-markup.ts';
import { renderCompare } from '../../../src/report/compare-text.ts';
import { compareHtml, replayHtml, runHtml, studyHtml } from '../../../src/report/html.ts';
import { renderStudy } from '../../../src/report/study-text.ts';
import { SHOWN_PER_KIND, WINDOW_AFTER, WINDOW_BEFORE, traceWindow } from '../../../src/report/html-violation.ts';
import { niceStep, stepChart } from '../../../src/report/svg.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import type { RunFinding } from '../../../src/measure/run-findings.ts';

const scenario = builtinScenario('vfree-huge-vmap')!;
const design = (name: string) => builtinDesign(name)!;
/** v6.18 on vfree-huge-vmap: the PTE table is freed with no invalidation and the device walks it. */
const immediate = runRecord(timedRun(design('immediate'), scenario, { trace: true }));
const compared = compare(['immediate', 'v3', 'seed', 'upstream'].map(design), scenario);

/** The SVG charts of a document, each with the number of series it says it draws and the paths it has. */
function charts(doc: string): { declared: number; paths: number; legend: number; svg: string }[] {
  return [...doc.matchAll(/<svg class="chart" data-series="(\d+)"[\s\S]*?<\/svg>/g)].map((m) => ({
    declared: Number(m[1]),
    paths: (m[0].match(/<path class="series"/g) ?? []).length,
    legend: (m[0].match(/class="legend-entry"/g) ?? []).length,
    svg: m[0],
  }));
}

const HOSTILE = 'BUG: <script>alert("x")</script> & <img src=x onerror=y> \'q\'';

function hostileViolation(step: number): RunFinding {
  return { kind: 'iommu-use-after-free', title: HOSTILE, details: ['Call Trace: a <- b <- c', `flags: ${HOSTILE}`], thread: 'cpu0:<kworker>', step, hits: 1 };
}

test('escapeHtml turns the five markup characters into entities; markup built by html is not escaped twice', () => {
  assert.equal(escapeHtml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(html`<p>${inner}${['&', 2.5, null, false]}</p>`.text, '<p><b>&lt;i&gt;</b>&amp;2.5</p>');
});

test('kernel text in a violation (title, details, thread) and a design name are escaped in every report', () => {
  const r: TimedRunRecord = { ...immediate, design: 'evil<&>', violations: [hostileViolation(immediate.violations[0].step)] };
  for (const doc of [runHtml(r), compareHtml({ ...compared, rows: [r] })]) {
    assert.ok(!doc.includes('<script'), 'a <script> tag got through');
    assert.ok(!doc.includes('<img'), 'an <img> tag got through');
    assert.ok(doc.includes('BUG: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=y&gt; &#39;q&#39;'));
    assert.ok(doc.includes('Call Trace: a &lt;- b &lt;- c'));
    assert.ok(doc.includes('cpu0:&lt;kworker&gt;'));
    assert.ok(doc.includes('evil&lt;&amp;&gt;'));
    assert.ok(!doc.includes('evil<&>'));
  }
});

test('a report is self-contained: no script, no external resource, a policy that forbids fetching', () => {
  for (const doc of [runHtml(immediate), compareHtml(compared)]) {
    assert.match(doc, /^<!DOCTYPE html>\n/);
    assert.match(doc, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
    assert.ok(!/<script|<link|<iframe|<img|@import|url\(|src=/i.test(doc));
    // The only URL is the SVG namespace, which is a name, not a fetch.
    assert.deepEqual([...new Set(doc.match(/https?:\/\/[^"\s<]+/g))], ['http://www.w3.org/2000/svg']);
  }
});

test('the same record gives the same bytes, also after a JSON round trip (the --json output renders alike)', () => {
  const again = runRecord(timedRun(design('immediate'), scenario, { trace: true }));
  assert.equal(runHtml(again), runHtml(immediate));
  assert.equal(runHtml(JSON.parse(JSON.stringify(immediate)) as TimedRunRecord), runHtml(immediate));
  assert.equal(compareHtml(JSON.parse(JSON.stringify(compared))), compareHtml(compared));
});

test('compare draws one pending-pages series and one latency series per design, each in the legend', () => {
  const doc = compareHtml(compared);
  const [pending, latency] = charts(doc);
  assert.equal(charts(doc).length, 2);
  for (const c of [pending, latency]) {
    assert.equal(c.declared, 4);
    assert.equal(c.paths, 4);
    assert.equal(c.legend, 4);
    for (const name of ['immediate', 'v3', 'seed', 'upstream']) assert.ok(c.svg.includes(`data-name="${name}"`), name);
    // Distinguishable: every series has its own colour.
    assert.equal(new Set([...c.svg.matchAll(/<path class="series"[^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1])).size, 4);
  }
  assert.match(pending.svg, /simulated time \(µs\)/);
  assert.match(pending.svg, /pending pages/);
  assert.match(latency.svg, /latency \(µs\)/);
  // One row per design in the metrics table.
  const table = doc.slice(doc.indexOf('<tbody>', doc.indexOf('<table class="metrics">')), doc.indexOf('</table>'));
  assert.deepEqual([...table.matchAll(/<tr><th>([^<]+)<\/th>/g)].map((m) => m[1]), ['immediate', 'v3', 'seed', 'upstream']);
});

test('a design that freed no page-table page has a legend entry saying so and no latency line', () => {
  const none: TimedRunRecord = {
    ...compared.rows[2],
    design: 'idle',
    pageTables: { ...compared.rows[2].pageTables, freeLatencySamplesNs: [], pendingSeries: { timesNs: [], pages: [] } },
  };
  const [pending, latency] = charts(compareHtml({ ...compared, rows: [compared.rows[0], none] }));
  assert.equal(pending.paths, 2, 'nothing pending is still a line at 0');
  assert.equal(latency.paths, 1);
  assert.equal(latency.declared, 1);
  assert.equal(latency.legend, 2);
  assert.match(latency.svg, /idle \(no table freed\)/);
});

test('a pending series is drawn as a step function on the scaled axes (hand-computed path)', () => {
  // x 0..50 over 340 px from x=64; y 0..3 (a step of headroom over the peak of 2) over 200 px up from y=234.
  const svg = stepChart([{ name: 'a', xs: [10, 30], ys: [2, 0], y0: 0, xEnd: 50 }], { title: 't', xLabel: 'x', yLabel: 'y', xDivisor: 1, integerY: true }).text;
  assert.match(svg, / d="M64\.0 234\.0H132\.0V100\.7H268\.0V234\.0H404\.0"/);
  assert.equal(niceStep(50, false), 10);
  assert.equal(niceStep(2, true), 1);
  assert.equal(niceStep(0.3, false), 0.1);
  assert.equal(niceStep(65.052, false), 20);
});

test('the latency CDF rises to 100% at the last sample, one step per distinct latency', () => {
  const r: TimedRunRecord = { ...immediate, pageTables: { ...immediate.pageTables, freeLatencySamplesNs: [1000, 1000, 3000, 4000] } };
  const [, latency] = charts(runHtml(r));
  // x 0..4 µs (ticks of 1) over 340 px from x=64; y 0..100 % over 200 px up from y=234:
  // 50% from 1 µs, 75% from 3 µs, 100% from 4 µs.
  const d = /<path class="series"[^>]* d="([^"]+)"/.exec(latency.svg)![1];
  assert.equal(d, 'M64.0 234.0H149.0V134.0H319.0V84.0H404.0V34.0H404.0');
});

test('each violation of a run is shown with the trace window around its step, that step highlighted', () => {
  const v = immediate.violations[0];
  const trace = immediate.trace!;
  const { from, to } = traceWindow(trace, v.step);
  const first = trace.findIndex((e) => e.step >= v.step);
  assert.equal(from, Math.max(0, first - WINDOW_BEFORE));
  assert.ok(to <= trace.length && to >= first + 1);
  assert.ok(to - first <= WINDOW_AFTER + trace.filter((e) => e.step === v.step).length);
  const doc = runHtml(immediate);
  const block = doc.slice(doc.indexOf('<details class="violation-trace"'), doc.indexOf('</details>', doc.indexOf('<details class="violation-trace"')));
  assert.equal((block.match(/<tr class="cat-/g) ?? []).length, to - from);
  assert.ok((block.match(/<tr class="cat-[a-z]+ at">/g) ?? []).length >= 1);
  assert.equal(v.kind, 'iommu-uncovered-free', 'the hazard comes first: at the free, before any device walk');
  assert.match(block, /<tr class="cat-violation at">.*iommu-uncovered-free: BUG: IOMMU-reachable PTE table freed before a completed IOMMU invalidation/);
  assert.match(doc, /<details class="violation-trace" open>/, 'the first report opens its trace');
  assert.match(doc, /hint:<\/b> a page table the IOMMU could reach/);
  assert.match(doc, /hint:<\/b> the IOMMU reached a page-table page/, 'the use-after-free the device then commits is shown too');
});

test('a run with many findings of one kind (leaks: one per title) shows the first few in full and lists the rest with their reports', () => {
  const first = immediate.violations[0];
  const many = Array.from({ length: SHOWN_PER_KIND + 4 }, (_, i) => ({ ...first, title: `${first.title} #${i}`, step: first.step + i, hits: i + 1 }));
  const doc = runHtml({ ...immediate, violations: many });
  assert.equal((doc.match(/<div class="violation"/g) ?? []).length, SHOWN_PER_KIND);
  assert.match(doc, /<summary>4 more findings of the same kinds<\/summary>/);
  assert.match(doc, /#6<\/td><td class="num">7<\/td><\/tr>/, 'a listed finding shows how many reports it groups');
});

test('a clean run says so, and its metrics table carries the hand-checkable figures', () => {
  const seed = compared.rows[2];
  const doc = runHtml(seed);
  assert.match(doc, /<span class="badge none">no violation<\/span>/);
  // The seed design: one PASID-wide flush in its one work execution, one table freed.
  assert.match(doc, /<th title="PASID-selective IOTLB invalidations">inval PASID<\/th><td class="num">1<\/td>/);
  assert.match(doc, /<th title="[^"]*">tables freed<\/th><td class="num">1<\/td>/);
  assert.match(doc, /work runs<\/th><td class="num">1 \(0\)<\/td>/);
});

function checkOf(designName: string, violations: readonly CheckViolation[]): CheckResult {
  const space = { threads: 5, steps: 900, dataChoices: [], pctDepth: 3 };
  const base = { strategy: 'pct' as const, executions: 20, stepBound: 0, complete: false, violations, space };
  const run = { design: designName, scenario: scenario.name, strategy: 'pct' as const, seed: 1, budget: 20, timeMs: null, depth: 3, preemptionBound: null, maxSteps: null, identity: '0'.repeat(64) };
  return { version: 1, design: designName, scenario: scenario.name, seed: 1, stoppedBy: 'budget', ...base, verdict: checkVerdict(base), shard: { index: 0, count: 1, run } };
}

function cellOf(designName: string, violations: readonly CheckViolation[], metrics: TimedRunRecord): StudyCell {
  const check = checkOf(designName, violations);
  return { design: designName, scenario: scenario.name, check, metrics, verdict: cellVerdict(check, metrics.violations) };
}

test('the study shows the designs with summary and source, a coloured verdict per design with replay tokens, and the charts', () => {
  const found: CheckViolation = {
    kind: 'iommu-use-after-free',
    message: 'BUG: IOMMU use-after-free in iommu first-stage walk (PASID 0x1, dev0)',
    details: ['page dumped because: iommu: bad access detected'],
    thread: 'dev0:probe',
    replay: 'kpt1.TOKEN-immediate',
    steps: 894,
    originalSteps: 370,
    preemptions: 1,
    originalPreemptions: 4,
    occurrences: 11,
    execution: 1,
    hits: 1,
    schedule: ['cpu0:vmalloc x12', 'dev0:probe x3'],
  };
  const names = ['immediate', 'seed', 'v3'];
  const study: StudyResult = {
    version: 1,
    options: { budget: 20, stepBudget: 300_000, seed: 1 },
    designs: names.map((n) => ({ name: n, summary: design(n).summary, source: design(n).source })),
    scenarios: [{ name: scenario.name, summary: scenario.summary }],
    cells: [
      [
        cellOf('immediate', [found], compared.rows[0]),
        cellOf('seed', [], compared.rows[2]),
        cellOf('v3', [], compared.rows[1]),
      ],
    ],
  };
  const doc = studyHtml(study);
  assert.equal(studyHtml(study), doc);
  assert.ok(doc.includes(escapeHtml(design('seed').source)));
  assert.ok(!doc.includes(escapeHtml(design('upstream').summary)), 'only the designs of the study are listed');
  assert.match(doc, /<td class="verdict found" data-verdict="bug"><div><strong>bug: iommu-use-after-free, [^<]+<\/strong><\/div><div>iommu-use-after-free: 11 of 20 executions<\/div>/);
  assert.match(doc, /<td class="verdict none" data-verdict="not-found"><div><strong>not found in 20<\/strong><\/div><div class="coverage">no violation in 20 PCT executions of depth 3/);
  // v3's checker found nothing here, but its timed run did: never green.
  assert.ok(compared.rows[1].violations.length > 0);
  assert.match(doc, /<td class="verdict found" data-verdict="bug"><div><strong>bug: [^<]*iommu-uncovered-free[^<]*<\/strong><\/div><div>from the timed run<\/div>/);
  assert.match(doc, /kptsim replay kpt1\.TOKEN-immediate/);
  assert.match(doc, /cpu0:vmalloc x12\ndev0:probe x3/);
  const [pending, latency] = charts(doc);
  assert.equal(pending.paths, 3);
  assert.equal(latency.paths, 3);
});

test('against a baseline, compare and the study show each other design\'s diff: counts, then the findings added and removed, in text and HTML', () => {
  // immediate (v6.18) as the baseline of seed, v3 and upstream on vfree-huge-vmap.
  const findings = (r: TimedRunRecord) => r.violations.map(findingRef);
  const rows = againstBaseline(compared.rows, 0, findings, (r) => timedSummary(r.violations));
  const text = renderCompare({ ...compared, rows });
  const site = 'PTE table freed in pmd_free_pte_page > pte_free_kernel > pagetable_dtor_free > pagetable_free';
  assert.ok(
    text.includes(
      `\nagainst the baseline immediate (bug: iommu-uncovered-free, iommu-use-after-free), the same timed run (scenario, costs, seed):\n  v3: adds none, removes none, keeps 2\n  seed: adds none, removes 2, keeps none\n    removed iommu-uncovered-free: ${site}\n    removed iommu-use-after-free: ${site}\n  upstream: adds none, removes 2, keeps none\n`,
    ),
    text,
  );
  const doc = compareHtml({ ...compared, rows });
  assert.equal((doc.match(/<div class="baseline-diff">/g) ?? []).length, 3, 'one diff per design but the baseline');
  assert.ok(doc.includes(`<strong>seed</strong>: adds 0, removes 2, keeps 0</p>\n<ul><li class="removed"><b>removed</b> iommu-uncovered-free: <span class="mono">${escapeHtml(site)}</span></li>`));
  assert.ok(doc.includes(`<strong>v3</strong>: adds 0, removes 0, keeps 2</p>\n<ul><li class="kept">`));

  const cells = againstBaseline([cellOf('immediate', [], compared.rows[0]), cellOf('seed', [], compared.rows[2])], 0, (c) => c.metrics.violations.map(findingRef), (c) => c.verdict.summary);
  const study: StudyResult = {
    version: 1,
    options: { budget: 20, stepBudget: 300_000, seed: 1 },
    designs: ['immediate', 'seed'].map((n) => ({ name: n, summary: design(n).summary, source: design(n).source })),
    scenarios: [{ name: scenario.name, summary: scenario.summary }],
    cells: [cells],
    baseline: 'immediate',
  };
  const studyText = renderStudy(study, false, 0);
  assert.match(studyText, /^design +verdict +vs immediate +sim µs/m);
  assert.match(studyText, /^immediate +bug: [^\n]+ baseline +\d/m);
  assert.match(studyText, /^seed +not found in 20 +\+0 -2 =0 +\d/m);
  assert.match(studyText, /\nvfree-huge-vmap \(immediate: bug: iommu-uncovered-free, iommu-use-after-free\):\n {2}seed: adds none, removes 2, keeps none\n {4}removed iommu-uncovered-free: /);
  const studyDoc = studyHtml(study);
  assert.match(studyDoc, /<div class="vs-baseline">vs immediate: \+0 -2 =0<\/div>/);
  assert.equal((studyDoc.match(/class="vs-baseline"/g) ?? []).length, 1, 'not on the baseline\'s own cell');
  assert.match(studyDoc, /<h3>Against the baseline <code>immediate<\/code><\/h3>/);
  // Without a baseline, none of it.
  assert.doesNotMatch(renderCompare(compared), /against the baseline/);
  assert.doesNotMatch(compareHtml(compared), /<div class="baseline-diff">/);
});

test('a replay report shows the violation with its trace window and the whole trace, without a time column', () => {
  const r: ReplayResult = {
    version: 1,
    design: 'immediate',
    scenario: scenario.name,
    status: immediate.status,
    steps: immediate.steps,
    violations: immediate.violations,
    trace: immediate.trace!.map(({ timeNs: _t, ...e }) => e),
  };
  const doc = replayHtml(r);
  assert.ok(!doc.includes('time (µs)'));
  assert.match(doc, /<details class="violation-trace" open>/);
  assert.match(doc, new RegExp(`<summary>The whole trace \\(${r.trace.length} events\\)</summary>`));
  assert.equal(replayHtml([r, { ...r, design: 'again' }]).match(/<section class="replay">/g)?.length, 2);
  assert.equal(charts(doc).length, 0, 'an untimed replay has no metrics to chart');
});

test('a timed replay also shows its metrics and charts', () => {
  const r: TimedReplayResult = {
    version: 1,
    design: 'immediate',
    scenario: scenario.name,
    status: immediate.status,
    steps: immediate.steps,
    violations: immediate.violations,
    trace: immediate.trace!,
    simulatedNs: immediate.simulatedNs,
    metrics: { invalidations: immediate.invalidations, pageTables: immediate.pageTables, work: immediate.work, locks: immediate.locks, iommu: immediate.iommu },
  };
  const doc = replayHtml(r);
  assert.ok(doc.includes('<th>time (µs)</th>'));
  assert.match(doc, /tables freed<\/th><td class="num">1<\/td>/);
  assert.deepEqual(charts(doc).map((c) => c.paths), [1, 1]);
});
