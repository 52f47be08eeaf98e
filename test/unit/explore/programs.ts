/**
 * Small sim-only programs for the explore tests: threads that read and write shared JS objects,
 * locks through blockers, atomic sections through the preempt count. No kernel.
 */
import type { Program } from '../../../src/explore/index.ts';
import { Execution, NO_OBJECT, step, type Blocker, type ContextKind, type ObjectId, type PreemptMode, type Scheduler, type Sim, type Thread } from '../../../src/sim/index.ts';

/** The world of one execution: named shared variables and locks, each with its object id. */
export class World {
  readonly vars = new Map<string, { obj: ObjectId; value: number }>();
  readonly locks = new Map<string, { obj: ObjectId; holder: Thread | null; blocker: Blocker }>();
  finished = 0;
  /** Per-thread observations a test wants to compare across executions. */
  readonly logs: number[][] = [];

  constructor(readonly exec: Execution) {}

  v(name: string): { obj: ObjectId; value: number } {
    let v = this.vars.get(name);
    if (v === undefined) this.vars.set(name, (v = { obj: this.exec.objects.register(name), value: 0 }));
    return v;
  }

  lock(name: string) {
    let l = this.locks.get(name);
    if (l === undefined) {
      const lock = { obj: this.exec.objects.register(name), holder: null as Thread | null, blocker: null as unknown as Blocker };
      lock.blocker = { blocks: (t) => lock.holder !== null && lock.holder !== t, describe: () => `lock ${name}` };
      this.locks.set(name, (l = lock));
    }
    return l;
  }

  *read(name: string): Sim<number> {
    const v = this.v(name);
    yield step('read', 'read', v.obj);
    return v.value;
  }

  *write(name: string, value: number): Sim {
    const v = this.v(name);
    yield step('write', 'write', v.obj);
    v.value = value;
  }

  *acquire(name: string, t: Thread): Sim {
    const l = this.lock(name);
    yield step('lock', 'acquire', l.obj, l.blocker);
    l.holder = t;
  }

  *release(name: string): Sim {
    const l = this.lock(name);
    yield step('unlock', 'release', l.obj);
    l.holder = null;
  }

  /** A private step: touches nothing another thread sees. */
  *local(): Sim {
    yield step('local', 'local', NO_OBJECT);
  }
}

export interface ThreadSpec {
  readonly name: string;
  readonly cpu?: number;
  readonly kind?: ContextKind;
  readonly body: (w: World, t: Thread) => Sim;
}

/** A Program spawning `threads` in a fresh World each build; `onBuild` sees every world. */
export function program(identity: string, threads: readonly ThreadSpec[], onBuild?: (w: World) => void, preempt: PreemptMode = 'full'): Program {
  return {
    identity,
    build(scheduler: Scheduler): Execution {
      const exec = new Execution(scheduler, { stopOnViolation: true });
      exec.setPreemption(preempt);
      const w = new World(exec);
      threads.forEach((spec, i) => exec.spawn({ name: spec.name, cpu: spec.cpu ?? i, kind: spec.kind }, (t) => spec.body(w, t)));
      onBuild?.(w);
      return exec;
    },
  };
}

/** `n` threads that each take `steps` steps writing one shared variable (every step dependent). */
export function writers(counts: readonly number[], shared = true): Program {
  return program(
    `writers ${counts.join(',')} ${shared}`,
    counts.map((n, i) => ({
      name: `t${i}`,
      body: function* (w) {
        for (let k = 0; k < n; k++) yield* w.write(shared ? 'x' : `x${i}`, k);
      },
    })),
  );
}

/**
 * `n` threads incrementing a counter with a separate load and store (optionally under a lock);
 * the last one to finish checks that no increment was lost.
 */
export function counter(n: number, locked: boolean): Program {
  return program(
    `counter ${n} ${locked ? 'locked' : 'racy'}`,
    Array.from({ length: n }, (_, i) => ({
      name: `t${i}`,
      body: function* (w, t) {
        if (locked) yield* w.acquire('L', t);
        const seen = yield* w.read('count');
        yield* w.write('count', seen + 1);
        if (++w.finished === n && w.v('count').value !== n) {
          w.exec.report('assertion', `lost update: count is ${w.v('count').value} after ${n} increments`, []);
        }
        if (locked) yield* w.release('L');
      },
    })),
  );
}

/**
 * A depth-2 ordering bug: `writer` opens a window (flag = 1), works `work` private steps, closes
 * it; `reader` fails if it reads the flag inside the window. The reader must run after the
 * window opens and before it closes: two ordering constraints.
 */
export function window(work: number, readerWork = 0): Program {
  return program(`window ${work} ${readerWork}`, [
    {
      name: 'writer',
      body: function* (w) {
        yield* w.write('flag', 1);
        for (let k = 0; k < work; k++) yield* w.local();
        yield* w.write('flag', 0);
      },
    },
    {
      name: 'reader',
      body: function* (w) {
        for (let k = 0; k < readerWork; k++) yield* w.local();
        if ((yield* w.read('flag')) === 1) w.exec.report('assertion', 'reader saw the window open', []);
      },
    },
  ]);
}
