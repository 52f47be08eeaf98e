/**
 * What a new user meets in the first hour: a bound is not a bug, running out of memory is not the
 * design's leak, a bound of zero is refused, and an input that is not a file, or a design module
 * that does not compile, is one line saying exactly that.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'kptsim-first-hour-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('the step bound cuts a correct design\'s long execution: incomplete, not a violation (exit 0), and the verdict says how many were cut', () => {
  const churn = file('churn32.yaml', 'name: churn32\nworkload: vmalloc-churn\nparams: { rounds: 32 }\n');
  const r = kptsim(['check', '--design', 'upstream', '--scenario', churn, '--budget', '1', '--max-steps', '20000', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(result.violations, []);
  assert.equal(result.stepBound, 1);
  assert.equal(result.verdict.summary, 'not found in 1 (1 cut by the step bound)');
  assert.match(result.verdict.detail, /1 of the 1 executions were cut by the step bound \(--max-steps\) before they ended: what they did not reach is not covered/);
});

test('a scenario too big for its frames makes allocations fail, as Linux does: no leak is blamed on the design, and the run counts the failures', () => {
  const small = file('churn52.yaml', 'name: churn52\nworkload: vmalloc-churn\nparams: { allocs: 52 }\nconfig: { frames: 2048 }\n');
  const r = kptsim(['run', '--design', 'upstream', '--scenario', small, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(result.violations, [], 'vmalloc gives back what it took when an allocation fails');
  assert.ok(result.memory.allocationFailures > 0, JSON.stringify(result.memory));
});

test('a bound of zero would run nothing and claim nothing found: --budget 0 and --time 0s are refused (exit 2)', () => {
  for (const bound of [['--budget', '0'], ['--time', '0s']]) {
    const r = kptsim(['check', '--design', 'v3', '--scenario', 'vfree-huge-vmap', ...bound]);
    assert.equal(r.code, 2, bound.join(' '));
    assert.match(r.stderr, new RegExp(`${bound[0]} expects`));
    assert.equal(r.stdout, '');
  }
  assert.equal(kptsim(['--budget', '0', '--no-html']).code, 2, 'the study too');
});

test('a directory given as a file, and a design module with a syntax error, are one line saying what they are', () => {
  const d = kptsim(['check', '--design', 'upstream', '--scenario', dir]);
  assert.equal(d.code, 2);
  assert.equal(d.stderr, `kptsim: --scenario: ${dir} is a directory, not a file\n`);
  const broken = file('broken.ts', 'export default {\n  name: "x",,\n};\n');
  const s = kptsim(['run', '--design', broken, '--scenario', 'vfree-huge-vmap']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /^kptsim: --design \S+broken\.ts: the module failed to load: \S*broken\.ts:2:\d+: .+\n$/);
});

test('a design that frees the wrong table is a set of findings against it (KASAN use-after-free on the freed table, the hazard), never a kptsim crash', () => {
  const r = kptsim(['check', '--design', 'test/fixtures/designs/frees-wrong-table.ts', '--scenario', 'vfree-huge-vmap', '--budget', '2', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const kinds = new Set(JSON.parse(r.stdout).violations.map((v: { kind: string }) => v.kind));
  assert.ok(kinds.has('use-after-free') && kinds.has('iommu-uncovered-free'), [...kinds].join(', '));
});
