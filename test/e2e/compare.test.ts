import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

test('kptsim compare prints one aligned row per design, in the order given, and --json the same record', () => {
  const r = kptsim(['compare', '--designs', 'seed,upstream', '--scenario', 'vfree-huge-vmap']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^(seed|upstream) /.test(l));
  assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), ['seed', 'upstream']);
  const json = JSON.parse(kptsim(['compare', '--designs', 'seed,upstream', '--scenario', 'vfree-huge-vmap', '--json']).stdout);
  assert.deepEqual(json.rows.map((x: { design: string }) => x.design), ['seed', 'upstream']);
  assert.equal(json.rows[0].invalidations.piotlbPasid, 1, 'seed invalidates with the (0, ULONG_MAX) flush-all');
  assert.equal(json.rows[1].invalidations.piotlbPage, 1, 'upstream with (PAGE_OFFSET, ULONG_MAX): page-selective');
});

test('a cost file is validated: an unknown key is exit 2 naming the file and the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-costs-'));
  const file = join(dir, 'costs.yaml');
  writeFileSync(file, 'pageAloc: 100\n');
  const r = kptsim(['compare', '--designs', 'seed', '--scenario', 'vfree-huge-vmap', '--costs', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /costs\.yaml/);
  assert.match(r.stderr, /pageAloc/);
  assert.equal(r.stdout, '');
});
