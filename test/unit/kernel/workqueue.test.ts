import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import type { SyncCore } from '../../../src/kernel/model/kernel.ts';
import { mutex_init, mutex_lock, mutex_unlock } from '../../../src/kernel/kernel/locking/mutex.ts';
import { spin_lock, spin_lock_init } from '../../../src/kernel/kernel/locking/spinlock.ts';
import {
  alloc_workqueue,
  flush_work,
  INIT_WORK,
  schedule_work,
  spawnKworkers,
  type work_func_t,
  type work_struct,
  type WorkqueueStruct,
} from '../../../src/kernel/kernel/workqueue.ts';
import { NO_OBJECT, step, type Blocker, type Execution, type Scheduler, type Sim, type SpawnOptions } from '../../../src/sim/index.ts';
import { newExecution, newSyncCore, runThreads, ScriptedScheduler } from '../../helpers/sim.ts';

interface WqCore extends SyncCore {
  readonly system_wq: WorkqueueStruct<WqCore>;
}

const local = step('work', 'local', NO_OBJECT);

/** A world with the system workqueue and its kworkers (threads 0..kworkers-1), then `threads`. */
function run(
  scheduler: Scheduler,
  func: work_func_t<WqCore>,
  threads: (k: WqCore, work: work_struct<WqCore>) => ReadonlyArray<[Partial<SpawnOptions>, () => Sim]>,
  kworkers = 2,
) {
  const exec: Execution = newExecution(scheduler);
  const base = newSyncCore(exec, { ...DEFAULT_CONFIG, kworkers });
  const k: WqCore = { ...base, system_wq: alloc_workqueue<WqCore>(base, 'events') };
  spawnKworkers(k, k.system_wq);
  const work = INIT_WORK(k, 'kernel_pgtable_work.work', func);
  const result = runThreads(exec, threads(k, work));
  return { exec, k, work, result };
}

function* idleWork(): Sim {
  yield local;
}

test('kworkers are daemon threads kworker/u:i on CPU i % cpus, and an idle pool at the end is quiescence', () => {
  const { exec, result } = run(new ScriptedScheduler([]), idleWork, () => [], 3);
  assert.deepEqual(
    exec.threads.map((t) => [t.name, t.ctx.cpu, t.daemon]),
    [
      ['kworker/u:0', 0, true],
      ['kworker/u:1', 1, true],
      ['kworker/u:2', 0, true],
    ],
  );
  assert.equal(result.status, 'quiescent');
});

test('schedule_work while pending is a no-op (queue_work_on returns false)', () => {
  const returned: boolean[] = [];
  // The producer queues twice before any kworker takes the item off the worklist (each queue_work()
  // first offers the kworker of its CPU a preemption point, which the script does not take).
  const { work, result } = run(new ScriptedScheduler(['producer', 'producer', 'producer', 'producer', 'producer', 'producer']), idleWork, (k, work) => [
    [
      { name: 'producer', cpu: 0 },
      function* () {
        returned.push(yield* schedule_work(k, work));
        returned.push(yield* schedule_work(k, work));
      },
    ],
  ]);
  assert.deepEqual(returned, [true, false]);
  assert.equal(work.executions, 1);
  assert.equal(work.pending, false);
  assert.equal(result.status, 'quiescent');
});

test('schedule_work while running re-queues (set_work_pool_and_clear_pending before the function), and it runs again after', () => {
  for (let seed = 0; seed < 40; seed++) {
    const log: string[] = [];
    const returned: boolean[] = [];
    let requeued = false;
    let started = false;
    const requeue: Blocker = { blocks: () => !requeued, describe: () => 'the producer to queue again' };
    // The first run waits for the producer's second schedule_work, so that call meets it running.
    const func: work_func_t<WqCore> = function* (_k, work) {
      log.push(`start ${work.executions} pending=${work.pending}`);
      started = true;
      yield step('wait_requeued', 'read', NO_OBJECT, requeue);
      log.push(`end ${work.executions}`);
    };
    const { work, result } = run(new RandomScheduler(seed), func, (k, work) => {
      const running: Blocker = { blocks: () => !started, describe: () => 'the first run' };
      return [
        [
          { name: 'producer', cpu: 0 },
          function* () {
            returned.push(yield* schedule_work(k, work));
            yield step('wait_running', 'read', NO_OBJECT, running);
            returned.push(yield* schedule_work(k, work));
            requeued = true;
          },
        ],
      ];
    });
    assert.deepEqual(returned, [true, true], `seed ${seed}`);
    assert.equal(work.executions, 2);
    assert.deepEqual(log, ['start 1 pending=false', 'end 1', 'start 2 pending=false', 'end 2'], `seed ${seed}`);
    assert.equal(result.status, 'quiescent');
  }
});

/** Two producers on two CPUs queue one work item three times each; two kworkers serve it. */
function contended(seed: number) {
  let inside = 0;
  let maxInside = 0;
  const published: number[] = [];
  const queuedAt: number[] = [];
  const startedAt: number[] = [];
  const func: work_func_t<WqCore> = function* (k) {
    startedAt.push(k.exec.stepCount);
    inside++;
    maxInside = Math.max(maxInside, inside);
    published.length = 0;
    yield local;
    yield local;
    inside--;
  };
  const producer = (k: WqCore, work: work_struct<WqCore>, id: number) =>
    function* (): Sim {
      for (let i = 0; i < 3; i++) {
        published.push(id * 10 + i);
        if (yield* schedule_work(k, work)) queuedAt.push(k.exec.stepCount);
        yield local;
      }
    };
  const { exec, result } = run(new RandomScheduler(seed), func, (k, work) => [
    [{ name: 'cpu0:vfree', cpu: 0 }, producer(k, work, 0)],
    [{ name: 'cpu1:vfree', cpu: 1 }, producer(k, work, 1)],
  ]);
  assert.equal(result.status, 'quiescent');
  assert.deepEqual(result.violations, []);
  const handedOff = exec.events?.some((e) => e.text.endsWith('handed to it')) ?? false;
  return { maxInside, published, queuedAt, startedAt, handedOff };
}

test('a work item never runs on two kworkers at once (find_worker_executing_work hands it to the one running it)', () => {
  let handOffs = 0;
  for (let seed = 0; seed < 200; seed++) {
    const r = contended(seed);
    assert.equal(r.maxInside, 1, `seed ${seed}: concurrent executions`);
    if (r.handedOff) handOffs++;
  }
  assert.ok(handOffs > 0, 'some schedule should have a second kworker find the item running elsewhere');
});

test('every schedule_work that returned true is followed by an execution that starts after it (no lost wake-up)', () => {
  for (let seed = 0; seed < 200; seed++) {
    const r = contended(seed);
    for (const q of r.queuedAt) assert.ok(r.startedAt.some((s) => s > q), `seed ${seed}: queued at step ${q}, runs started at ${r.startedAt}`);
    assert.deepEqual(r.published, [], `seed ${seed}: something published was never seen by a run`);
  }
});

test('schedule_work from hard-IRQ context is allowed (queue_work_on saves interrupts itself)', () => {
  let returned = false;
  const { work, result } = run(new RandomScheduler(3), idleWork, (k, work) => [
    [
      { name: 'irq0', cpu: 0, kind: 'hardirq' },
      function* () {
        returned = yield* schedule_work(k, work);
      },
    ],
  ]);
  assert.equal(returned, true);
  assert.equal(work.executions, 1);
  assert.deepEqual(result.violations, []);
});

test('flush_work returns once the queued execution has finished: true if it had to wait, false on an idle item', () => {
  let waited = 0;
  for (let seed = 0; seed < 40; seed++) {
    const seen: unknown[] = [];
    const { result } = run(new RandomScheduler(seed), idleWork, (k, work) => [
      [
        { name: 'producer', cpu: 0 },
        function* () {
          yield* schedule_work(k, work);
          const first = yield* flush_work(k, work);
          if (first) waited++;
          seen.push(work.completions, work.running, yield* flush_work(k, work));
        },
      ],
    ]);
    assert.deepEqual(seen, [1, false, false], `seed ${seed}`);
    assert.deepEqual(result.violations, []);
  }
  assert.ok(waited > 0, 'some schedule should flush before the run finished');
});

test('flush_work while holding a mutex the work function takes is a circular dependency (lockdep), and it hangs', () => {
  let m: ReturnType<typeof mutex_init> | null = null;
  const func: work_func_t<WqCore> = function* (k) {
    yield* mutex_lock(k, m!);
    yield* mutex_unlock(k, m!);
  };
  const { result } = run(new RandomScheduler(1), func, (k, work) => {
    m = mutex_init(k, 'iommu_sva_lock');
    return [
      [
        { name: 'cpu0:unbind', cpu: 0 },
        function* () {
          yield* mutex_lock(k, m!);
          yield* schedule_work(k, work);
          yield* flush_work(k, work);
          yield* mutex_unlock(k, m!);
        },
      ],
    ];
  });
  const circular = result.violations.find((v) => v.title === 'WARNING: possible circular locking dependency detected');
  assert.ok(circular !== undefined);
  assert.ok(circular.details.some((d) => d.includes('(work_completion)(kernel_pgtable_work.work)')));
  assert.equal(result.status, 'deadlock');
});

test('a work function that returns with a spinlock held is "workqueue leaked atomic, lock or RCU" (process_one_work)', () => {
  let lock: ReturnType<typeof spin_lock_init> | null = null;
  const func: work_func_t<WqCore> = function* kernel_pgtable_work_func(k) {
    yield* spin_lock(k, lock!);
  };
  const { result } = run(new ScriptedScheduler([]), func, (k, work) => {
    lock = spin_lock_init(k, 'kernel_pgtable_work.lock');
    return [
      [
        { name: 'producer', cpu: 1 },
        function* () {
          yield* schedule_work(k, work);
        },
      ],
    ];
  });
  const v = result.violations[0];
  assert.equal(v.kind, 'assertion');
  assert.equal(v.title, 'BUG: workqueue leaked atomic, lock or RCU: kworker/u:0[0]');
  assert.equal(v.details[0], '     preempt=0x00000001 lock=0->1 irqs_disabled=0');
  assert.equal(v.details[1], '     last function: kernel_pgtable_work_func');
  assert.equal(v.details[2], ' #0: (kernel_pgtable_work.lock)');
});
