/**
 * `--self-check` on check and run: the model's invariants run before every step and only watch —
 * the result is the one without them (timing aside), design bugs included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

function strip(json: string): string {
  const { elapsedMs: _t, ...rest } = JSON.parse(json);
  return JSON.stringify(rest);
}

test('check --self-check finds the same iommu-use-after-free in immediate as check without it, and no model bug', () => {
  const args = ['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--strategy', 'random', '--budget', '3', '--json'];
  const plain = kptsim(args);
  const checked = kptsim([...args, '--self-check']);
  assert.equal(checked.code, 1, checked.stderr);
  assert.equal(strip(checked.stdout), strip(plain.stdout));
  assert.ok(JSON.parse(checked.stdout).violations.some((v: { kind: string }) => v.kind === 'iommu-use-after-free'));
});

test('run --self-check gives the same timed run as run without it', () => {
  const args = ['run', '--design', 'upstream', '--scenario', 'examples/scenarios/vfree-small.yaml', '--json'];
  const plain = kptsim(args);
  const checked = kptsim([...args, '--self-check']);
  assert.equal(checked.code, plain.code, checked.stderr);
  assert.equal(checked.stdout, plain.stdout);
});
