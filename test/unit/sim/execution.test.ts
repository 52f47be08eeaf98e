import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler, ReplayDivergence, ReplayScheduler } from '../../../src/explore/index.ts';
import { formatEvent, NO_OBJECT, step, type Blocker, type Execution, type Sim, type Thread } from '../../../src/sim/index.ts';
import { chosenThreads, newExecution, runThreads } from '../../helpers/sim.ts';

const local = step('work', 'local', NO_OBJECT);

/** A body that logs `name:i` in each of its `n` steps. */
function stepper(log: string[], name: string, n: number) {
  return function* (): Sim {
    for (let i = 0; i < n; i++) {
      log.push(`${name}:${i}`);
      yield local;
    }
  };
}

function runRandom(seed: number, build: (exec: Execution) => void, trace = false) {
  const exec = newExecution(new RandomScheduler(seed), { trace });
  build(exec);
  return { exec, result: exec.run() };
}

function threeSteppers(exec: Execution, log: string[] = []) {
  for (let t = 0; t < 3; t++) exec.spawn({ name: `t${t}`, cpu: t }, stepper(log, `t${t}`, 4));
}

test('round robin runs the runnable threads in turn, by thread id, wrapping', () => {
  const log: string[] = [];
  const result = runThreads(newExecution(), [stepper(log, 'a', 2), stepper(log, 'b', 2), stepper(log, 'c', 2)]);
  assert.equal(result.status, 'quiescent');
  // thread_start runs each body to its first yield; each thread then takes two more steps.
  assert.deepEqual(chosenThreads(result), ['t0', 't1', 't2', 't0', 't1', 't2', 't0', 't1', 't2']);
  assert.deepEqual(log, ['a:0', 'b:0', 'c:0', 'a:1', 'b:1', 'c:1']);
});

test('a random schedule is a function of the seed alone', () => {
  const orders = new Set<string>();
  for (let seed = 1; seed <= 8; seed++) {
    const first = runRandom(seed, threeSteppers).result;
    const again = runRandom(seed, threeSteppers).result;
    assert.deepEqual(again.choices, first.choices, `seed ${seed} gave two schedules`);
    orders.add(chosenThreads(first).join(' '));
  }
  assert.ok(orders.size > 1, 'different seeds should give different schedules');
});

test('replaying a recorded choice list reproduces the execution step for step', () => {
  const recorded = runRandom(42, threeSteppers, true);
  const replay = newExecution(new ReplayScheduler(recorded.result.choices), { trace: true });
  threeSteppers(replay);
  const result = replay.run();
  assert.deepEqual(result.choices, recorded.result.choices);
  assert.deepEqual(replay.events?.map(formatEvent), recorded.exec.events?.map(formatEvent));
  assert.equal(result.steps, recorded.result.steps);
});

test('a replay that meets a different model stops with the step and both sides', () => {
  const recorded = runRandom(7, (exec) => {
    exec.spawn({ name: 't0', cpu: 0 }, stepper([], 't0', 2));
    exec.spawn({ name: 't1', cpu: 1 }, stepper([], 't1', 2));
  }).result;
  const replay = newExecution(new ReplayScheduler(recorded.choices));
  replay.spawn({ name: 't0', cpu: 0 }, stepper([], 't0', 2));
  replay.spawn({ name: 't1', cpu: 1 }, stepper([], 't1', 2));
  replay.spawn({ name: 't2', cpu: 1 }, stepper([], 't2', 2));
  assert.throws(
    () => replay.run(),
    (e: unknown) =>
      e instanceof ReplayDivergence &&
      e.message === 'replay diverged at step 0: recorded thread schedule among [t0,t1], model offers thread schedule among [t0,t1,t2]',
  );
});

test('a replay that runs past the recorded schedule says the schedule ended', () => {
  const recorded = runThreads(newExecution(), [stepper([], 't0', 1)]);
  const replay = newExecution(new ReplayScheduler(recorded.choices));
  replay.spawn({ name: 't0', cpu: 0 }, stepper([], 't0', 3));
  assert.throws(() => replay.run(), /^ReplayDivergence: replay diverged at step 2: recorded schedule ended, model offers thread schedule among \[t0\]$/);
});

/** A flag a thread can wait for. */
function flag(name: string) {
  const f = { set: false, blocker: null as unknown as Blocker };
  f.blocker = { blocks: () => !f.set, describe: () => name };
  return f;
}

test('when every thread is blocked the execution is a deadlock, reported like a hung task', () => {
  const a = flag('flag a');
  const b = flag('flag b');
  const result = runThreads(newExecution(), [
    function* () {
      yield step('wait_a', 'read', NO_OBJECT, a.blocker);
      b.set = true;
    },
    function* () {
      yield step('wait_b', 'read', NO_OBJECT, b.blocker);
      a.set = true;
    },
  ]);
  assert.equal(result.status, 'deadlock');
  assert.equal(result.violations.length, 1);
  const v = result.violations[0];
  assert.equal(v.kind, 'deadlock');
  assert.equal(v.title, 'INFO: task t0 blocked with no thread able to run');
  assert.deepEqual(v.details, ['t0 (cpu 0) blocked in wait_a: waiting for flag a', 't1 (cpu 1) blocked in wait_b: waiting for flag b']);
});

test('daemon threads still blocked at the end are quiescence, not deadlock', () => {
  const never = flag('work that never comes');
  const body = function* (): Sim {
    yield step('worker_thread', 'read', NO_OBJECT, never.blocker);
  };
  const quiet = runThreads(newExecution(), [stepper([], 't0', 2), [{ name: 'kworker/u:0', daemon: true }, body]]);
  assert.equal(quiet.status, 'quiescent');
  assert.deepEqual(quiet.violations, []);
  const stuck = runThreads(newExecution(), [stepper([], 't0', 2), [{ name: 'task' }, body]]);
  assert.equal(stuck.status, 'deadlock');
});

/**
 * t0 on CPU 0 makes its context atomic (by `enter`) around steps a1..a3; `other` on the same CPU
 * logs its steps. Returns, over many seeds, whether `other` ever logged inside the window.
 */
function landsInWindow(enter: (t: Thread) => void, leave: (t: Thread) => void, other: { kind: 'task' | 'hardirq'; cpu: number }): boolean {
  for (let seed = 0; seed < 60; seed++) {
    const log: string[] = [];
    const { result } = runRandom(seed, (exec) => {
      exec.spawn({ name: 't0', cpu: 0 }, function* (t): Sim {
        yield local;
        enter(t);
        log.push('a1');
        yield local;
        log.push('a2');
        yield local;
        log.push('a3');
        leave(t);
        yield local;
      });
      exec.spawn({ name: 'other', cpu: other.cpu, kind: other.kind }, stepper(log, 'o', 4));
    });
    assert.equal(result.status, 'quiescent');
    const start = log.indexOf('a1');
    const end = log.indexOf('a3');
    if (log.slice(start, end).some((e) => e.startsWith('o:'))) return true;
  }
  return false;
}

const preemptOff = (t: Thread) => void t.ctx.preemptCount++;
const preemptOn = (t: Thread) => void t.ctx.preemptCount--;
const irqsOff = (t: Thread) => void t.ctx.irqsDisabledDepth++;
const irqsOn = (t: Thread) => void t.ctx.irqsDisabledDepth--;
const nothing = () => {};

test('a task with preemption disabled is not preempted by another task on its CPU', () => {
  assert.equal(landsInWindow(preemptOff, preemptOn, { kind: 'task', cpu: 0 }), false);
  // The same window without preempt_disable is preemptible, and other CPUs always run on.
  assert.equal(landsInWindow(nothing, nothing, { kind: 'task', cpu: 0 }), true);
  assert.equal(landsInWindow(preemptOff, preemptOn, { kind: 'task', cpu: 1 }), true);
});

test('an interrupt handler cannot fire on a CPU whose task has interrupts disabled', () => {
  assert.equal(landsInWindow(irqsOff, irqsOn, { kind: 'hardirq', cpu: 0 }), false);
  // preempt_disable alone does not hold off interrupts.
  assert.equal(landsInWindow(preemptOff, preemptOn, { kind: 'hardirq', cpu: 0 }), true);
});

test('an interrupt handler runs to completion before the task it interrupted resumes', () => {
  let interleaved = 0;
  for (let seed = 0; seed < 60; seed++) {
    const log: string[] = [];
    runRandom(seed, (exec) => {
      exec.spawn({ name: 't0', cpu: 0 }, stepper(log, 't', 6));
      exec.spawn({ name: 'irq', cpu: 0, kind: 'hardirq' }, stepper(log, 'i', 3));
    });
    const first = log.indexOf('i:0');
    assert.deepEqual(log.slice(first, first + 3), ['i:0', 'i:1', 'i:2'], `seed ${seed}: ${log.join(' ')}`);
    if (first > 0 && first < 6) interleaved++;
  }
  assert.ok(interleaved > 0, 'the interrupt should land inside the task in some schedule');
});
