#!/usr/bin/env node
// `npm run build`: compile src/ to dist/ (tsc, one .js per .ts, the same folders) and copy the
// .mjs entry points beside them, so `kptsim` and its runner workers start without compiling
// TypeScript. `--if-stale` builds only when a file in src/ (or the build's config) is newer than
// the last build: what `npm start`, `npm test` and the CLI tests run before using dist/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(ROOT, 'dist', '.built');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

function mtime(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

const sources = files(join(ROOT, 'src'));
const inputs = [...sources, join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json'), join(ROOT, 'package.json')];
if (process.argv.includes('--if-stale')) {
  const built = mtime(STAMP);
  if (built >= 0 && inputs.every((f) => mtime(f) <= built)) process.exit(0);
}
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
// The module hooks a design is loaded with are plain JavaScript already (runner-worker.mjs is the
// sources' worker entry only: the build's is runner-worker.js).
for (const file of ['cli/design-loader.mjs']) copyFileSync(join(ROOT, 'src', file), join(ROOT, 'dist', file));
writeFileSync(STAMP, '');

