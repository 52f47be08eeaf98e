import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  local_irq_disable,
  local_irq_enable,
  local_irq_restore,
  local_irq_save,
  preempt_disable,
  preempt_enable,
} from '../../../src/kernel/include/linux/preempt.ts';
import { in_atomic, irqs_disabled, type PreemptMode, type Sim } from '../../../src/sim/index.ts';
import { spin_lock, spin_lock_init, spin_unlock } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { newExecution, newSyncCore, runThreads } from '../../helpers/sim.ts';

/** Runs `body` as the only thread and returns what it observed and what was reported. */
function inThread(body: (k: ReturnType<typeof newSyncCore>, seen: unknown[]) => void) {
  const exec = newExecution();
  const k = newSyncCore(exec);
  const seen: unknown[] = [];
  const result = runThreads(exec, [
    function* (): Sim {
      body(k, seen);
    },
  ]);
  return { seen, result };
}

test('preempt_disable nests: the task stays atomic until the last preempt_enable', () => {
  const { seen, result } = inThread((k, seen) => {
    const ctx = k.exec.current.ctx;
    preempt_disable(k);
    preempt_disable(k);
    seen.push(ctx.preemptCount, in_atomic(ctx));
    preempt_enable(k);
    seen.push(ctx.preemptCount, in_atomic(ctx));
    preempt_enable(k);
    seen.push(ctx.preemptCount, in_atomic(ctx));
  });
  assert.deepEqual(seen, [2, true, 1, true, 0, false]);
  assert.deepEqual(result.violations, []);
});

test('preempt_enable without preempt_disable warns (preempt_count_sub DEBUG_LOCKS_WARN_ON) and leaves the count at 0', () => {
  const { seen, result } = inThread((k, seen) => {
    preempt_enable(k);
    seen.push(k.exec.current.ctx.preemptCount);
  });
  assert.deepEqual(seen, [0]);
  assert.equal(result.violations.length, 1);
  assert.equal(result.violations[0].kind, 'assertion');
  assert.equal(result.violations[0].title, 'WARNING: CPU: 0 PID: 0 at kernel/sched/core.c preempt_count_sub');
  assert.equal(result.violations[0].details[0], 'DEBUG_LOCKS_WARN_ON(val > preempt_count())');
});

test('local_irq_save/local_irq_restore nest: interrupts come back on only at the outermost restore', () => {
  const { seen } = inThread((k, seen) => {
    const ctx = k.exec.current.ctx;
    const outer = local_irq_save(k);
    const inner = local_irq_save(k);
    seen.push(irqs_disabled(ctx));
    local_irq_restore(k, inner);
    seen.push(irqs_disabled(ctx));
    local_irq_restore(k, outer);
    seen.push(irqs_disabled(ctx), in_atomic(ctx));
  });
  assert.deepEqual(seen, [true, true, false, false]);
});

test('local_irq_enable turns interrupts on whatever the nesting, and a later restore turns them back off', () => {
  const { seen } = inThread((k, seen) => {
    const ctx = k.exec.current.ctx;
    const flags = local_irq_save(k);
    local_irq_disable(k);
    local_irq_disable(k);
    local_irq_enable(k);
    seen.push(irqs_disabled(ctx));
    local_irq_disable(k);
    const nested = local_irq_save(k);
    local_irq_enable(k);
    local_irq_restore(k, nested);
    seen.push(irqs_disabled(ctx));
    local_irq_restore(k, flags);
    seen.push(irqs_disabled(ctx));
  });
  // cli/sti do not count: one sti after two cli is interrupts on; restoring a saved "off" is off.
  assert.deepEqual(seen, [false, true, false]);
});

test('preemption_point(): spin_lock() first offers the instant before preempt_disable() as a step, only when another thread of the CPU could take it (sched/core.ts)', () => {
  const point = (mode: PreemptMode, other: 'task' | 'hardirq', cpu: number) => {
    const exec = newExecution();
    exec.setPreemption(mode);
    const k = newSyncCore(exec);
    const lock = spin_lock_init(k, 'L');
    const labels: string[] = [];
    exec.stepListeners.push((t, s) => {
      if (t.name === 't0') labels.push(s.label);
    });
    runThreads(exec, [
      function* (): Sim {
        yield* spin_lock(k, lock);
        yield* spin_unlock(k, lock);
      },
      [{ cpu, kind: other }, function* (): Sim {}],
    ]);
    return labels.includes('preemption point');
  };
  // PREEMPT: another task of CPU 0 may take it there.
  assert.equal(point('full', 'task', 0), true);
  // PREEMPT_NONE/VOLUNTARY: a task is not preempted there; an interrupt handler still may fire.
  assert.equal(point('none', 'task', 0), false);
  assert.equal(point('voluntary', 'task', 0), false);
  assert.equal(point('none', 'hardirq', 0), true);
  // Alone on its CPU: nobody could use the step, so there is none.
  assert.equal(point('full', 'task', 1), false);
});
