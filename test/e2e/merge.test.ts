/**
 * `kptsim merge`: the shards of one run, each exactly once, make the run's result byte for byte
 * (timing aside); anything else — a shard twice, a shard missing, a shard of another run, a count
 * that disagrees — is refused with exit 2 and one line naming the file and what is wrong.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const RUN = ['check', '--design', 'v3', '--scenario', 'vfree-huge-vmap', '--strategy', 'pct', '--budget', '30', '--json'];
const dir = mkdtempSync(join(tmpdir(), 'kptsim-merge-'));

/** The JSON without its wall-clock timing, as printed (key order kept). */
function strip(text: string): string {
  const { elapsedMs: _t, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return JSON.stringify(rest, null, 2);
}

/** Runs `args` (a check --json) and writes its output to `name` in the test's directory. */
function saved(name: string, args: readonly string[]): string {
  const r = kptsim(args);
  assert.ok(r.code === 0 || r.code === 1, `${args.join(' ')}: ${r.stderr}`);
  const file = join(dir, name);
  writeFileSync(file, r.stdout);
  return file;
}

/** A refusal: exit 2, nothing on stdout, one line on stderr matching each pattern. */
function refused(files: readonly string[], ...patterns: RegExp[]): string {
  const r = kptsim(['merge', ...files]);
  assert.equal(r.code, 2, `merge ${files.join(' ')}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  for (const p of patterns) assert.match(r.stderr, p);
  return r.stderr;
}

const shards = [0, 1, 2].map((i) => saved(`s${i}.json`, [...RUN, '--shard', `${i}/3`]));
const whole = kptsim(RUN);

test('merging shards 0/3, 1/3 and 2/3 of a pct run gives the unsharded run byte for byte (elapsedMs aside), as --workers 2 does', () => {
  assert.equal(whole.code, 1, whole.stderr);
  const merged = kptsim(['merge', ...shards]);
  assert.equal(merged.code, 1, merged.stderr);
  assert.equal(strip(merged.stdout), strip(whole.stdout));
  assert.equal(JSON.parse(merged.stdout).executions, 30);
  // The order of the files does not matter.
  assert.equal(strip(kptsim(['merge', shards[2], shards[0], shards[1]]).stdout), strip(whole.stdout));
  const workers = kptsim([...RUN, '--workers', '2']);
  assert.equal(strip(workers.stdout), strip(whole.stdout));
});

test('check --json records its shard and the inputs that define the run; a run without --shard is shard 0 of 1', () => {
  const { shard } = JSON.parse(whole.stdout);
  assert.deepEqual(Object.keys(shard), ['index', 'count', 'run']);
  assert.equal(shard.index, 0);
  assert.equal(shard.count, 1);
  const { identity, ...inputs } = shard.run;
  assert.deepEqual(inputs, { design: 'v3', scenario: 'vfree-huge-vmap', strategy: 'pct', seed: 0, budget: 30, timeMs: null, depth: 3, preemptionBound: null, faults: null, maxSteps: 200000 });
  assert.match(identity, /^[0-9a-f]{64}$/);
  shards.forEach((f, i) => {
    const part = JSON.parse(readFileSync(f, 'utf8')).shard;
    assert.deepEqual({ index: part.index, count: part.count }, { index: i, count: 3 });
    assert.deepEqual(part.run, shard.run);
  });
});

test('a shard given twice is refused, naming the file (the run is not 90 executions)', () => {
  refused([shards[0], shards[0], shards[2]], /^kptsim: merge: \S*s0\.json: shard 0 of 3 is given twice \(also \S*s0\.json\)$/m);
});

test('a missing shard is refused, naming which', () => {
  refused([shards[0], shards[2]], /shard 1 of 3 is missing/, /s0\.json, \S*s2\.json/);
  refused([shards[1]], /shards 0, 2 of 3 are missing/);
});

test('a shard of another run is refused, naming the input that differs', () => {
  const otherSeed = saved('seed1.json', [...RUN, '--seed', '1', '--shard', '2/3']);
  refused([shards[0], shards[1], otherSeed], /seed1\.json: a shard of another run: seed 1, but \S*s0\.json has seed 0/);
  // A bound the top level does not show.
  const doc = JSON.parse(readFileSync(shards[2], 'utf8'));
  doc.shard.run.budget = 31;
  const otherBudget = join(dir, 'budget31.json');
  writeFileSync(otherBudget, JSON.stringify(doc));
  refused([shards[0], shards[1], otherBudget], /budget31\.json: a shard of another run: budget 31, but \S*s0\.json has budget 30/);
});

test('a shard of another design or scenario file with the same names is refused by the identity hash', () => {
  const twin = (rounds: number) => {
    const f = join(dir, `twin-${rounds}.yaml`);
    writeFileSync(f, `name: twin\nworkload: vfree-huge-vmap\nparams:\n  rounds: ${rounds}\n`);
    return f;
  };
  const args = (scenario: string, i: number) => ['check', '--design', 'seed', '--scenario', scenario, '--strategy', 'random', '--budget', '4', '--json', '--shard', `${i}/2`];
  const a = saved('twin-a.json', args(twin(1), 0));
  const b = saved('twin-b.json', args(twin(2), 1));
  assert.equal(JSON.parse(readFileSync(a, 'utf8')).scenario, JSON.parse(readFileSync(b, 'utf8')).scenario);
  refused([a, b], /twin-b\.json: a shard of another run: its design\/scenario identity differs from \S*twin-a\.json's/);
});

test('a shard count that disagrees is refused, naming the file', () => {
  const half = saved('half.json', [...RUN, '--shard', '1/2']);
  refused([shards[0], half, shards[2]], /half\.json: shard 1 of 2, but \S*s0\.json is a shard of 3/);
});

test('a result without its shard record is refused, naming the field', () => {
  const doc = JSON.parse(readFileSync(shards[0], 'utf8'));
  delete doc.shard;
  const old = join(dir, 'old.json');
  writeFileSync(old, JSON.stringify(doc));
  refused([old], /old\.json: shard: /);
});
