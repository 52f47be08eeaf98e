/**
 * Output files (--perfetto, --html, --checkpoint, the study's report.html): where each goes, and
 * a command's outputs written together, whole or not at all.
 *
 * Where an output path leads:
 *
 *   `-` (or /dev/stdout, /dev/fd/1,   standard output (`run` then prints nothing else there:
 *   /proc/self/fd/1)                   docs/usage.md, Output files)
 *   a regular file, or no file yet     written to a temporary name beside it, then rename(2) over
 *                                      it in one step: a reader never sees half a file
 *   a symbolic link                    followed, and its target written by these rules; the link
 *                                      itself stays (a dangling link: its target is created)
 *   another existing file: a FIFO, a   opened and written in place (what a shell's `>` does),
 *   character device (/dev/null), or   never replaced by a renamed regular file
 *   a link through /proc (a file
 *   descriptor of this process)
 *   a directory                        refused (EISDIR)
 *
 * writeOutputs writes all of a command's outputs once everything is rendered: every temporary file
 * first, then the in-place outputs and standard output, then the renames. When a write fails, the
 * temporary files are removed and so is every file this call created, so a failed command leaves
 * no output behind; a pre-existing regular file is only replaced by the last step, the renames
 * (which fail only if the directory changes under us). Outputs written in place cannot be taken
 * back. A system error is one line naming the flag: `--perfetto: cannot write FILE: ENOENT`
 * (exit 2); any other exception is a kptsim bug and is thrown as it is (exit 70), after the same
 * clean-up. writeFileAtomic is the one-output case (each call its own set).
 */
import { lstatSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { UsageError } from './context.ts';

/** One output of a command: the text for `path`, named by the flag that asked for it. */
export interface Output {
  readonly path: string;
  readonly text: string;
  readonly flag: string;
}

const STDOUT_NAMES: ReadonlySet<string> = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);

/** Whether an output path means standard output. */
export function isStdout(path: string): boolean {
  return STDOUT_NAMES.has(path);
}

/**
 * Refuses, before anything runs, a command's outputs (flag → path, undefined when not asked for)
 * that would put two documents on standard output: two of them given as -, or one and --json
 * (`json`). Two documents on one stream are neither (exit 2).
 */
export function refuseTwoOnStdout(paths: Readonly<Record<string, string | undefined>>, json = false): void {
  const flags = Object.entries(paths)
    .filter(([, path]) => path !== undefined && isStdout(path))
    .map(([flag]) => flag);
  if (flags.length > 1) throw new UsageError(`${flags.join(' and ')}: only one can go to standard output`);
  if (flags.length === 1 && json) throw new UsageError(`--json and ${flags[0]} -: only one can go to standard output`);
}

type Destination = { kind: 'stdout' } | { kind: 'in-place' } | { kind: 'file'; target: string; exists: boolean };

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** Where `path` leads (see the header); throws the system error for a directory or a link loop. */
function destination(path: string): Destination {
  if (isStdout(path)) return { kind: 'stdout' };
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
  if (stat?.isDirectory()) throw errno('EISDIR');
  if (stat !== undefined && !stat.isFile()) return { kind: 'in-place' };
  // A regular file or nothing yet, perhaps behind symbolic links: follow them one by one (a link
  // to a name that does not exist yet still names where to create it).
  let target = path;
  for (let hops = 0; hops <= 40; hops++) {
    // /proc/self/fd/N and its kin are this process's open files, not names to rename over.
    if (resolve(target).startsWith('/proc/')) return { kind: 'in-place' };
    let link;
    try {
      link = lstatSync(target);
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
      return { kind: 'file', target, exists: false };
    }
    if (!link.isSymbolicLink()) return { kind: 'file', target, exists: stat !== undefined };
    target = resolve(dirname(target), readlinkSync(target));
  }
  throw errno('ELOOP');
}

/**
 * Writes a command's outputs (see the header): all of them, or, on a failure, none that this call
 * created. `stdout` receives an output whose path is `-`; when none is, and the command has a
 * `report` (its text or JSON), the report goes there — one of the outputs, so a failure to print it
 * leaves no file behind either. The report is rendered only when it is printed.
 */
export function writeOutputs(files: readonly Output[], stdout: (text: string) => void = (text) => void process.stdout.write(text), report?: () => string): void {
  const outputs = report === undefined || files.some((o) => isStdout(o.path)) ? files : [...files, { path: '-', text: report(), flag: 'standard output' }];
  const toStdout = outputs.filter((o) => isStdout(o.path)).map((o) => o.flag);
  if (toStdout.length > 1) throw new UsageError(`${toStdout.join(' and ')}: only one can go to standard output`);
  const temporaries = new Set<string>();
  const created: string[] = [];
  /**
   * Runs one write of `o`; a failure undoes what this call did. A system error (ENOENT, EACCES,
   * ENOSPC, EPIPE...) is one line naming the flag; anything else is a bug, thrown as it is.
   */
  const attempt = <T>(o: Output, write: () => T): T => {
    try {
      return write();
    } catch (err) {
      for (const path of [...temporaries, ...created]) rmSync(path, { force: true });
      const code = codeOf(err);
      if (typeof code !== 'string') throw err;
      throw new UsageError(`${o.flag}: cannot write ${o.path}: ${code}`);
    }
  };
  const planned = outputs.map((o, i) => ({ o, to: attempt(o, () => destination(o.path)), tmp: '', i }));
  for (const p of planned) {
    if (p.to.kind !== 'file') continue;
    const { target } = p.to;
    p.tmp = resolve(dirname(target), `.${basename(target)}.${process.pid}.${p.i}.tmp`);
    attempt(p.o, () => {
      temporaries.add(p.tmp);
      writeFileSync(p.tmp, p.o.text);
    });
  }
  for (const p of planned) {
    if (p.to.kind === 'in-place') attempt(p.o, () => writeFileSync(p.o.path, p.o.text));
    else if (p.to.kind === 'stdout') attempt(p.o, () => stdout(p.o.text));
  }
  for (const p of planned) {
    if (p.to.kind !== 'file') continue;
    const { target, exists } = p.to;
    attempt(p.o, () => renameSync(p.tmp, target));
    temporaries.delete(p.tmp);
    if (!exists) created.push(target);
  }
}

/** One output written by writeOutputs' rules (a checkpoint, a single report). */
export function writeFileAtomic(path: string, text: string, flag = 'output', stdout?: (text: string) => void): void {
  writeOutputs([{ path, text, flag }], stdout);
}
