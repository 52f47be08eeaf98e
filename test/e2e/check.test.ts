import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

/** The report lines (title and details) of a check or replay text output, for byte comparison. */
function reportOf(text: string): string {
  const at = text.indexOf('  report:');
  return text.slice(at, text.indexOf('\n\n', at) === -1 ? undefined : text.indexOf('\n\n', at)).trimEnd();
}

test('check --design immediate --scenario vfree-huge-vmap exits 1 with iommu-use-after-free, and its replay token reproduces the report byte for byte', () => {
  const r = kptsim(['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--budget', '10']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^iommu-use-after-free: BUG: IOMMU use-after-free/m);
  const token = /kptsim replay (kpt1\.\S+)/.exec(r.stdout)?.[1];
  assert.ok(token, 'a replay token is printed');
  assert.match(r.stdout, /shrunk from \d+ to \d+ preemptions and from \d+ to \d+ steps before the report/);
  const replay = kptsim(['replay', token]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.equal(reportOf(replay.stdout), reportOf(r.stdout));
  assert.equal(kptsim(['replay', token]).stdout, replay.stdout, 'replay is deterministic');
});

test('check --design v1 finds sleep-in-atomic; check --design v3 finds iommu-use-after-free (pct)', () => {
  const v1 = kptsim(['check', '--design', 'v1', '--scenario', 'vfree-huge-vmap', '--budget', '5', '--json']);
  assert.equal(v1.code, 1, v1.stderr);
  assert.ok(JSON.parse(v1.stdout).violations.some((v: { kind: string }) => v.kind === 'sleep-in-atomic'));
  const v3 = kptsim(['check', '--design', 'v3', '--scenario', 'vfree-huge-vmap', '--strategy', 'pct', '--budget', '200', '--json']);
  assert.equal(v3.code, 1, v3.stderr);
  const parsed = JSON.parse(v3.stdout);
  assert.deepEqual(Object.keys(parsed).slice(0, 6), ['version', 'design', 'scenario', 'strategy', 'seed', 'executions']);
  assert.ok(parsed.violations.some((v: { kind: string }) => v.kind === 'iommu-use-after-free'));
});

test('check --design upstream --strategy dpor covers the whole small configuration: exit 0, complete: true', () => {
  const r = kptsim(['check', '--design', 'upstream', '--scenario', 'examples/scenarios/vfree-small.yaml', '--strategy', 'dpor', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const parsed = JSON.parse(r.stdout);
  assert.equal(parsed.complete, true);
  assert.deepEqual(parsed.violations, []);
  assert.ok(parsed.executions > 1);
});

test('check --strategy dpor with a budget below the space is not complete', () => {
  const r = kptsim(['check', '--design', 'upstream', '--scenario', 'examples/scenarios/vfree-small.yaml', '--strategy', 'dpor', '--budget', '3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).complete, false);
});

test('replay refuses a corrupt or foreign token with exit 2 and one line', () => {
  for (const bad of ['kpt1.AAAA', 'kpt9.AAAA', 'nonsense']) {
    const r = kptsim(['replay', bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('--workers and --shard split a pct run; the merged result is the unsplit one, byte for byte (timing aside)', () => {
  const args = ['check', '--design', 'v3', '--scenario', 'vfree-huge-vmap', '--strategy', 'pct', '--budget', '24', '--json'];
  const strip = (s: string) => {
    const { elapsedMs: _t, ...rest } = JSON.parse(s);
    return JSON.stringify(rest);
  };
  const whole = kptsim(args);
  const twoWorkers = kptsim([...args, '--workers', '2']);
  assert.equal(strip(twoWorkers.stdout), strip(whole.stdout));
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-shards-'));
  const files = [0, 1].map((i) => {
    const f = join(dir, `s${i}.json`);
    writeFileSync(f, kptsim([...args, '--shard', `${i}/2`]).stdout);
    return f;
  });
  const merged = kptsim(['merge', ...files]);
  assert.equal(strip(merged.stdout), strip(whole.stdout));
  assert.equal(JSON.parse(merged.stdout).executions, 24);
});

test('--shard is refused for an exhaustive strategy, naming the flag', () => {
  const r = kptsim(['check', '--design', 'upstream', '--scenario', 'vfree-huge-vmap', '--strategy', 'dpor', '--shard', '1/2']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--shard splits random and pct explorations/);
});

test('--faults takes a non-negative integer: anything else exits 2 with one line naming --faults, before anything runs', () => {
  for (const bad of ['-1', 'two', '1.5']) {
    const r = kptsim(['check', '--design', 'upstream', '--scenario', 'vfree-huge-vmap', '--strategy', 'dpor', `--faults=${bad}`]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`--faults expects a non-negative integer, got '${bad.replace('.', '\\.')}'`));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
