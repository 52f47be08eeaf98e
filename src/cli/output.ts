/**
 * Output files (--perfetto, --html, --checkpoint, report.html): written whole or not at all. The
 * text goes to a temporary name beside the target, then rename(2) replaces the target in one step,
 * so an interrupted or failed run never leaves a half-written file where a reader expects one.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './context.ts';

export function writeFileAtomic(path: string, text: string, flag = 'output'): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new UsageError(`${flag}: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
