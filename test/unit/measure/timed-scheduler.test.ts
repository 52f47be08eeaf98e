import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { TimedScheduler } from '../../../src/measure/timed-scheduler.ts';
import { Execution, NO_OBJECT, step, type Blocker, type Sim } from '../../../src/sim/index.ts';

/** clear_page costs 10 ns, alloc_pages 25, everything else in these tests nothing. */
const MODEL = { ...DEFAULT_COSTS, pageClear: 10, pageAlloc: 25, otherLocal: 0, otherRead: 0 };
const clear = step('clear_page', 'write', NO_OBJECT);
const alloc = step('alloc_pages', 'write', NO_OBJECT);

function timed(): { sched: TimedScheduler; exec: Execution; log: string[] } {
  const sched = new TimedScheduler(MODEL);
  const exec = new Execution(sched);
  sched.attach(exec);
  return { sched, exec, log: [] };
}

/** A body that takes `steps` in turn and logs `name@start` inside each. */
function body(log: string[], sched: TimedScheduler, name: string, ...steps: ReturnType<typeof step>[]) {
  return function* (): Sim {
    for (const s of steps) {
      yield s;
      log.push(`${name}@${sched.now}`);
    }
  };
}

test('the runnable thread with the earliest clock runs; a tie goes to the lower seq (spawn order)', () => {
  const { sched, exec, log } = timed();
  exec.spawn({ name: 'a', cpu: 0 }, body(log, sched, 'a', clear, clear, clear));
  exec.spawn({ name: 'b', cpu: 1 }, body(log, sched, 'b', alloc));
  assert.equal(exec.run().status, 'quiescent');
  sched.finish();
  // a@0 (tie with b at 0, a spawned first), then b at 0 < a's 10, then a's later steps.
  assert.deepEqual(log, ['a@0', 'b@0', 'a@10', 'a@20']);
  assert.equal(sched.makespan, 30);
});

test('at equal times interrupt handlers run before tasks, and tasks before devices', () => {
  const { sched, exec, log } = timed();
  exec.spawn({ name: 'dev', cpu: -1 }, body(log, sched, 'dev', clear));
  exec.spawn({ name: 'task', cpu: 0 }, body(log, sched, 'task', clear));
  exec.spawn({ name: 'irq', cpu: 1, kind: 'hardirq' }, body(log, sched, 'irq', clear));
  exec.run();
  assert.deepEqual(log, ['irq@0', 'task@0', 'dev@0']);
});

test('two threads pinned to one CPU never overlap in time', () => {
  const { sched, exec, log } = timed();
  exec.spawn({ name: 't1', cpu: 0 }, body(log, sched, 't1', clear));
  exec.spawn({ name: 't2', cpu: 0 }, body(log, sched, 't2', clear));
  exec.run();
  assert.deepEqual(log, ['t1@0', 't2@10']);
});

test('a woken thread continues at the end of the step that woke it, not at its own earlier clock', () => {
  const { sched, exec, log } = timed();
  let flag = false;
  const waitFlag: Blocker = { blocks: () => !flag, describe: () => 'flag' };
  exec.spawn({ name: 'setter', cpu: 0 }, function* (): Sim {
    for (let i = 0; i < 5; i++) yield clear;
    flag = true; // inside the 5th clear_page: [40, 50)
  });
  exec.spawn({ name: 'waiter', cpu: 1 }, function* (): Sim {
    yield step('wait_for_flag', 'read', NO_OBJECT, waitFlag);
    log.push(`waiter@${sched.now}`);
  });
  exec.run();
  assert.deepEqual(log, ['waiter@50']);
});

test('data choices take option 0 (no injected allocation failure)', () => {
  const { exec } = timed();
  let chosen = -1;
  exec.spawn({ name: 't', cpu: 0 }, function* (): Sim {
    yield clear;
    chosen = exec.choose('alloc_pages GFP_ATOMIC', ['succeed', 'fail']);
  });
  exec.run();
  assert.equal(chosen, 0);
});
