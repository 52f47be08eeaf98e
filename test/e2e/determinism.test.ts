/**
 * Determinism of every output a user keeps (issue 7): the same inputs and seed give the same
 * bytes — stdout JSON, the Perfetto trace and the HTML report — run after run. (Splits: workers and
 * shards in check.test.ts, workers in study.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

function outputs(args: readonly string[], files: readonly ('perfetto' | 'html')[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-det-'));
  const flags = files.flatMap((f) => [`--${f}`, join(dir, `out.${f}`)]);
  const r = kptsim([...args, ...flags]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return [r.stdout, ...files.map((f) => readFileSync(join(dir, `out.${f}`), 'utf8'))];
}

test('run with a seed: the same JSON, Perfetto trace and HTML report, byte for byte', () => {
  const args = ['run', '--design', 'v3', '--scenario', 'mixed-reuse', '--seed', '5', '--json'];
  const a = outputs(args, ['perfetto', 'html']);
  const b = outputs(args, ['perfetto', 'html']);
  assert.equal(a[0], b[0]);
  assert.equal(a[1], b[1]);
  assert.equal(a[2], b[2]);
  // A different seed is a different run (the check above could not pass by printing constants).
  const c = outputs(['run', '--design', 'v3', '--scenario', 'mixed-reuse', '--seed', '6', '--json'], ['perfetto']);
  assert.notEqual(c[1], a[1]);
});

test('replay of a check token and compare: the same Perfetto trace and HTML report, byte for byte', () => {
  const checked = JSON.parse(kptsim(['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--budget', '3', '--json']).stdout);
  const token: string = checked.violations[0].replay;
  const a = outputs(['replay', token], ['perfetto', 'html']);
  const b = outputs(['replay', token], ['perfetto', 'html']);
  assert.deepEqual(a, b);
  const cmp = ['compare', '--designs', 'immediate,seed,upstream', '--scenario', 'vfree-huge-vmap', '--json'];
  assert.deepEqual(outputs(cmp, ['html']), outputs(cmp, ['html']));
});
