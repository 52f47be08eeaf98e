/**
 * Where `kptsim run`'s output files go (src/cli/output.ts): `-` is standard output; a FIFO, a
 * character device or a symbolic link is written through, never replaced; a command that fails
 * leaves none of the files it created (and has replaced none it found); a long run's outputs are
 * written whole.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { kptsim } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'kptsim-output-'));
const RUN = ['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap'];
const temporaries = (where: string) => readdirSync(where).filter((f) => f.endsWith('.tmp'));

/** The Perfetto trace of RUN, written to a regular file: what every other destination must receive. */
let expected: string | undefined;
function expectedTrace(): string {
  if (expected === undefined) {
    const file = join(dir, 'expected.json');
    const r = kptsim([...RUN, '--perfetto', file]);
    assert.equal(r.code, 0, r.stderr);
    expected = readFileSync(file, 'utf8');
  }
  return expected;
}

test('--html - prints the HTML report on standard output and nothing else there; --perfetto - the trace', () => {
  const html = kptsim(['run', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--html', '-']);
  assert.equal(html.code, 1, html.stderr);
  assert.ok(html.stdout.startsWith('<!DOCTYPE html>'), html.stdout.slice(0, 200));
  assert.match(html.stdout, /<\/html>\n?$/);
  assert.doesNotMatch(html.stdout, /^kptsim run:/m, 'the text report is not mixed in');
  assert.equal(html.stderr, '');
  const trace = kptsim([...RUN, '--perfetto', '-']);
  assert.equal(trace.code, 0, trace.stderr);
  assert.equal(trace.stdout, expectedTrace());
});

test('two outputs on standard output, or one with --json, are refused before the run: exit 2, one line', () => {
  for (const extra of [
    ['--html', '-', '--perfetto', '-'],
    ['--html', '-', '--perfetto', '/dev/stdout'],
    ['--perfetto', '-', '--json'],
  ]) {
    const r = kptsim([...RUN, ...extra]);
    assert.equal(r.code, 2, extra.join(' '));
    assert.match(r.stderr, /^kptsim: --\S+ and --\S+( -)?: only one can go to standard output\n$/);
    assert.equal(r.stdout, '');
  }
});

test('--perfetto to a FIFO writes into it (a reader gets the whole trace) and the FIFO stays a FIFO', async () => {
  const fifo = join(dir, 'trace.fifo');
  const received = join(dir, 'from-fifo.json');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'reader', fifo, received], { stdio: 'ignore' });
  const readerDone = new Promise<number | null>((resolve) => reader.on('exit', (code) => resolve(code)));
  const r = kptsim([...RUN, '--perfetto', fifo]);
  // A FIFO replaced by a renamed file never gets a writer: its reader would wait forever.
  const timer = setTimeout(() => reader.kill(), 10_000);
  const readerCode = await readerDone;
  clearTimeout(timer);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was replaced');
  assert.equal(readerCode, 0, 'the reader got end of file');
  assert.equal(readFileSync(received, 'utf8'), expectedTrace());
});

test('--perfetto through a symbolic link writes its target and leaves the link; a dangling link gets its target created', () => {
  const target = join(dir, 'target.json');
  writeFileSync(target, 'old\n');
  const link = join(dir, 'link.json');
  symlinkSync('target.json', link);
  const r = kptsim([...RUN, '--perfetto', link]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link was replaced by a file');
  assert.equal(readlinkSync(link), 'target.json');
  assert.equal(readFileSync(target, 'utf8'), expectedTrace());

  const dangling = join(dir, 'dangling.json');
  symlinkSync('not-yet.json', dangling);
  const d = kptsim([...RUN, '--perfetto', dangling]);
  assert.equal(d.code, 0, d.stderr);
  assert.ok(lstatSync(dangling).isSymbolicLink());
  assert.equal(readFileSync(join(dir, 'not-yet.json'), 'utf8'), expectedTrace());
  assert.deepEqual(temporaries(dir), []);
});

/** Whether writing to a character device node made here (a private /dev/null) left it a device. */
let privateDeviceKept = false;

test('--perfetto to a character device (a private null device node) writes into it and leaves the node a device', (t) => {
  const node = join(dir, 'null');
  if (spawnSync('mknod', ['-m', '666', node, 'c', '1', '3']).status !== 0) {
    t.skip('mknod is not permitted here');
    return;
  }
  const r = kptsim([...RUN, '--perfetto', node]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(node).isCharacterDevice(), 'the device node was replaced by a regular file');
  privateDeviceKept = true;
});

test('--perfetto /dev/null: exit 0, and /dev/null is still the null character device', (t) => {
  // Only once the private node above showed the device is written in place: a kptsim that replaced
  // device nodes would replace the machine's /dev/null (as root).
  if (!privateDeviceKept) {
    t.skip('the private device node test did not pass');
    return;
  }
  const before = statSync('/dev/null');
  const r = kptsim([...RUN, '--perfetto', '/dev/null']);
  assert.equal(r.code, 0, r.stderr);
  const after = statSync('/dev/null');
  assert.ok(after.isCharacterDevice());
  assert.equal(after.rdev, before.rdev);
  assert.equal(after.ino, before.ino);
});

test('a failed output leaves none of the others behind: no file created, a pre-existing file not replaced, exit 2', () => {
  const fresh = join(dir, 'fresh-trace.json');
  const r = kptsim([...RUN, '--perfetto', fresh, '--html', join(dir, 'no-such-dir', 'report.html')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kptsim: --html: cannot write .*no-such-dir\/report\.html: ENOENT\n$/);
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(fresh), 'the Perfetto trace was left behind');

  const kept = join(dir, 'kept-trace.json');
  writeFileSync(kept, 'the user\'s file\n');
  const again = kptsim([...RUN, '--perfetto', kept, '--html', join(dir, 'no-such-dir', 'report.html')]);
  assert.equal(again.code, 2);
  assert.equal(readFileSync(kept, 'utf8'), 'the user\'s file\n');
  assert.deepEqual(temporaries(dir), []);
});

test('a run that fails with an internal error after rendering (exit 70) leaves none of its output files', async () => {
  const perfetto = join(dir, 'crash-trace.json');
  const html = join(dir, 'crash.html');
  let err = '';
  const code = await main([...RUN, '--perfetto', perfetto, '--html', html], {
    exitCode: 0,
    out: () => {
      throw new Error('fixture: standard output broke');
    },
    err: (s) => void (err += s),
  });
  assert.equal(code, 70, err);
  assert.match(err, /fixture: standard output broke/);
  assert.ok(!existsSync(perfetto), 'the Perfetto trace was left behind');
  assert.ok(!existsSync(html), 'the HTML report was left behind');
  assert.deepEqual(temporaries(dir), []);
});

test('a long run (vmalloc-churn, 128 rounds) with --trace, --perfetto and --html: exit 0 or 1, every output whole', () => {
  const scenario = join(dir, 'big.yaml');
  writeFileSync(scenario, 'name: big\nworkload: vmalloc-churn\nparams:\n  rounds: 128\n');
  const perfetto = join(dir, 'big-trace.json');
  const html = join(dir, 'big.html');
  const r = kptsim(['run', '--design', 'upstream', '--scenario', scenario, '--trace', '--perfetto', perfetto, '--html', html]);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.ok(lines.length > 100_000, `${lines.length} lines: the trace is printed`);
  assert.match(r.stdout, /^memory: \d+ free pages/m, 'the metrics follow the trace');
  const trace = JSON.parse(readFileSync(perfetto, 'utf8')) as { traceEvents: unknown[] };
  assert.ok(trace.traceEvents.length > 100_000);
  const page = readFileSync(html, 'utf8');
  assert.ok(page.startsWith('<!DOCTYPE html>'));
  assert.match(page, /<\/html>\n?$/);
  assert.deepEqual(temporaries(dir), []);
  rmSync(perfetto); // about 100 MB
});
