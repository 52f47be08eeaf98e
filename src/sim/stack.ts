/**
 * The kernel call stack of a simulated thread, and the allocation and free stacks the reports name
 * (KASAN's "Allocated by task …" / "Freed by task …", mm/kasan/report.c print_track(); the stack
 * depot, lib/stackdepot.c). docs/reports.md describes the reports built from them.
 *
 * A thread is a generator and each modelled kernel function a generator function (or a plain
 * function) it enters with `yield*` or a call. V8 resumes the innermost generator through the whole
 * delegation chain, so a JavaScript stack taken while the thread runs lists every kernel function it
 * is inside, innermost first — the kernel's own call stack, for free. Kept are the frames of the
 * modelled code: the kernel (src/kernel, without its scaffolding in src/kernel/model), the designs,
 * the hardware, and code outside kptsim's sources (a design given by path); the rest — the
 * simulator, the oracles, the workloads, generator plumbing (`.next`), node's internals — is not the
 * kernel's. Only function names are kept, never paths or line numbers, so a report reads the same on
 * every machine and checkout.
 *
 * A hook (src/kernel/model/hooks.ts) is entered through an anonymous wrapper that pushes the hook's
 * name onto Thread.frames: each wrapper frame is named from those, innermost first; the function
 * directly inside it is the hook's implementation and is not shown again when it has the hook's name
 * or is the generic one (`generic_<hook>`, src/kernel/model/generic-hooks.ts). A work function is the
 * outermost entry of Thread.frames (process_one_work pushes its name): an anonymous function outside
 * any hook takes the Thread.frames entries the wrappers left, outermost first. [modelling choice] An
 * anonymous helper a design calls outside a hook may take a work function's name; one inside a hook
 * is shown as the hook. An anonymous function that the scaffolding calls for its caller (the helper
 * list_step() runs) is the caller's own code, and is not shown either.
 *
 * Capturing costs a stack walk: an Execution does it only when asked (Execution.recordStacks), for
 * the one replay whose reports are printed, never while exploring.
 */
import { fileURLToPath } from 'node:url';
import type { ObjectId } from './step.ts';
import type { Thread } from './thread.ts';

/** kptsim's src/ folder (dist/ when running the build), as the paths of stack frames spell it. */
const SRC = fileURLToPath(new URL('../', import.meta.url));

/** The folders of src/ whose functions are the modelled machine and kernel. */
const MODELLED = new Set(['kernel', 'designs', 'hw']);

/** Files by their path in src/ without the extension: the same in the sources (.ts) and the build (dist/, .js). */
const HOOK_WRAPPER = 'kernel/model/hooks';
const SCAFFOLDING = 'kernel/model/';
const RESUME = 'sim/thread';

/** A frame of the JavaScript stack: its function's name (null: anonymous) and file (null: none, e.g. `<anonymous>`, `node:`). */
export interface JsFrame {
  readonly name: string | null;
  readonly file: string | null;
}

/** A frame classified: a hook wrapper, a modelled function, or the frame where the thread is resumed (the bottom). */
interface Classified {
  readonly name: string | null;
  readonly role: 'hook' | 'modelled' | 'scaffolding' | 'bottom';
}

function classify(f: JsFrame): Classified | null {
  // `<anonymous>`, `native`, `node:internal/...`: generator plumbing and the runtime.
  const file = f.file?.replace(/^file:\/\//, '');
  if (file === undefined || !file.startsWith('/')) return null;
  const rel = file.startsWith(SRC) ? file.slice(SRC.length) : null;
  const module = rel?.replace(/\.[cm]?[jt]s$/, '');
  if (module === RESUME) return { name: null, role: 'bottom' };
  if (module === HOOK_WRAPPER) return { name: null, role: 'hook' };
  if (rel?.startsWith(SCAFFOLDING) === true) return { name: null, role: 'scaffolding' };
  if (rel === null ? file.includes('/node_modules/') : !MODELLED.has(rel.slice(0, rel.indexOf('/')))) return null;
  return { name: f.name, role: 'modelled' };
}

const FRAME = /^\s*at (?:(.+?) \()?(.+?)(?::\d+:\d+)?\)?$/;

/**
 * The frames of an Error's `stack` text. Less exact than the structured stack captureStack() reads:
 * V8 writes an anonymous function called as a method by its call site (`work_struct.func`).
 */
export function parseStack(stack: string): JsFrame[] {
  const out: JsFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (m === null) continue;
    const name = m[1]?.replace(/^(?:new |async )/, '').replace(/^Object\./, '');
    out.push({ name: name === undefined || name.includes('<anonymous>') ? null : name, file: m[2] });
  }
  return out;
}

/**
 * The kernel call stack in `js` (a stack taken inside `thread`'s step, innermost first), innermost
 * first. `frames` is Thread.frames as it stood when the stack was taken; pass [] when it no longer
 * does (an exception unwound the hooks): their wrappers are then left out.
 */
export function kernelFrames(js: readonly JsFrame[], frames: readonly string[]): string[] {
  const found: Classified[] = [];
  for (const jf of js) {
    const f = classify(jf);
    if (f === null) continue;
    if (f.role === 'bottom') break;
    found.push(f);
  }
  const hooks = found.filter((f) => f.role === 'hook').length;
  // Wrappers take the innermost entries; a work function's name is the outermost.
  let hookAt = frames.length - hooks;
  const left = frames.slice(0, Math.max(0, hookAt));
  const out: string[] = [];
  let inside: string | null = null;
  let callback = false;
  for (let i = found.length - 1; i >= 0; i--) {
    const f = found[i];
    if (f.role === 'scaffolding') {
      callback = true;
      continue;
    }
    // An anonymous function the scaffolding calls is its caller's code (list_step()'s helper).
    const callersCode = callback && f.role === 'modelled' && f.name === null;
    callback = false;
    if (callersCode) continue;
    if (f.role === 'hook') {
      const name = hookAt >= 0 ? frames[hookAt] : undefined;
      hookAt++;
      if (name !== undefined) out.push(name);
      inside = name ?? null;
      continue;
    }
    const implementation = inside !== null;
    const hook = inside;
    inside = null;
    if (f.name === null) {
      const named = implementation ? undefined : left.shift();
      if (named !== undefined) out.push(named);
    } else if (!(implementation && (f.name === hook || f.name === `generic_${hook}`))) {
      out.push(f.name);
    }
  }
  return out.reverse();
}

/** A structured V8 frame as a JsFrame: a class's method as `Class.method`, an anonymous function as null. */
function jsFrame(site: NodeJS.CallSite): JsFrame {
  const name = site.getFunctionName();
  const type = site.getTypeName();
  const method = name !== null && type !== null && type !== 'Object' && !name.includes('.') && /^[A-Z]/.test(type);
  return { name: method ? `${type}.${name}` : name, file: site.getFileName() ?? null };
}

/**
 * The kernel call stack of `thread`, which must be the thread running now, innermost first; `below`
 * is a report helper that asks on behalf of its caller (as dump_stack() is not in the trace it
 * prints), left out with the frames it called.
 */
export function captureStack(thread: Thread, below: (...args: never[]) => unknown = captureStack): string[] {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = Infinity;
  Error.prepareStackTrace = (_err, sites) => sites;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.captureStackTrace(holder, below);
    return kernelFrames((holder.stack ?? []).map(jsFrame), thread.frames);
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
}

/** Who did something to an object, and the call stack then (KASAN's struct kasan_track). */
export interface Track {
  readonly pid: number;
  readonly comm: string;
  readonly cpu: number;
  readonly step: number;
  /** Innermost first. */
  readonly stack: readonly string[];
}

/** KASAN's print_track(): `Allocated by task 4 (cpu0:vmalloc) on cpu0 at step 320:` and the stack, one frame a line. */
export function trackLines(what: string, t: Track): string[] {
  return [`${what} by task ${t.pid} (${t.comm}) on cpu${t.cpu} at step ${t.step}:`, ...t.stack.map((f) => ` ${f}`)];
}

/**
 * The allocation and free tracks of objects (frames, by their ObjectId), kept while an execution
 * records stacks: the latest allocation, and the latest free with the allocation it undid.
 */
export class StackDepot {
  private readonly allocs = new Map<ObjectId, Track>();
  private readonly frees = new Map<ObjectId, { readonly free: Track; readonly alloc: Track | undefined }>();

  allocated(obj: ObjectId, track: Track): void {
    this.allocs.set(obj, track);
  }

  freed(obj: ObjectId, track: Track): void {
    this.frees.set(obj, { free: track, alloc: this.allocs.get(obj) });
  }

  /** The allocation the object's latest free undid, or its allocation when never freed; undefined: before any task ran (boot). */
  allocation(obj: ObjectId): Track | undefined {
    const f = this.frees.get(obj);
    return f === undefined ? this.allocs.get(obj) : f.alloc;
  }

  /** The object's "Allocated by" and, once freed, "Freed by" sections (KASAN's describe_object_stacks()). */
  describe(obj: ObjectId): string[] {
    const alloc = this.allocation(obj);
    const free = this.frees.get(obj)?.free;
    return [
      ...(alloc === undefined ? ['Allocated before any task ran (boot): no allocation stack'] : trackLines('Allocated', alloc)),
      ...(free === undefined ? [] : trackLines('Freed', free)),
    ];
  }
}
