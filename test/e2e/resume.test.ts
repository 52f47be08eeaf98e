/**
 * `kptsim check --checkpoint/--resume` and Ctrl-C, as a user meets them: a run killed mid-way
 * (SIGKILL: nothing of the process survives but the checkpoint file) or interrupted (SIGINT)
 * and resumed ends with the same result as a run never interrupted — the same JSON, byte for
 * byte, apart from the wall-clock elapsedMs.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kptsim, kptsimChild } from '../helpers/cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The result without its timing. */
function strip(json: string): string {
  const { elapsedMs: _t, ...rest } = JSON.parse(json);
  return JSON.stringify(rest);
}

function executionsIn(checkpoint: string): number {
  return JSON.parse(readFileSync(checkpoint, 'utf8')).state.executions;
}

/** Starts the CLI, sends `signal` as soon as `file` exists, and resolves with how it ended. */
function interruptWhenSaved(args: readonly string[], file: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = kptsimChild(args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if (existsSync(file)) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 10);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearInterval(poll);
      resolve({ code, signal: sig, stdout, stderr });
    });
  });
}

const SMALL = 'examples/scenarios/vfree-small.yaml';

for (const [strategy, design, scenario, budget] of [
  ['dpor', 'v3', SMALL, '150'],
  ['random', 'immediate', 'vfree-huge-vmap', '40'],
] as const) {
  test(`check --strategy ${strategy} killed (SIGKILL) after its first checkpoint and resumed gives the uninterrupted result`, async () => {
    const args = ['check', '--design', design, '--scenario', scenario, '--strategy', strategy, '--budget', budget, '--json'];
    const whole = kptsim(args);
    const dir = mkdtempSync(join(tmpdir(), 'kptsim-resume-'));
    const cp = join(dir, 'run.checkpoint');
    const killed = await interruptWhenSaved([...args, '--checkpoint', cp, '--checkpoint-every', '10'], cp, 'SIGKILL');
    assert.equal(killed.signal, 'SIGKILL', 'the run was still going when killed');
    const saved = executionsIn(cp);
    assert.ok(saved > 0 && saved < Number(budget), `killed mid-way (checkpoint at ${saved})`);
    const resumed = kptsim(['check', '--resume', cp, '--json']);
    assert.equal(resumed.code, whole.code, resumed.stderr);
    assert.equal(strip(resumed.stdout), strip(whole.stdout));
    if (strategy === 'random') assert.ok(JSON.parse(whole.stdout).violations.length > 0, 'violations found before the kill are carried over');
  });
}

test('Ctrl-C (SIGINT) stops the run, prints what was covered, saves the checkpoint; resuming finishes the same run', async () => {
  const args = ['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--strategy', 'pct', '--budget', '100'];
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-sigint-'));
  const cp = join(dir, 'run.checkpoint');
  const stopped = await interruptWhenSaved([...args, '--checkpoint', cp, '--checkpoint-every', '5'], cp, 'SIGINT');
  assert.ok(stopped.code === 1 || stopped.code === 130, `exit ${stopped.code}: ${stopped.stderr}`);
  const covered = /(\d+) executions, not complete \(stopped by interrupted\)/.exec(stopped.stdout);
  assert.ok(covered, stopped.stdout);
  assert.match(stopped.stdout, /^interrupted: \d+ executions covered/m);
  assert.match(stopped.stdout, new RegExp(`continue with: kptsim check --resume ${cp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.equal(stopped.code === 1, /kptsim replay kpt1\./.test(stopped.stdout), 'exit 1 exactly when a violation (with its token) was printed');
  assert.equal(executionsIn(cp), Number(covered[1]), 'the checkpoint holds what was covered');
  const whole = kptsim([...args, '--json']);
  const resumed = kptsim(['check', '--resume', cp, '--json']);
  assert.equal(resumed.code, whole.code, resumed.stderr);
  assert.equal(strip(resumed.stdout), strip(whole.stdout));
});

test('Ctrl-C with --workers 2: every worker stops after its current execution and the covered part is printed', async () => {
  const args = ['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--strategy', 'random', '--budget', '1000000', '--workers', '2'];
  const stopped = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = kptsimChild(args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // Long enough for the workers to be exploring; the result must not depend on exactly when.
    const timer = setTimeout(() => child.kill('SIGINT'), 6000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  assert.match(stopped.stderr, /interrupted: the workers stop after their current execution/);
  const covered = /(\d+) executions, not complete \(stopped by interrupted\)/.exec(stopped.stdout);
  assert.ok(covered, `${stopped.stdout}\n${stopped.stderr}`);
  assert.ok(Number(covered[1]) < 1_000_000);
  assert.equal(stopped.code, Number(covered[1]) > 0 ? 1 : 130, 'immediate shows its use-after-free in any execution');
});

test('--resume refuses a changed scenario file, a damaged checkpoint and flags given again: exit 2, one line, nothing written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-refuse-'));
  const scenario = join(dir, 'small.yaml');
  writeFileSync(scenario, readFileSync(join(ROOT, SMALL), 'utf8'));
  const cp = join(dir, 'run.checkpoint');
  const first = kptsim(['check', '--design', 'v3', '--scenario', scenario, '--strategy', 'random', '--budget', '3', '--checkpoint', cp, '--json']);
  assert.equal(first.code, 1, `v3's uncovered free is predicted on every execution: ${first.stderr}`);
  const saved = readFileSync(cp, 'utf8');

  const again = kptsim(['check', '--resume', cp, '--seed', '4']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^kptsim: --resume takes the run's inputs from .*; do not give --seed again\n$/);

  writeFileSync(scenario, readFileSync(scenario, 'utf8') + '\n# edited\n');
  const changed = kptsim(['check', '--resume', cp]);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /^kptsim: --resume .*: inputHash: the design v3 or the scenario .* changed since the checkpoint was written; start a new run\n$/);
  assert.equal(changed.stdout, '');
  assert.equal(readFileSync(cp, 'utf8'), saved, 'a refused resume does not touch the checkpoint');

  const doc = JSON.parse(saved);
  for (const [mutate, field] of [
    [(d: any) => (d.state.strategy.executions = -1), /state\.strategy\.executions: /],
    [(d: any) => (d.version = 9), /version: this kptsim reads checkpoint version 1, the file is version 9/],
    [(d: any) => (d.state.strategy = { name: 'dfs', executions: 0, cut: false, finished: false, stack: [] }), /state\.strategy\.name: dfs does not match inputs\.strategy random/],
    [(d: any) => delete d.inputs.seed, /inputs\.seed: /],
  ] as const) {
    const bad = structuredClone(doc);
    mutate(bad);
    const f = join(dir, 'bad.checkpoint');
    writeFileSync(f, JSON.stringify(bad));
    const r = kptsim(['check', '--resume', f]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, field);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
