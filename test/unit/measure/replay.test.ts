import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinDesign } from '../../../src/designs/index.ts';
import { ReplayScheduler } from '../../../src/explore/index.ts';
import { check } from '../../../src/job/check.ts';
import { replayLabel } from '../../../src/job/label.ts';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { replay, TimedReplayScheduler } from '../../../src/job/replay.ts';
import { TimeKeeper } from '../../../src/measure/time-keeper.ts';
import { TimedScheduler } from '../../../src/measure/timed-scheduler.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import { Execution, NO_OBJECT, step, type Choice, type Scheduler, type Sim } from '../../../src/sim/index.ts';

/** clear_page costs 10 ns, alloc_pages 25, everything else in these programs nothing. */
const MODEL = { ...DEFAULT_COSTS, pageClear: 10, pageAlloc: 25, otherLocal: 0 };
const clear = step('clear_page', 'write', NO_OBJECT);
const alloc = step('alloc_pages', 'write', NO_OBJECT);

/** A tiny program: `a` clears twice on cpu0, `b` allocates once on cpu1; each step logs name@start. */
function program(scheduler: Scheduler, now: () => number, log: string[]): Execution {
  const exec = new Execution(scheduler);
  const body = (name: string, ...steps: ReturnType<typeof step>[]) =>
    function* (): Sim {
      for (const s of steps) {
        yield s;
        log.push(`${name}@${now()}`);
      }
    };
  exec.spawn({ name: 'a', cpu: 0 }, body('a', clear, clear));
  exec.spawn({ name: 'b', cpu: 1 }, body('b', alloc));
  return exec;
}

function replayed(choices: readonly Choice[]): { log: string[]; time: TimeKeeper } {
  const time = new TimeKeeper(MODEL);
  const log: string[] = [];
  const exec = program(new TimedReplayScheduler(new ReplayScheduler(choices), time), () => time.now, log);
  time.attach(exec);
  assert.equal(exec.run().status, 'quiescent');
  time.finish();
  return { log, time };
}

test('a replayed schedule is stamped like a timed run: replaying the timed scheduler’s own choices gives the same times', () => {
  const sched = new TimedScheduler(MODEL);
  const log: string[] = [];
  const exec = program(sched, () => sched.now, log);
  sched.attach(exec);
  const result = exec.run();
  sched.finish();
  assert.deepEqual(log, ['a@0', 'b@0', 'a@10']);
  const again = replayed(result.choices);
  assert.deepEqual(again.log, log);
  assert.equal(again.time.makespan, sched.makespan);
});

test('a replayed step starts no earlier than the one before it in the schedule, even when its thread’s clock is earlier', () => {
  // The recorded order runs all of a before b. Earliest-first would have run b at 0; replayed, b
  // (its clock and CPU free at 0) starts no earlier than a's last step, at 10.
  const both = ['a', 'b'];
  const choices: Choice[] = [
    { kind: 'thread', reason: 'schedule', options: both, chosen: 0 }, // a: thread_start
    { kind: 'thread', reason: 'schedule', options: both, chosen: 0 }, // a: clear_page [0, 10)
    { kind: 'thread', reason: 'schedule', options: both, chosen: 0 }, // a: clear_page [10, 20)
    { kind: 'thread', reason: 'schedule', options: ['b'], chosen: 0 }, // b: thread_start
    { kind: 'thread', reason: 'schedule', options: ['b'], chosen: 0 }, // b: alloc_pages [10, 35)
  ];
  const { log, time } = replayed(choices);
  assert.deepEqual(log, ['a@0', 'a@10', 'b@10']);
  assert.equal(time.makespan, 35);
});

test('a listener sees each replayed step once, in schedule order, with its start and end', () => {
  const time = new TimeKeeper(MODEL);
  const seen: string[] = [];
  time.stepListeners.push((s) => seen.push(`${s.thread}:${s.step.label}@${s.start}-${s.end}`));
  const both = ['a', 'b'];
  const only = (name: string): Choice => ({ kind: 'thread', reason: 'schedule', options: [name], chosen: 0 });
  const choices: Choice[] = [
    { kind: 'thread', reason: 'schedule', options: both, chosen: 1 },
    { kind: 'thread', reason: 'schedule', options: both, chosen: 1 },
    only('a'),
    only('a'),
    only('a'),
  ];
  const exec = program(new TimedReplayScheduler(new ReplayScheduler(choices), time), () => time.now, []);
  time.attach(exec);
  exec.run();
  time.finish();
  assert.deepEqual(seen, ['1:thread_start@0-0', '1:alloc_pages@0-25', '0:thread_start@0-0', '0:clear_page@0-10', '0:clear_page@10-20']);
});

test('kptsim replay of a check token runs in simulated time: metrics, a stamped trace and the same violation', () => {
  const design = builtinDesign('immediate')!;
  const scenario = builtinScenario('vfree-huge-vmap')!;
  const found = check(design, scenario, { strategy: 'random', budget: 3, seed: 1 }, replayLabel('immediate', 'vfree-huge-vmap'));
  const v = found.violations.find((x) => x.kind === 'iommu-use-after-free');
  assert.ok(v !== undefined, 'immediate use-after-free found');
  const r = replay(design, scenario, v.replay, { timeline: true });
  const again = r.violations.find((x) => x.kind === 'iommu-use-after-free');
  assert.equal(again?.title, v.message);
  assert.equal(r.violations[0].kind, 'iommu-uncovered-free', 'the free was a hazard before the device walked it');
  assert.ok(r.simulatedNs > 0);
  assert.equal(r.metrics.pageTables.freed, 1);
  assert.equal(r.metrics.invalidations.piotlbPasid + r.metrics.invalidations.piotlbPage, 0, 'v6.18 never invalidates');
  for (let i = 1; i < r.trace.length; i++) assert.ok(r.trace[i].timeNs >= r.trace[i - 1].timeNs, `event ${i} goes back in time`);
  assert.deepEqual(r.timeline?.flows.map((f) => f.status), ['uncovered']);
  assert.equal(r.timeline?.violations[0].timeNs, r.trace.find((e) => e.cat === 'violation')?.timeNs);
});
