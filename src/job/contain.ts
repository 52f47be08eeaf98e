/**
 * A user's design module, wrapped so that its faults stay inside the execution they happen in.
 * Built-in designs are trusted and run bare. Every hook the design returns is checked as it runs:
 *  - a hook that is not a generator function, or yields something other than a step, throws a
 *    TypeError in the thread that called it — the execution reports that as an `assertion` oops at
 *    that step (Execution.oops), like any other exception in a hook;
 *  - a Blocker the design made is asked from outside any thread (is the thread runnable?): if
 *    blocks() throws, the thread is let run and the error is thrown in it when it resumes, so it
 *    too becomes the oops of that thread at that step; a describe() that throws is described;
 *  - install() runs once on the booting kernel, outside any thread: a throw there means the design
 *    cannot be installed at all, which is bad input (JobInputError, exit 2).
 * A hook that never returns (loops without yielding) is the watchdog's case (src/cli/runner.ts, src/job/guard.ts).
 */
import type { Design } from '../designs/index.ts';
import type { KernelHooks } from '../kernel/model/hooks.ts';
import type { Blocker, Sim, Step } from '../sim/index.ts';
import { JobInputError } from './jobs.ts';

const ACCESS = new Set(['read', 'write', 'acquire', 'release', 'local']);

export function containedDesign(design: Design, spec: string): Design {
  return {
    ...design,
    install(k) {
      let hooks: Partial<KernelHooks>;
      try {
        hooks = design.install(k);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        throw new JobInputError(`--design ${spec}: install() threw ${e.name}: ${e.message.split('\n')[0]}`);
      }
      if (typeof hooks !== 'object' || hooks === null) throw new JobInputError(`--design ${spec}: install() returned ${String(hooks)}, expected an object of hooks`);
      const contained: Record<string, unknown> = {};
      for (const [name, hook] of Object.entries(hooks)) contained[name] = typeof hook === 'function' ? containedHook(name, hook as (...a: unknown[]) => unknown) : hook;
      return contained as Partial<KernelHooks>;
    },
  };
}

function containedHook(name: string, hook: (...args: unknown[]) => unknown) {
  return function* (...args: unknown[]): Sim<unknown> {
    const g = hook(...args) as Sim<unknown> | undefined;
    if (typeof g !== 'object' || g === null || typeof (g as { next?: unknown }).next !== 'function') {
      throw new TypeError(`design hook ${name} returned ${g === null ? 'null' : typeof g}, not a generator (declare it function*)`);
    }
    // Kernel code drives hooks with next() alone (yield*), never throw() or return().
    for (;;) {
      const r = g.next();
      if (r.done) return r.value;
      const fault = { error: undefined as unknown };
      yield checkedStep(name, r.value, fault);
      if (fault.error !== undefined) throw fault.error;
    }
  };
}

/** Why `value` is not a step, or null when it is one. */
function notAStep(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return describe(value);
  const s = value as Partial<Step>;
  if (typeof s.label !== 'string') return `a step whose label is ${describe(s.label)}`;
  if (!ACCESS.has(s.access as string)) return `step '${s.label}' with access ${describe(s.access)} (expected ${[...ACCESS].join(', ')})`;
  if (!Number.isSafeInteger(s.obj) || (s.obj as number) < -1) {
    return `step '${s.label}' with obj ${describe(s.obj)} (expected a frame number, an id from exec.objects.register, or -1)`;
  }
  return null;
}

function checkedStep(hook: string, value: unknown, fault: { error: unknown }): Step {
  const wrong = notAStep(value);
  if (wrong !== null) throw new TypeError(`design hook ${hook} yielded ${wrong}, not a step(label, access, obj)`);
  const s = value as Step;
  if (s.blocker === undefined) return s;
  const blocker = s.blocker;
  if (typeof blocker?.blocks !== 'function' || typeof blocker.describe !== 'function') {
    throw new TypeError(`design hook ${hook} yielded a step '${s.label}' whose blocker lacks blocks(thread) or describe()`);
  }
  const guarded: Blocker = {
    blocks(thread) {
      if (fault.error !== undefined) return false;
      try {
        return blocker.blocks(thread) === true;
      } catch (err) {
        fault.error = err ?? new Error('blocks() threw a nullish value');
        return false;
      }
    },
    describe() {
      try {
        return String(blocker.describe());
      } catch (err) {
        return `(the design's describe() threw: ${err instanceof Error ? err.message : String(err)})`;
      }
    },
  };
  return { label: s.label, access: s.access, obj: s.obj, blocker: guarded };
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'string') return `'${value.slice(0, 20)}'`;
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).slice(0, 5).join(', ')}]`;
  return `${typeof value} ${String(value).slice(0, 20)}`;
}
