/**
 * Where the CLI's other entry points are, in the sources (src/, run through tsx) and in the build
 * (dist/, compiled by `npm run build`, run by `kptsim` and the tests): the same folders, other
 * extensions. The build's runner workers need no TypeScript loader; the sources' register tsx first.
 */
export const RUNNING_SOURCES = import.meta.url.endsWith('.ts');

/** The runner's worker entry. */
export const RUNNER_WORKER = new URL(RUNNING_SOURCES ? './runner-worker.mjs' : './runner-worker.js', import.meta.url);

/** The module hooks that load a user's design (design-loader.mjs, copied beside the build). */
export const DESIGN_LOADER = new URL('./design-loader.mjs', import.meta.url);

/** The package's public entry, which `import … from 'kptsim'` names in a design module: the running copy's, so a design shares its modules. */
export const PUBLIC_ENTRY = new URL(RUNNING_SOURCES ? '../index.ts' : '../index.js', import.meta.url).href;
