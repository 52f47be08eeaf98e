/**
 * What `kptsim run` prints: by default a summary (header, violations, metrics), the trace only with
 * --trace, one line with --quiet; the exit codes the same in every form. And `kptsim --version`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const TRACE_LINE = /^ +\d+\.\d{3} µs \[ *\d+\] /m;
const BUGGY = ['run', '--design', 'immediate', '--scenario', 'vfree-huge-vmap'];
const CLEAN = ['run', '--design', 'upstream', '--scenario', 'vfree-huge-vmap'];

test('kptsim run prints the header, the violations and the metrics by default, not the trace; --trace adds it, the rest unchanged', () => {
  const summary = kptsim(BUGGY);
  assert.equal(summary.code, 1, summary.stderr);
  assert.match(summary.stdout, /^kptsim run: design immediate, scenario vfree-huge-vmap, seed 0 \(simulated time\)\n\n/);
  assert.doesNotMatch(summary.stdout, TRACE_LINE);
  assert.match(summary.stdout, /^iommu-use-after-free: BUG: IOMMU use-after-free/m);
  assert.match(summary.stdout, /^IOMMU invalidations: 0 PASID-selective, 0 page-selective/m);
  assert.match(summary.stdout, /^memory: \d+ free pages/m);
  // Two KASAN-shaped reports (three stacks each, docs/reports.md) and the metrics; the trace alone is hundreds of lines.
  assert.ok(summary.stdout.split('\n').length < 120, `${summary.stdout.split('\n').length} lines`);

  const traced = kptsim([...BUGGY, '--trace']);
  assert.equal(traced.code, 1, traced.stderr);
  assert.match(traced.stdout, TRACE_LINE);
  // The trace sits between the header and the violations: removing it gives the summary back.
  const [header, ...rest] = traced.stdout.split('\n\n');
  assert.match(rest[0], TRACE_LINE);
  assert.equal([header, ...rest.slice(1)].join('\n\n'), summary.stdout);
});

test('kptsim run --quiet prints one line, the verdict first, with the same exit codes', () => {
  const buggy = kptsim([...BUGGY, '--quiet']);
  assert.equal(buggy.code, 1, buggy.stderr);
  assert.match(buggy.stdout, /^kptsim run: design immediate, scenario vfree-huge-vmap, seed 0: \d+ violations \(iommu-uncovered-free \d+, iommu-use-after-free \d+\); \d+ steps, quiescent, [\d.]+ µs simulated\n$/);
  const clean = kptsim([...CLEAN, '--quiet']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /^kptsim run: design upstream, scenario vfree-huge-vmap, seed 0: no violation; \d+ steps, \w+, [\d.]+ µs simulated\n$/);
});

test('kptsim run --trace --quiet and --quiet --json are refused, exit 2, one line', () => {
  for (const extra of [
    ['--trace', '--quiet'],
    ['--quiet', '--json'],
  ]) {
    const r = kptsim([...CLEAN, ...extra]);
    assert.equal(r.code, 2, extra.join(' '));
    assert.match(r.stderr, /cannot be used with/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(r.stdout, '');
  }
});

test('kptsim --version prints the version in package.json, exit 0', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = kptsim(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${version}\n`);
  assert.equal(r.stderr, '');
});
