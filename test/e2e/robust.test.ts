import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const SMALL = 'examples/scenarios/vfree-small.yaml';

/** The report lines (title and details) of a check or replay text output, for byte comparison. */
function reportOf(text: string): string {
  const at = text.indexOf('  report:');
  const end = text.indexOf('\n\n', at);
  return text.slice(at, end === -1 ? undefined : end).trimEnd();
}

test('a design hook that never yields (a synchronous loop) is stopped by the watchdog: an assertion at its step in each of the 3 executions, exit 1; replay stops at the same step with the same report', () => {
  const r = kptsim(['check', '--design', 'test/fixtures/designs/never-yields.ts', '--scenario', SMALL, '--budget', '3', '--execution-timeout', '1s']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /: 3 executions, not complete/);
  assert.match(r.stdout, /^assertion: watchdog: BUG: soft lockup - cpu0:vmalloc stuck in \S+: a design hook did not return$/m);
  assert.match(r.stdout, /design hook did not return within 1 s \(--execution-timeout\) at step \d+ \(label \S+\)/);
  assert.match(r.stdout, /3 execution\(s\) showed it/);
  assert.doesNotMatch(r.stdout.split('\n').filter((l) => !l.includes('wall-clock')).join('\n'), /\d+(\.\d+)? ?ms\b/, 'no measured time in the result');
  const token = /kptsim replay (kpt1\.\S+)/.exec(r.stdout)?.[1];
  assert.ok(token, r.stdout);
  const replay = kptsim(['replay', token]);
  assert.equal(replay.code, 1, replay.stderr);
  assert.match(replay.stdout, /, abandoned\n/);
  assert.equal(reportOf(replay.stdout), reportOf(r.stdout));
});

test('a design hook that yields forever makes no progress: at --max-steps that is a livelock, an assertion naming the thread, step and label; its token replays the cut', () => {
  const r = kptsim(['check', '--design', 'test/fixtures/designs/spins.ts', '--scenario', SMALL, '--budget', '2', '--max-steps', '1500', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.executions, 2);
  const [v] = result.violations;
  assert.equal(v.kind, 'assertion');
  assert.match(v.message, /^watchdog: BUG: soft lockup - cpu0:vmalloc made no progress for \d+ steps \(livelock\)$/);
  assert.match(v.details[0], /before the step limit \(--max-steps 1500\) at step 1500/);
  assert.ok(v.details.some((d: string) => /^cpu0:vmalloc at fixture_spin/.test(d)), v.details.join('\n'));
  const replay = kptsim(['replay', v.replay, '--json']);
  assert.equal(replay.code, 1, replay.stderr);
  const replayed = JSON.parse(replay.stdout);
  assert.equal(replayed.status, 'step-limit');
  assert.equal(replayed.violations[0].title, v.message);
});

test('a design hook that throws is an assertion oops at that step, naming the hook; every execution still runs', () => {
  const r = kptsim(['check', '--design', 'test/fixtures/designs/throws.ts', '--scenario', SMALL, '--budget', '3', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.executions, 3);
  const [v] = result.violations;
  assert.equal(v.kind, 'assertion');
  assert.equal(v.message, 'Oops: RangeError: fixture: pte_free_kernel gave up in cpu0:vmalloc');
  assert.match(v.details[0], /^exception in a kernel hook at step \d+, in \S+/);
  assert.ok(v.details.some((d: string) => /pte_free_kernel/.test(d)), 'the hook is named');
  // Where it was thrown, by file name only: the report reads the same on every machine.
  assert.ok(v.details.includes('thrown at pte_free_kernel (throws.ts:15:13)'), v.details.join('\n'));
  assert.equal(v.occurrences, 3);
});

test('a design whose install() throws cannot be installed: exit 2, one line naming the file, nothing on stdout', () => {
  for (const command of ['check', 'run']) {
    const r = kptsim([command, '--design', 'test/fixtures/designs/install-throws.ts', '--scenario', SMALL, ...(command === 'check' ? ['--budget', '1'] : [])]);
    assert.equal(r.code, 2, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /^kptsim: --design test\/fixtures\/designs\/install-throws\.ts: install\(\) threw TypeError: fixture: no hooks today\n$/);
    assert.equal(r.stdout, '');
  }
});
