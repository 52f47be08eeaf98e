/**
 * `--shard auto` on each batch engine's environment (Kubernetes Indexed Jobs, Slurm job arrays,
 * KPTSIM_SHARD_INDEX/COUNT as a GitHub Actions matrix sets them): three shard processes, merged,
 * give the single-process result; a missing or inconsistent environment is one line, exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseShard } from '../../src/cli/shard.ts';
import { kptsim } from '../helpers/cli.ts';

const RUN = ['check', '--design', 'v3', '--scenario', 'vfree-huge-vmap', '--strategy', 'random', '--budget', '9', '--json'];

function kptsimWith(args: readonly string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KPTSIM_SHARD_|SLURM_ARRAY_|JOB_COMPLETION_INDEX)/.test(k)));
  return kptsim(args, { env: { ...clean, ...env } });
}

const withoutTiming = (json: string) => json.replace(/"elapsedMs": [0-9.]+/, '"elapsedMs": 0');

const engines: [string, (i: number) => Record<string, string>][] = [
  ['Kubernetes Indexed Job', (i) => ({ JOB_COMPLETION_INDEX: String(i), KPTSIM_SHARD_COUNT: '3' })],
  ['Slurm job array starting at 1', (i) => ({ SLURM_ARRAY_TASK_ID: String(i + 1), SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' })],
  ['GitHub Actions matrix', (i) => ({ KPTSIM_SHARD_INDEX: String(i), KPTSIM_SHARD_COUNT: '3' })],
];

test('--shard auto: three shards from each engine\'s environment merge into the single-process result', () => {
  const whole = kptsimWith(RUN);
  assert.equal(whole.code, 1, whole.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-shard-auto-'));
  for (const [engine, env] of engines) {
    const files = [0, 1, 2].map((i) => {
      const r = kptsimWith([...RUN, '--shard', 'auto'], env(i));
      assert.ok(r.code === 0 || r.code === 1, `${engine} shard ${i}: ${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout).shard.index, i, engine);
      const f = join(dir, `${engine.replace(/\W+/g, '-')}-${i}.json`);
      writeFileSync(f, r.stdout);
      return f;
    });
    const merged = kptsimWith(['merge', ...files]);
    assert.equal(merged.code, 1, merged.stderr);
    assert.equal(withoutTiming(merged.stdout), withoutTiming(whole.stdout), engine);
  }
});

test('--shard auto with no shard, or an inconsistent one, in the environment is one line naming the variables, exit 2', () => {
  const none = kptsimWith([...RUN, '--shard', 'auto']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--shard auto: no shard in the environment \(KPTSIM_SHARD_INDEX\/KPTSIM_SHARD_COUNT, SLURM_ARRAY_TASK_ID/);
  assert.throws(() => parseShard('auto', { JOB_COMPLETION_INDEX: '2' }), /JOB_COMPLETION_INDEX gives the index \(2\) but KPTSIM_SHARD_COUNT is not set/);
  assert.throws(() => parseShard('auto', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '3' }), /index 5 from SLURM_ARRAY_TASK_ID is not below the count 3/);
  assert.throws(() => parseShard('auto', { KPTSIM_SHARD_INDEX: 'x', KPTSIM_SHARD_COUNT: '3' }), /KPTSIM_SHARD_INDEX=x is not a non-negative integer/);
  assert.deepEqual(parseShard('auto', { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '4' }), { index: 3, count: 4 });
});
