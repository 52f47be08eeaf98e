/**
 * A replay token works from any directory: check records a design module or scenario file by its
 * absolute path (a built-in by its name, as always), the identity hash still refuses a changed
 * file, and a file that is gone is named in the error.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tokenLabel } from '../../src/explore/index.ts';
import { kptsim } from '../helpers/cli.ts';

const SMALL = fileURLToPath(new URL('../../examples/scenarios/vfree-small.yaml', import.meta.url));
/** The kptsim CLI run as a user in `cwd` would. */
function kptsimIn(cwd: string, args: readonly string[]) {
  return kptsim(args, { cwd });
}

/** The report lines (title and details) of a check or replay text output. */
function reportOf(text: string): string {
  const at = text.indexOf('  report:');
  const end = text.indexOf('\n\n', at);
  return text.slice(at, end === -1 ? undefined : end).trimEnd();
}

const recordedIn = mkdtempSync(join(tmpdir(), 'kptsim-record-'));
const elsewhere = mkdtempSync(join(tmpdir(), 'kptsim-elsewhere-'));
mkdirSync(join(recordedIn, 'sc'));
const scenarioFile = join(recordedIn, 'sc', 'ok.yaml');
writeFileSync(scenarioFile, readFileSync(SMALL, 'utf8'));

const recorded = kptsimIn(recordedIn, ['check', '--design', 'immediate', '--scenario', 'sc/ok.yaml', '--strategy', 'pct', '--budget', '10']);
const token = /kptsim replay (kpt1\.\S+)/.exec(recorded.stdout)?.[1];

test('a token recorded with a relative --scenario path replays from another directory, with the same report', () => {
  assert.equal(recorded.code, 1, recorded.stderr);
  assert.ok(token, 'a replay token is printed');
  assert.deepEqual(JSON.parse(tokenLabel(token)), ['immediate', scenarioFile, 200000], 'the label holds the absolute path');
  const replay = kptsimIn(elsewhere, ['replay', token]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.equal(reportOf(replay.stdout), reportOf(recorded.stdout));
});

test('a token recorded with a relative --design module path replays from another directory', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = kptsimIn(root, ['check', '--design', 'test/fixtures/designs/throws.ts', '--scenario', 'examples/scenarios/vfree-small.yaml', '--budget', '2', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const [found] = (JSON.parse(r.stdout) as { violations: { replay: string; message: string }[] }).violations;
  assert.deepEqual(JSON.parse(tokenLabel(found.replay)), [join(root, 'test/fixtures/designs/throws.ts'), join(root, 'examples/scenarios/vfree-small.yaml'), 200000]);
  const replay = kptsimIn(elsewhere, ['replay', found.replay, '--json']);
  assert.equal(replay.code, 1, replay.stderr);
  assert.ok(replay.stdout.includes(JSON.stringify(found.message)), replay.stdout.slice(0, 400));
});

test('a token of built-in names keeps its label of names', () => {
  const r = kptsimIn(elsewhere, ['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--budget', '3', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const labels = (JSON.parse(r.stdout) as { violations: { replay: string }[] }).violations.map((v) => tokenLabel(v.replay));
  assert.ok(labels.length > 0);
  for (const label of labels) assert.equal(label, JSON.stringify(['immediate', 'vfree-huge-vmap', 200000]));
});

test('a changed scenario file is refused by the identity hash; a scenario file that is gone is named in the error', () => {
  assert.ok(token);
  const text = readFileSync(scenarioFile, 'utf8');
  try {
    writeFileSync(scenarioFile, text.replace('frames: 2048', 'frames: 4096'));
    const changed = kptsimIn(elsewhere, ['replay', token]);
    assert.equal(changed.code, 2, changed.stdout + changed.stderr);
    assert.match(changed.stderr, /recorded for a different design\/scenario/);
  } finally {
    writeFileSync(scenarioFile, text);
  }
  const moved = join(recordedIn, 'sc', 'moved.yaml');
  renameSync(scenarioFile, moved);
  try {
    const gone = kptsimIn(elsewhere, ['replay', token]);
    assert.equal(gone.code, 2, gone.stdout + gone.stderr);
    assert.equal(gone.stderr.trim().split('\n').length, 1, gone.stderr);
    assert.ok(gone.stderr.includes(`the token needs the scenario ${scenarioFile}:`), gone.stderr);
  } finally {
    renameSync(moved, scenarioFile);
  }
  assert.equal(kptsimIn(elsewhere, ['replay', token]).code, 1, 'the file back, the token replays again');
});
