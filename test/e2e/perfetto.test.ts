import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';
import { chromeTrace } from '../unit/report/trace-event-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'kptsim-perfetto-'));

test('kptsim run --perfetto writes a Perfetto-readable trace of the run and prints the same as without it', () => {
  const file = join(dir, 'seed.json');
  const r = kptsim(['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap', '--perfetto', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, kptsim(['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap']).stdout);
  const trace = chromeTrace.parse(JSON.parse(readFileSync(file, 'utf8')));
  assert.equal(trace.displayTimeUnit, 'ns');
  assert.deepEqual(trace.metadata?.pageTableFrees, { covered: 1, late: 0, uncovered: 0 });
  const names = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => (e.ph === 'M' && 'name' in e.args ? e.args.name : ''));
  assert.ok(names.some((n) => n.startsWith('cpu0:vmalloc')));
  assert.ok(names.some((n) => n.startsWith('kworker/')));
  assert.ok(names.includes('iommu (invalidations processed)'));
  assert.equal(trace.traceEvents.filter((e) => e.ph === 's').length, 1, 'one arrow: the PASID flush covering the freed PTE table');
  assert.ok(trace.traceEvents.some((e) => e.ph === 'X' && e.name === 'pmd_clear'), 'the unlink');
  assert.ok(trace.traceEvents.some((e) => e.ph === 'i' && e.name === 'PASID-selective IOTLB invalidation'));
  // --json does not carry the timeline.
  const json = JSON.parse(kptsim(['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap', '--json', '--perfetto', join(dir, 'again.json')]).stdout);
  assert.equal(json.timeline, undefined);
  assert.equal(readFileSync(join(dir, 'again.json'), 'utf8'), readFileSync(file, 'utf8'), 'the same run gives the same bytes');
});

test('kptsim replay TOKEN --perfetto writes the replayed execution in simulated time, with the violation', () => {
  const found = kptsim(['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--json']);
  assert.equal(found.code, 1, found.stderr);
  const uaf = (JSON.parse(found.stdout).violations as { kind: string; replay: string }[]).find((v) => v.kind === 'iommu-use-after-free');
  assert.ok(uaf !== undefined);
  const token = uaf.replay;
  const file = join(dir, 'replay.json');
  const r = kptsim(['replay', token, '--perfetto', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, kptsim(['replay', token]).stdout);
  const trace = chromeTrace.parse(JSON.parse(readFileSync(file, 'utf8')));
  assert.equal(trace.metadata?.generator, 'kptsim replay');
  const violations = trace.traceEvents.filter((e) => e.ph === 'i' && e.cat === 'violation').map((e) => e.name);
  assert.ok(violations.some((n) => /^iommu-use-after-free: BUG: IOMMU use-after-free/.test(n)), violations.join('\n'));
  assert.ok(violations.some((n) => /^iommu-uncovered-free: /.test(n)), 'the hazard at the free, before the walk');
  assert.ok(trace.traceEvents.some((e) => e.ph === 'i' && e.name === 'page-table page freed, never invalidated'));
  assert.equal(trace.traceEvents.filter((e) => e.ph === 's' || e.ph === 'f').length, 0, 'v6.18 never invalidates: no arrow');
});

test('an unwritable --perfetto path is exit 2 naming the flag, and nothing is written', () => {
  const missing = join(dir, 'no-such-dir', 'trace.json');
  const r = kptsim(['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap', '--perfetto', missing]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kptsim: --perfetto: cannot write .*trace\.json/);
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(missing));
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});
