/**
 * The public Design API: a design module anywhere on disk — outside the repository, .ts or .js,
 * with or without a package.json of its own — imports only from 'kptsim' and runs under run,
 * check, compare and the study.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

const BODY = `
  name: 'outside',
  summary: 'invalidate the kernel half, then free: a design kept outside the repository',
  source: 'test/e2e/design-api.test.ts',
  overrides: ['pte_free_kernel'],
  install: () => ({
    *pte_free_kernel(k, mm, pt) {
      if (mm === k.init_mm) yield* iommu_sva_invalidate_kva_range(k, k.layout.PAGE_OFFSET, TLB_FLUSH_ALL);
      yield* generic_pte_free_kernel(k, mm, pt);
    },
  }),
`;
const IMPORTS = `import { TLB_FLUSH_ALL, generic_pte_free_kernel, iommu_sva_invalidate_kva_range } from 'kptsim';\n`;
const TS = `${IMPORTS.replace(' } from', ', type Design } from')}const design: Design = {${BODY}};\nexport default design;\n`;
const JS = `${IMPORTS}export default {${BODY}};\n`;

const root = mkdtempSync(join(tmpdir(), 'kptsim-design-api-'));
function designFile(variant: string, ext: 'ts' | 'js', packageJson: string | null): string {
  const dir = join(root, variant);
  mkdirSync(dir);
  if (packageJson !== null) writeFileSync(join(dir, 'package.json'), packageJson);
  const path = join(dir, `outside.${ext}`);
  writeFileSync(path, ext === 'ts' ? TS : JS);
  return path;
}

const variants: [string, string][] = [
  ['a .ts file with no package.json', designFile('bare-ts', 'ts', null)],
  ['a .js file with no package.json', designFile('bare-js', 'js', null)],
  ['a .ts file in a "type": "module" package', designFile('module-ts', 'ts', '{"name": "mine", "type": "module"}')],
  ['a .js file in a package.json without a type', designFile('untyped-js', 'js', '{"name": "mine"}')],
];

for (const [what, path] of variants) {
  test(`${what} outside the repository, importing only from 'kptsim', runs under run and check`, () => {
    const run = kptsim(['run', '--design', path, '--scenario', 'vfree-huge-vmap', '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^kptsim run: design outside, scenario vfree-huge-vmap, seed 0: no violation;/);
    const check = kptsim(['check', '--design', path, '--scenario', 'vfree-huge-vmap', '--budget', '2', '--json']);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(JSON.parse(check.stdout).verdict.kind, 'not-found');
  });
}

test('a design outside the repository runs under compare and the study beside the built-in ones', () => {
  const [, path] = variants[0];
  const compare = kptsim(['compare', '--designs', `${path},upstream`, '--scenario', 'vfree-huge-vmap', '--json']);
  assert.equal(compare.code, 0, compare.stderr);
  assert.deepEqual(JSON.parse(compare.stdout).rows.map((r: { design: string }) => r.design), ['outside', 'upstream']);
  const study = kptsim(['--designs', `${path},immediate`, '--scenarios', 'vfree-huge-vmap', '--budget', '2', '--workers', '2', '--no-html', '--json']);
  assert.equal(study.code, 0, study.stderr);
  const [[outside, immediate]] = JSON.parse(study.stdout).cells;
  assert.equal(outside.design, 'outside');
  assert.equal(outside.verdict.kind, 'not-found');
  assert.equal(immediate.verdict.kind, 'bug');
});
