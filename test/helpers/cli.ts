/**
 * Runs the kptsim CLI in a child process, as a user would: the build (dist/, `npm run build`),
 * rebuilt first if a source is newer, so a test of the command tests what `kptsim` runs.
 */
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The CLI's entry in the build. */
export const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

let built = false;

/** Builds dist/ once per test process, when a source is newer than the last build. */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url)), '--if-stale'], { stdio: 'inherit' });
  built = true;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function kptsim(args: readonly string[], options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {}): CliRun {
  ensureBuilt();
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? ROOT, env: options.env, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI as a running child (signals, partial output). */
export function kptsimChild(args: readonly string[]): ChildProcessWithoutNullStreams {
  ensureBuilt();
  return spawn(process.execPath, [MAIN, ...args], { cwd: ROOT });
}
