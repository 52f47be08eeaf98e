import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDesign } from '../../../src/designs/index.ts';
import { timedRun, type TimedRunResult } from '../../../src/measure/timed-run.ts';
import { PENDING_BYTES, PENDING_PAGES, perfettoJson, perfettoTrace, type ChromeTrace } from '../../../src/report/perfetto.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import { chromeTrace, type ParsedTraceEvent } from './trace-event-schema.ts';

const DESIGNS = ['immediate', 'v3', 'seed', 'upstream'] as const;
const SCENARIOS = ['vfree-huge-vmap', 'pud-huge-vmap', 'cpa-collapse'] as const;

const runs = new Map<string, TimedRunResult>();
function run(design: string, scenario: string): TimedRunResult {
  const key = `${design}/${scenario}`;
  let r = runs.get(key);
  if (r === undefined) {
    r = timedRun(builtinDesign(design)!, builtinScenario(scenario)!, { trace: true, timeline: true });
    runs.set(key, r);
  }
  return r;
}

function traceOf(r: TimedRunResult): ChromeTrace {
  return perfettoTrace({ command: 'kptsim run', design: r.design, scenario: r.scenario, seed: r.seed, timeline: r.timeline! });
}

/** Parses through the schema (throws with the offending event's path when one is malformed). */
function parsed(r: TimedRunResult): ParsedTraceEvent[] {
  return chromeTrace.parse(JSON.parse(JSON.stringify(traceOf(r)))).traceEvents;
}

const ns = (us: number) => Math.round(us * 1000);

test('the trace of every design on each scenario is valid Trace Event JSON: fields per phase, numeric counters, named threads', () => {
  for (const d of DESIGNS) {
    for (const s of SCENARIOS) {
      const events = parsed(run(d, s));
      const threads = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid));
      for (const e of events) if (e.ph === 'X' || e.ph === 's' || e.ph === 'f') assert.ok(threads.has(e.tid), `${d}/${s}: ${e.ph} ${e.name} on an unnamed thread ${e.tid}`);
      // One track per simulated thread, plus the IOMMU's.
      assert.equal(threads.size, run(d, s).threads + 1, `${d}/${s}`);
    }
  }
});

test('each flow is one s/f pair; its free follows its invalidation for the deferred-free designs and precedes it for v3 (freed before the flush)', () => {
  for (const s of SCENARIOS) {
    for (const d of DESIGNS) {
      const events = parsed(run(d, s));
      const byId = new Map<number, ParsedTraceEvent[]>();
      for (const e of events) if (e.ph === 's' || e.ph === 'f') byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
      for (const [id, pair] of byId) {
        assert.deepEqual(pair.map((e) => e.ph).sort(), ['f', 's'], `${d}/${s}: flow ${id}`);
        const [start, finish] = pair[0].ph === 's' ? pair : [pair[1], pair[0]];
        assert.equal(start.name, finish.name);
        if (d === 'seed' || (d === 'upstream' && s !== 'cpa-collapse')) assert.ok(finish.ts >= start.ts, `${d}/${s}: flow ${id} points backwards`);
        if (d === 'v3') assert.ok(finish.ts < start.ts, `${d}/${s}: v3 frees the table before the work invalidates`);
      }
      const flows = byId.size;
      const freed = run(d, s).timeline!.flows.length;
      // immediate never invalidates: no arrow at all, every freed table labelled.
      if (d === 'immediate') assert.equal(flows, 0, `${d}/${s}`);
      else if (d === 'seed' || d === 'v3') assert.equal(flows, freed, `${d}/${s}: one arrow per freed page-table page`);
      assert.ok(freed >= 1, `${d}/${s} frees a page-table page`);
    }
  }
});

test('a table freed with no invalidation is an instant that says so (immediate), one freed before it says that (v3)', () => {
  const immediate = parsed(run('immediate', 'vfree-huge-vmap')).filter((e) => e.ph === 'i' && e.cat === 'free');
  assert.ok(immediate.some((e) => e.name === 'page-table page freed, never invalidated'));
  const v3 = parsed(run('v3', 'vfree-huge-vmap')).filter((e) => e.ph === 'i' && e.cat === 'free');
  const late = v3.find((e) => e.name === 'page-table page freed BEFORE its IOMMU invalidation');
  assert.ok(late !== undefined && late.ph === 'i');
  assert.match(JSON.stringify(late.args), /"va":"0xffffc90000000000","vaEnd":"0xffffc90000200000"/);
  assert.deepEqual(traceOf(run('v3', 'vfree-huge-vmap')).metadata.pageTableFrees, { covered: 0, late: 1, uncovered: 0 });
});

test('slices on one track never overlap (a thread runs one step at a time)', () => {
  for (const d of DESIGNS) {
    for (const s of SCENARIOS) {
      const slices = parsed(run(d, s)).filter((e) => e.ph === 'X');
      const byTrack = new Map<string, { start: number; end: number }[]>();
      for (const e of slices) {
        if (e.ph !== 'X') continue;
        const key = `${e.pid}/${e.tid}`;
        byTrack.set(key, [...(byTrack.get(key) ?? []), { start: ns(e.ts), end: ns(e.ts + e.dur) }]);
      }
      for (const [track, list] of byTrack) {
        list.sort((a, b) => a.start - b.start);
        for (let i = 1; i < list.length; i++) assert.ok(list[i].start >= list[i - 1].end, `${d}/${s} track ${track}: slice at ${list[i].start} ns overlaps one ending at ${list[i - 1].end} ns`);
      }
    }
  }
});

test('the pending page-table counter is the metrics pending series, in pages and bytes', () => {
  for (const d of DESIGNS) {
    const r = run(d, 'pud-huge-vmap');
    const events = parsed(r).filter((e) => e.ph === 'C');
    const pages = events.filter((e) => e.name === PENDING_PAGES).map((e) => [ns(e.ts), e.ph === 'C' ? e.args.pages : NaN]);
    const bytes = events.filter((e) => e.name === PENDING_BYTES).map((e) => [ns(e.ts), e.ph === 'C' ? e.args.bytes : NaN]);
    const series = r.pageTables.pendingSeries;
    assert.deepEqual(pages, series.timesNs.map((t, i) => [t, series.pages[i]]), d);
    assert.deepEqual(bytes, series.timesNs.map((t, i) => [t, series.pages[i] * 4096]), d);
    assert.ok(series.timesNs.length >= 2, `${d}: the PMD and PTE tables go pending and come back`);
  }
});

test('violations are global instants carrying the report', () => {
  const r = run('immediate', 'vfree-huge-vmap');
  const v = parsed(r).filter((e) => e.ph === 'i' && e.cat === 'violation');
  assert.equal(v.length, r.violations.length);
  assert.ok(v.length >= 1);
  const first = v[0];
  assert.ok(first.ph === 'i' && first.s === 'g');
  assert.equal(first.args?.title, r.violations[0].title);
  assert.equal(first.args?.details, r.violations[0].details.join('\n'));
});

test('the same run gives the same bytes; ts keeps nanoseconds as µs decimals', () => {
  const again = timedRun(builtinDesign('seed')!, builtinScenario('vfree-huge-vmap')!, { trace: true, timeline: true });
  const src = (r: TimedRunResult) => ({ command: 'kptsim run', design: r.design, scenario: r.scenario, seed: r.seed, timeline: r.timeline! });
  const text = perfettoJson(src(run('seed', 'vfree-huge-vmap')));
  assert.equal(perfettoJson(src(again)), text);
  const slice = run('seed', 'vfree-huge-vmap').timeline!.slices.find((s) => s.startNs % 1000 !== 0)!;
  assert.ok(text.includes(`"ts":${slice.startNs / 1000},`), `slice at ${slice.startNs} ns written as ${slice.startNs / 1000} µs`);
});

test('several replays go in one file, one process each, with distinct flow ids', () => {
  const a = run('seed', 'vfree-huge-vmap');
  const b = run('upstream', 'pud-huge-vmap');
  const src = (r: TimedRunResult) => ({ command: 'kptsim replay', design: r.design, scenario: r.scenario, timeline: r.timeline! });
  const trace = chromeTrace.parse(JSON.parse(perfettoJson([src(a), src(b)])));
  assert.deepEqual([...new Set(trace.traceEvents.map((e) => e.pid))], [1, 2]);
  const tids = (pid: number) => new Set(trace.traceEvents.filter((e) => e.pid === pid).map((e) => e.tid));
  for (const tid of tids(1)) assert.ok(!tids(2).has(tid), `tid ${tid} in both processes (Perfetto's tids are system-wide)`);
  const ids = trace.traceEvents.filter((e) => e.ph === 's').map((e) => (e.ph === 's' ? e.id : 0));
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids.length, a.timeline!.flows.length + b.timeline!.flows.length);
});
