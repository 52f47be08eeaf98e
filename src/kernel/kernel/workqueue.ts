/**
 * Work items and the workqueue that runs them (kernel/workqueue.c queue_work_on, __queue_work,
 * worker_thread, assign_work/find_worker_executing_work, process_one_work,
 * set_work_pool_and_clear_pending, __flush_work/start_flush_work; Documentation/core-api/workqueue.rst
 * "Non-reentrance Conditions"; Linux v6.19; docs/kernel/workqueue-and-lists.md and
 * docs/kernel/pitfalls.md §4).
 *
 * The rules the deferred-free designs rely on, modelled exactly:
 *  - queue_work() test-and-sets PENDING; if it was already set the call is a no-op returning false
 *    (the queued run has not started, so it will see whatever the caller published before);
 *  - a worker clears PENDING *before* calling the function, so queueing while it runs re-queues it
 *    and it runs again afterwards: no wake-up is ever lost;
 *  - a work item never runs on two workers at once: a worker that picks up an item already running
 *    elsewhere hands it to that worker's scheduled list, to run after the current execution.
 *
 * The pool: Linux serves system_wq with per-CPU pools (kworker/N:M), running a work item on the CPU
 * that queued it. The model serves a workqueue with one pool of `config.kworkers` workers named
 * kworker/u:i, worker i pinned to CPU i % cpus, and lets any idle worker take any item: every order
 * Linux allows is possible here, and some more (an item may run on another CPU).
 *
 * Steps and objects: each step names one object and touches only state owned by it, so that the
 * explorer's dependence relation is exact. The work item's object owns work->data (PENDING and the
 * workqueue it was queued on); the workqueue's object is pool->lock and owns everything under it
 * (worklist, each worker's current and scheduled items, the execution counters). pool->lock is not
 * a modelled spinlock: each critical section under it is one step.
 *
 * Lockdep: as in Linux, a work item's execution "holds" its completion map, and flush_work()
 * acquires and releases it, so flushing a work item while holding a lock its function takes is a
 * circular dependency. A worker also checks, after each function returns, that the function left no
 * lock held and no atomic section open ("BUG: workqueue leaked atomic, lock or RCU").
 */
import { ModelInvariantError, step, type Blocker, type ObjectId, type Sim, type Step } from '../../sim/index.ts';
import type { ExecCore, Kernel, SyncCore } from '../model/kernel.ts';
import type { LockdepMap } from './locking/lockdep.ts';
import { cond_resched, might_sleep, preemption_point } from './sched/core.ts';
import { local_irq_restore, local_irq_save } from '../include/linux/preempt.ts';

/** A work function: like Linux's `void (*func)(struct work_struct *)`, with the kernel passed in. */
export type work_func_t<K extends SyncCore> = (k: K, work: work_struct<K>) => Sim;

export class work_struct<K extends SyncCore = Kernel> {
  /** WORK_STRUCT_PENDING (work->data): set by queue_work, cleared just before the function runs. */
  pending = false;
  /** The workqueue it was queued on (work->data's pwq), null until first queued. */
  wq: WorkqueueStruct<K> | null = null;
  /**
   * Executions begun (the item became a worker's current_work) and finished; pool->lock state.
   * At most one is ever in progress (non-reentrance), so executions - completions is 0 or 1.
   */
  executions = 0;
  completions = 0;
  /** "(work_completion)(name)": what an execution holds and flush_work() acquires, for lockdep. */
  readonly lockdep_map: LockdepMap;
  readonly steps: { readonly queue_work: Step; readonly set_work_pool_and_clear_pending: Step; readonly flush_work: Step };

  constructor(
    readonly name: string,
    readonly obj: ObjectId,
    readonly func: work_func_t<K>,
    lockdep_map: LockdepMap,
  ) {
    this.lockdep_map = lockdep_map;
    this.steps = {
      queue_work: step('queue_work', 'write', obj),
      set_work_pool_and_clear_pending: step('set_work_pool_and_clear_pending', 'write', obj),
      flush_work: step('flush_work', 'read', obj),
    };
  }

  /** An execution is in progress. */
  get running(): boolean {
    return this.executions > this.completions;
  }
}

/** INIT_WORK() and __WORK_INITIALIZER() in one. */
export function INIT_WORK<K extends SyncCore>(k: Pick<SyncCore, 'exec' | 'lockdep'>, name: string, func: work_func_t<K>): work_struct<K> {
  const mapName = `(work_completion)(${name})`;
  return new work_struct<K>(name, k.exec.objects.register(name), func, { name: mapName, lockClass: k.lockdep.lockClass(mapName) });
}

/** A kworker of the pool (struct worker): what it runs now and what was handed to it. */
export class Worker<K extends SyncCore = Kernel> {
  /** current_work: the item whose execution this worker has begun, or null when idle. */
  current: work_struct<K> | null = null;
  /** worker->scheduled: items found running here by another worker, to run after the current one. */
  readonly scheduled: work_struct<K>[] = [];

  constructor(
    readonly name: string,
    /** Sleeps until the worklist is non-empty, then takes its first item (pool->lock). */
    readonly waitStep: Step,
    /** Retakes pool->lock after a function returned: ends the execution, takes the next handed item. */
    readonly doneStep: Step,
  ) {}
}

export class WorkqueueStruct<K extends SyncCore = Kernel> {
  /** pool->worklist, in queue order. */
  readonly worklist: work_struct<K>[] = [];
  readonly workers: Worker<K>[] = [];
  /** Work-function runs started on this queue, of every item (the measure of empty runs too). */
  executions = 0;
  /** __queue_work's insertion and start_flush_work's look, both under pool->lock. */
  readonly insertStep: Step;
  readonly flushStep: Step;
  /** Blocks an idle worker while the worklist is empty. */
  readonly idle: Blocker;

  constructor(
    readonly name: string,
    readonly obj: ObjectId,
  ) {
    this.insertStep = step('insert_work', 'write', obj);
    this.flushStep = step('start_flush_work', 'read', obj);
    this.idle = {
      blocks: () => this.worklist.length === 0,
      describe: () => `work on workqueue ${this.name}`,
    };
  }
}

/** alloc_workqueue(): an empty queue with no workers yet (spawnKworkers starts them). */
export function alloc_workqueue<K extends SyncCore>(k: Pick<ExecCore, 'exec'>, name: string): WorkqueueStruct<K> {
  return new WorkqueueStruct<K>(name, k.exec.objects.register(`workqueue ${name} pool`));
}

/**
 * Starts `k.config.kworkers` daemon threads serving `wq`: kworker/u:i on CPU i % cpus. Called in the
 * threads phase of world construction (docs/architecture.md, Boot phases).
 */
export function spawnKworkers<K extends SyncCore>(k: K, wq: WorkqueueStruct<K>): void {
  for (let i = 0; i < k.config.kworkers; i++) {
    const name = `kworker/u:${i}`;
    const worker = new Worker<K>(name, step('worker_thread', 'write', wq.obj, wq.idle), step('process_one_work', 'write', wq.obj));
    wq.workers.push(worker);
    k.exec.spawn({ name, cpu: i % k.config.cpus, daemon: true }, () => worker_thread(k, wq, worker));
  }
}

/**
 * queue_work_on(): with interrupts saved, test-and-set PENDING; if it was clear, insert the item
 * (__queue_work, a later step under pool->lock: Linux too sets PENDING before taking the lock).
 * Returns false when the item was already pending. Callable in any context, hard IRQ included.
 */
export function* queue_work<K extends SyncCore>(k: ExecCore, wq: WorkqueueStruct<K>, work: work_struct<K>): Sim<boolean> {
  yield* preemption_point(k);
  const flags = local_irq_save(k);
  yield work.steps.queue_work;
  if (work.pending) {
    local_irq_restore(k, flags);
    if (k.exec.tracing) k.exec.log('work', `queue_work ${work.name}: already pending`);
    return false;
  }
  work.pending = true;
  work.wq = wq;
  yield wq.insertStep;
  wq.worklist.push(work);
  local_irq_restore(k, flags);
  if (k.exec.tracing) k.exec.log('work', `queue_work ${work.name} on ${wq.name}`);
  return true;
}

/** schedule_work(): queue_work() on the system workqueue. */
export function schedule_work<K extends SyncCore>(k: K & { readonly system_wq: WorkqueueStruct<K> }, work: work_struct<K>): Sim<boolean> {
  return queue_work(k, k.system_wq, work);
}

/**
 * flush_work(): waits for the last queued instance of `work` to finish (the queued run if it is on
 * the worklist or handed to a worker, else the running one) and returns true; returns false at once
 * when there is nothing to wait for. As in Linux, an item whose PENDING is set but which is not yet
 * inserted is not waited for. May sleep.
 */
export function* flush_work<K extends SyncCore>(k: SyncCore, work: work_struct<K>): Sim<boolean> {
  might_sleep(k, 'flush_work');
  k.lockdep.acquire(work.lockdep_map);
  k.lockdep.release(work.lockdep_map);
  yield work.steps.flush_work;
  const wq = work.wq;
  if (wq === null) return false;
  yield wq.flushStep;
  const queued = wq.worklist.includes(work) || wq.workers.some((w) => w.scheduled.includes(work));
  const target = queued ? work.executions + 1 : work.executions;
  if (work.completions >= target) return false;
  const done: Blocker = {
    blocks: () => work.completions < target,
    describe: () => `flush_work of ${work.name} (execution ${target})`,
  };
  yield step('wait_for_completion', 'read', wq.obj, done);
  return true;
}

/** The kworker thread body: sleep until there is work, take the first item, run it. */
function* worker_thread<K extends SyncCore>(k: K, wq: WorkqueueStruct<K>, worker: Worker<K>): Sim {
  for (;;) {
    yield worker.waitStep;
    const work = wq.worklist.shift();
    if (work === undefined) throw new ModelInvariantError(`${worker.name} woke with an empty worklist on ${wq.name}`);
    const collision = find_worker_executing_work(wq, work);
    if (collision !== null) {
      collision.scheduled.push(work);
      if (k.exec.tracing) k.exec.log('work', `${work.name} is running on ${collision.name}: handed to it`);
      continue;
    }
    let next: work_struct<K> | undefined = work;
    while (next !== undefined) {
      worker.current = next;
      next.executions++;
      wq.executions++;
      yield* process_one_work(k, worker, next);
      // Still under pool->lock (the done step): the execution ended, take what was handed over.
      next.completions++;
      worker.current = null;
      next = worker.scheduled.shift();
    }
  }
}

function find_worker_executing_work<K extends SyncCore>(wq: WorkqueueStruct<K>, work: work_struct<K>): Worker<K> | null {
  for (const w of wq.workers) if (w.current === work) return w;
  return null;
}

/**
 * One execution of `work`, which the caller made this worker's current_work under pool->lock;
 * returns having taken the done step (pool->lock again).
 */
function* process_one_work<K extends SyncCore>(k: K, worker: Worker<K>, work: work_struct<K>): Sim {
  yield work.steps.set_work_pool_and_clear_pending;
  work.pending = false;
  if (k.exec.tracing) k.exec.log('work', `${worker.name} runs ${work.name} (execution ${work.executions})`);
  const t = k.exec.current;
  const preemptBefore = t.ctx.preemptCount;
  const depthBefore = k.lockdep.held(t).length;
  k.lockdep.acquire(work.lockdep_map);
  t.frames.push(work.name);
  yield* work.func(k, work);
  t.frames.pop();
  k.lockdep.release(work.lockdep_map);
  const depthAfter = k.lockdep.held(t).length;
  if (t.ctx.preemptCount !== preemptBefore || t.ctx.irqsDisabledDepth !== 0 || depthAfter !== depthBefore) {
    k.exec.report('assertion', `BUG: workqueue leaked atomic, lock or RCU: ${t.name}[${t.id}]`, [
      `     preempt=0x${t.ctx.preemptCount.toString(16).padStart(8, '0')} lock=${depthBefore}->${depthAfter} irqs_disabled=${t.ctx.irqsDisabledDepth > 0 ? 1 : 0}`,
      `     last function: ${work.func.name || work.name}`,
      ...k.lockdep.held(t).map((l, i) => ` #${i}: (${l.name})`),
      ...k.exec.callTrace(t),
    ]);
  }
  // process_one_work() does this after every function, so that a kworker never hogs a !PREEMPTION CPU.
  yield* cond_resched(k);
  yield worker.doneStep;
}
