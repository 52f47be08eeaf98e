/**
 * `kptsim run`, `compare` and `replay` with a design given by path run it in the contained runner
 * (src/cli/runner.ts), like `check`: a hook that never returns (a synchronous loop) ends the
 * execution at that step, reported as an `assertion` soft lockup naming thread, step and label —
 * like kernel/watchdog.c watchdog_timer_fn() — and a design that behaves prints what it printed
 * when it ran in this thread.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_INPUTS, loadDesign, loadScenario } from '../../src/cli/load.ts';
import { runJob } from '../../src/job/jobs.ts';
import { jsonBigint } from '../../src/report/run-text.ts';
import type { Design } from '../../src/designs/index.ts';
import { RoundRobinScheduler, encodeToken } from '../../src/explore/index.ts';
import { replayLabel } from '../../src/job/label.ts';
import { programOf } from '../../src/job/program.ts';
import { perfettoJson } from '../../src/report/perfetto.ts';
import { runHtml } from '../../src/report/html.ts';
import neverYields from '../fixtures/designs/never-yields.ts';
import { kptsim } from '../helpers/cli.ts';

const SMALL = 'examples/scenarios/vfree-small.yaml';
const NEVER = 'test/fixtures/designs/never-yields.ts';
const SYNC = 'examples/designs/sync-invalidate.ts';

interface Reported {
  kind: string;
  title: string;
  details: string[];
  thread: string;
  step: number;
}

/** The watchdog's report: thread, step and label in the title and first detail; no measured time. */
function assertSoftLockup(v: Reported | undefined): void {
  assert.ok(v, 'a violation');
  assert.equal(v.kind, 'assertion');
  assert.match(v.title, /^watchdog: BUG: soft lockup - cpu0:vmalloc stuck in (\S+): a design hook did not return$/);
  const label = /stuck in (\S+):/.exec(v.title)![1];
  assert.equal(v.thread, 'cpu0:vmalloc');
  assert.equal(v.details[0], `design hook did not return within 1 s (--execution-timeout) at step ${v.step} (label ${label})`);
  assert.doesNotMatch(v.details.join('\n'), /\d+(\.\d+)? ?ms\b/, 'no measured time in the report');
}

/**
 * A token recorded for never-yields.ts as if its pte_free_kernel had once returned: the schedule of
 * a twin with the same identity (name, source) and no hooks, which runs past the point where the
 * real module's hook loops. Before that point both make the same choices.
 */
function ordinaryNeverYieldsToken(): { token: string; steps: number } {
  const twin: Design = { ...neverYields, overrides: [], install: () => ({}) };
  const program = programOf(twin, loadScenario(SMALL));
  const scheduler = new RoundRobinScheduler();
  scheduler.beginExecution(0);
  const result = program.build(scheduler).run();
  return { token: encodeToken(program.identity, result.choices, replayLabel(NEVER, SMALL)), steps: result.steps };
}

test('kptsim run with a design hook that never returns: the watchdog ends the execution at that step, an assertion soft lockup naming thread, step and label, exit 1', () => {
  const r = kptsim(['run', '--design', NEVER, '--scenario', SMALL, '--execution-timeout', '1s', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.status, 'abandoned');
  assert.equal(result.violations.length, 1);
  assertSoftLockup(result.violations[0]);
  assert.equal(result.steps, result.violations[0].step - 1, 'the step that hung never ran');
  const text = kptsim(['run', '--design', NEVER, '--scenario', SMALL, '--execution-timeout', '1s']);
  assert.equal(text.code, 1, text.stderr);
  assert.match(text.stdout, /^assertion: watchdog: BUG: soft lockup - cpu0:vmalloc stuck in \S+: a design hook did not return$/m);
  assert.match(text.stdout, /^\d+ steps, abandoned;/m);
});

test('kptsim compare with a design hook that never returns: that design row ends at the soft lockup, the others run whole, exit 1', () => {
  const r = kptsim(['compare', '--designs', `upstream,${NEVER},${SYNC}`, '--scenario', SMALL, '--execution-timeout', '1s', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const { rows } = JSON.parse(r.stdout);
  assert.deepEqual(
    rows.map((x: { design: string; status: string }) => [x.design, x.status]),
    [
      ['upstream', 'quiescent'],
      ['never-yields', 'abandoned'],
      ['sync-invalidate', 'quiescent'],
    ],
  );
  assert.equal(rows[1].violations.length, 1);
  assertSoftLockup(rows[1].violations[0]);
});

test('kptsim replay of an ordinary token whose design hook now never returns: the replay ends at the soft lockup instead of hanging, exit 1', () => {
  const { token, steps } = ordinaryNeverYieldsToken();
  const r = kptsim(['replay', token, '--execution-timeout', '1s', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.status, 'abandoned');
  assert.equal(result.violations.length, 1);
  assertSoftLockup(result.violations[0]);
  assert.ok(result.steps < steps, `cut before the end of the recording (${result.steps} of ${steps} steps)`);
});

test('a design by path that behaves prints through the worker what it prints in this thread: run (with --perfetto and --html), compare and replay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-robust-run-'));
  try {
    const perfetto = join(dir, 'run.json');
    const html = join(dir, 'run.html');
    const run = kptsim(['run', '--design', SYNC, '--scenario', SMALL, '--seed', '3', '--json', '--perfetto', perfetto, '--html', html]);
    const { timeline, ...here } = await runJob({ kind: 'run', design: SYNC, scenario: SMALL, seed: 3, timeline: true }, CLI_INPUTS);
    assert.equal(run.code, here.violations.length > 0 ? 1 : 0, run.stderr);
    assert.equal(run.stdout, JSON.stringify(here, jsonBigint, 2) + '\n');
    assert.equal(readFileSync(perfetto, 'utf8'), perfettoJson({ command: 'kptsim run', design: here.design, scenario: here.scenario, seed: here.seed, timeline: timeline! }));
    assert.equal(readFileSync(html, 'utf8'), runHtml(here));

    const compare = kptsim(['compare', '--designs', `${SYNC},upstream`, '--scenario', SMALL, '--json']);
    assert.equal(compare.stdout, JSON.stringify(await runJob({ kind: 'compare', designs: [SYNC, 'upstream'], scenario: SMALL }, CLI_INPUTS), null, 2) + '\n');

    const design = await loadDesign(SYNC);
    const program = programOf(design, loadScenario(SMALL));
    const scheduler = new RoundRobinScheduler();
    scheduler.beginExecution(0);
    const token = encodeToken(program.identity, program.build(scheduler).run().choices, replayLabel(SYNC, SMALL));
    const replay = kptsim(['replay', token, '--json']);
    const { timeline: _, ...replayed } = await runJob({ kind: 'replay', token, timeline: false }, CLI_INPUTS);
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(replay.stdout, JSON.stringify(replayed, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kptsim study with a design hook that never returns: that design\'s cell ends at the soft lockup (a bug), the other designs\' cells run whole, exit 0', () => {
  const r = kptsim(['--designs', `upstream,${NEVER}`, '--scenarios', SMALL, '--budget', '2', '--workers', '2', '--execution-timeout', '1s', '--no-html', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [[upstream, never]] = JSON.parse(r.stdout).cells;
  assert.equal(upstream.metrics.status, 'quiescent');
  assert.equal(upstream.verdict.kind, 'not-found');
  assert.equal(never.metrics.status, 'abandoned');
  assertSoftLockup(never.metrics.violations[0]);
  assert.equal(never.verdict.kind, 'bug');
  assert.ok(never.check.violations.some((v: { kind: string; message: string }) => v.kind === 'assertion' && /soft lockup/.test(v.message)));
});

test('a design hook that calls process.exit() is the design\'s fault: an assertion at that step naming it, exit 1 — never a kptsim bug (70)', () => {
  const r = kptsim(['run', '--design', 'test/fixtures/designs/exits.ts', '--scenario', SMALL, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.status, 'abandoned');
  assert.equal(result.violations.length, 1);
  assert.match(result.violations[0].title, /^BUG: cpu0:vmalloc in \S+: a design hook ended the process \(process\.exit\(3\)\)$/);
});

test('a design module that loops at its top level is refused after --execution-timeout (exit 2, one line), never a hang', () => {
  const r = kptsim(['run', '--design', 'test/fixtures/designs/loops-at-load.ts', '--scenario', SMALL, '--execution-timeout', '1s']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'kptsim: --design test/fixtures/designs/loops-at-load.ts: the module did not finish loading within 1 s (--execution-timeout): a loop at its top level?\n');
  assert.equal(r.stdout, '');
});
