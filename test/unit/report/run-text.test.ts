import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinDesign } from '../../../src/designs/index.ts';
import { runRecord, timedRun } from '../../../src/measure/timed-run.ts';
import { renderRun, renderRunSummary } from '../../../src/report/run-text.ts';
import { collapseRuns } from '../../../src/report/trace-text.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';

/** v6.18 on vfree-huge-vmap: two violations, a short trace. */
const immediate = runRecord(timedRun(builtinDesign('immediate')!, builtinScenario('vfree-huge-vmap')!, { trace: true }));
const TRACE_LINE = /^ +\d+\.\d{3} µs \[ *\d+\] /m;

test('renderRun prints the header, the violations and the metrics; the trace only when asked', () => {
  const summary = renderRun(immediate);
  assert.doesNotMatch(summary, TRACE_LINE);
  assert.match(summary, /^iommu-use-after-free: BUG: IOMMU use-after-free/m);
  assert.match(summary, /^IOMMU invalidations: /m);
  const traced = renderRun(immediate, { trace: true });
  assert.match(traced, TRACE_LINE);
  assert.ok(traced.endsWith(summary.slice(summary.indexOf('\n\n') + 2)), 'the trace is inserted, the rest unchanged');
});

test('renderRun --trace of a trace of hundreds of thousands of lines does not overflow the stack', () => {
  const trace = immediate.trace ?? [];
  const a = trace[0];
  const b = trace.find((e) => e.thread !== a.thread)!;
  // Events of alternating threads, so that nothing collapses: one line each.
  const long = Array.from({ length: 300_000 }, (_, i) => ({ ...(i % 2 === 0 ? a : b), step: i }));
  const text = renderRun({ ...immediate, trace: long }, { trace: true });
  assert.ok(text.split('\n').length > 300_000);
  assert.equal(collapseRuns(long, undefined, ['first']).length, 300_001, 'collapseRuns appends to the lines it is given');
});

test('renderRunSummary is one line: the violations by kind, steps, status and simulated time', () => {
  const line = renderRunSummary(immediate);
  assert.match(line, /^kptsim run: design immediate, scenario vfree-huge-vmap, seed 0: 2 violations \(iommu-uncovered-free 1, iommu-use-after-free 1\); \d+ steps, quiescent, [\d.]+ µs simulated\n$/);
});
