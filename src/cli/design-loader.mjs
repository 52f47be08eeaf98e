// Module hooks for loading a user's design module (registered by src/cli/load.ts before it
// imports one): `kptsim` resolves to the package's public entry wherever the design lives, and a
// design file outside any package that says its type (no package.json, or one without "type") is
// loaded as an ES module, whatever Node would default it to, so `import` works in it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let entry = '';

export function initialize(data) {
  entry = data.entry;
}

/** Whether the nearest package.json above `file` declares a module type. */
function typed(file) {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type !== undefined;
    } catch {
      // no package.json here (or an unreadable one): look further up
    }
    if (dirname(dir) === dir) return false;
  }
}

export async function resolve(specifier, context, next) {
  if (specifier === 'kptsim') return next(entry, context);
  const resolved = await next(specifier, context);
  if (!resolved.url.startsWith('file:') || resolved.url.includes('/node_modules/') || !/\.(m?ts|js)$/.test(resolved.url)) return resolved;
  const file = fileURLToPath(resolved.url);
  return typed(file) ? resolved : { ...resolved, format: 'module' };
}
