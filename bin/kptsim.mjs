#!/usr/bin/env node
// The installed `kptsim` command: the build (dist/, made by `npm ci` / `npm run build`), or, in a
// checkout never built, the TypeScript sources through tsx's loader.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  (await import('tsx/esm/api')).register();
  await import('../src/cli/main.ts');
}
