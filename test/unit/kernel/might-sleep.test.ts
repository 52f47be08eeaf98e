import { test } from 'node:test';
import assert from 'node:assert/strict';
import { might_sleep } from '../../../src/kernel/kernel/sched/core.ts';
import { local_irq_disable, preempt_disable } from '../../../src/kernel/include/linux/preempt.ts';
import { NO_OBJECT, step, type ContextKind, type Sim } from '../../../src/sim/index.ts';
import { newExecution, newSyncCore, runThreads } from '../../helpers/sim.ts';

function sleepIn(kind: ContextKind, enter: (k: ReturnType<typeof newSyncCore>) => void) {
  const exec = newExecution();
  const k = newSyncCore(exec);
  return runThreads(exec, [
    [
      { name: kind === 'task' ? 'cpu0:vmalloc' : 'irq0', kind },
      function* (): Sim {
        yield step('vfree', 'local', NO_OBJECT);
        enter(k);
        might_sleep(k, 'drivers/iommu/iommu-sva.c');
      },
    ],
  ]);
}

test('might_sleep in a preemptible task is silent', () => {
  assert.deepEqual(sleepIn('task', () => {}).violations, []);
});

test('might_sleep with preemption disabled is "sleeping function called from invalid context" (__might_sleep)', () => {
  const [v, ...rest] = sleepIn('task', preempt_disable).violations;
  assert.deepEqual(rest, []);
  assert.equal(v.kind, 'sleep-in-atomic');
  assert.equal(v.title, 'BUG: sleeping function called from invalid context at drivers/iommu/iommu-sva.c');
  assert.equal(v.details[0], 'in_atomic(): 1, irqs_disabled(): 0, pid: 0, name: cpu0:vmalloc');
  assert.equal(v.details[1], 'preempt_count: 1, context: task');
  assert.equal(v.details[2], 'Last steps: thread_start, vfree');
});

test('might_sleep with interrupts disabled reports irqs_disabled(): 1', () => {
  const [v] = sleepIn('task', local_irq_disable).violations;
  assert.equal(v.kind, 'sleep-in-atomic');
  assert.equal(v.details[0], 'in_atomic(): 0, irqs_disabled(): 1, pid: 0, name: cpu0:vmalloc');
});

test('might_sleep in hard-IRQ context is sleep-in-atomic even with a zero preempt count', () => {
  const [v] = sleepIn('hardirq', () => {}).violations;
  assert.equal(v.kind, 'sleep-in-atomic');
  assert.equal(v.details[1], 'preempt_count: 0, context: hardirq');
});
