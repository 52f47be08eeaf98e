import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelInvariantError, lastSteps, step } from '../../../src/sim/index.ts';
import { newExecution, runThreads } from '../../helpers/sim.ts';

test('a hook that throws is an oops: an assertion at that step, the thread dies, the others run on', () => {
  const exec = newExecution();
  let otherRan = false;
  const result = runThreads(exec, [
    function* () {
      yield step('before', 'local', -1);
      throw new RangeError('design bug');
    },
    function* () {
      yield step('other', 'local', -1);
      otherRan = true;
    },
  ]);
  assert.equal(result.status, 'quiescent');
  assert.equal(result.violations.length, 1);
  assert.equal(result.violations[0].kind, 'assertion');
  assert.match(result.violations[0].title, /^Oops: RangeError: design bug in t0$/);
  assert.ok(otherRan);
});

test('a ModelInvariantError is a kptsim bug and is never turned into a finding', () => {
  const exec = newExecution();
  assert.throws(
    () =>
      runThreads(exec, [
        function* () {
          yield step('x', 'local', -1);
          throw new ModelInvariantError('corrupt run queue');
        },
      ]),
    ModelInvariantError,
  );
});

test('the last steps list recent steps oldest first, with a run of one step shown once with its count', () => {
  const exec = newExecution();
  let trace = '';
  runThreads(exec, [
    function* (t) {
      yield step('spin_lock', 'local', -1);
      for (let i = 0; i < 3; i++) yield step('kernel_poison_pages', 'local', -1);
      yield step('free_one_page', 'local', -1);
      trace = lastSteps(t);
    },
  ]);
  assert.equal(trace, 'thread_start, spin_lock, kernel_poison_pages x3, free_one_page');
});
