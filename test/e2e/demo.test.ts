import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

function withoutTiming(json: string): string {
  const { elapsedMs: _elapsed, ...rest } = JSON.parse(json);
  return JSON.stringify(rest);
}

test('kptsim demo: the device leaks the secret through a stale cached PDE', () => {
  const r = kptsim(['demo']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SECRET LEAKED: the device read "kptsim-secret/);
  assert.match(r.stdout, /cached PDE entry .* trusts table/);
});

test('kptsim demo --json is deterministic: the same run gives the same bytes (timing aside)', () => {
  const a = kptsim(['demo', '--json']);
  const b = kptsim(['demo', '--json']);
  assert.equal(a.code, 0, a.stderr);
  const parsed = JSON.parse(a.stdout);
  assert.equal(parsed.leaked, parsed.secret);
  assert.equal(withoutTiming(a.stdout), withoutTiming(b.stdout));
});

test('kptsim demo --seed schedules at random and replays the same run for the same seed', () => {
  const a = kptsim(['demo', '--json', '--seed', '7']);
  const b = kptsim(['demo', '--json', '--seed', '7']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(withoutTiming(a.stdout), withoutTiming(b.stdout));
  assert.notEqual(withoutTiming(a.stdout), withoutTiming(kptsim(['demo', '--json']).stdout));
});

test('a bad flag value is exit 2 with a one-line error naming the flag', () => {
  const r = kptsim(['demo', '--seed', 'abc']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--seed expects a non-negative integer, got 'abc'/);
  assert.equal(r.stdout, '');
});
