import { test } from 'node:test';
import { attachOracles } from '../../../src/check/index.ts';
import assert from 'node:assert/strict';
import { spin_lock, spin_lock_init, spin_unlock } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { MetricsCollector, percentile, summarizeLatencies, timeWeightedMean } from '../../../src/measure/metrics.ts';
import { TimedScheduler } from '../../../src/measure/timed-scheduler.ts';
import { NO_OBJECT, step, type Sim } from '../../../src/sim/index.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

test('p50 and p99 are nearest-rank percentiles of the free latencies', () => {
  const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 .. 1, unsorted
  assert.deepEqual(summarizeLatencies(samples), { count: 100, mean: 50.5, p50: 50, p99: 99, max: 100 });
  assert.deepEqual(summarizeLatencies([30, 10, 20]), { count: 3, mean: 20, p50: 20, p99: 30, max: 30 });
  assert.equal(percentile([7], 0.99), 7);
});

test('no freed table gives no latency figures rather than zeros', () => {
  assert.deepEqual(summarizeLatencies([]), { count: 0, mean: null, p50: null, p99: null, max: null });
});

test('the time-weighted mean of pending pages weighs each level by how long it held', () => {
  // 1 page pending over [0,10), 3 over [10,30), 0 over [30,40): (10 + 60 + 0) / 40.
  assert.equal(timeWeightedMean([0, 10, 30], [1, 3, 0], 40), 1.75);
  // Nothing pending before the first change: 2 pages over [10, 20) of a 20 ns run.
  assert.equal(timeWeightedMean([10], [2], 20), 1);
  assert.equal(timeWeightedMean([], [], 0), 0);
});

test('a timeline that goes back in time is a model bug', () => {
  assert.throws(() => timeWeightedMean([10, 5], [1, 0], 20), /back in time/);
});

test('a contended spin_lock: the waiter waits out the holder and pays the hand-off; both holds are measured', () => {
  const sched = new TimedScheduler({ ...DEFAULT_COSTS, lockAcquire: 20, lockRelease: 10, lockHandoff: 100, pageClear: 10, otherLocal: 0 });
  const k = bootTestKernel({ scheduler: sched });
  sched.attach(k.exec, k.iommu);
  const metrics = new MetricsCollector(k, sched, attachOracles(k).shadow);
  const lock = spin_lock_init(k, 'test_lock');
  const critical = function* (): Sim {
    yield* spin_lock(k, lock);
    for (let i = 0; i < 3; i++) yield step('clear_page', 'write', NO_OBJECT);
    yield* spin_unlock(k, lock);
  };
  // a: acquires [0,20), holds to its unlock [50,60). b: blocked from 0, woken at 60, acquires
  // with the hand-off [60,180), unlocks [210,220).
  const result = runKernel(k, [critical, critical]);
  sched.finish();
  assert.equal(result.status, 'quiescent');
  assert.equal(sched.makespan, 220);
  const m = metrics.result(sched.makespan);
  assert.deepEqual(
    m.locks.find((l) => l.name === 'test_lock'),
    { name: 'test_lock', acquisitions: 2, waitTotalNs: 60, waitMaxNs: 60, holdTotalNs: 60, holdMaxNs: 30 },
  );
});
