/**
 * The data-race detector (src/kernel/kernel/kcsan.ts) over list words, and lockdep_assert_held().
 * KCSAN reports two accesses to one word from different threads, at least one a write, that no lock,
 * atomic or other synchronisation orders (Documentation/dev-tools/kcsan.rst); the model judges by
 * happens-before (src/sim/happens-before.ts), so the order the schedule ran them in does not matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { Kcsan } from '../../../src/kernel/kernel/kcsan.ts';
import { lockdep_assert_held } from '../../../src/kernel/kernel/locking/lockdep.ts';
import { spin_lock, spin_lock_init, spin_unlock, type spinlock_t } from '../../../src/kernel/kernel/locking/spinlock.ts';
import { ListArena, list_add, list_empty, type ListHead } from '../../../src/kernel/include/linux/list.ts';
import type { SyncCore } from '../../../src/kernel/model/kernel.ts';
import { DEFAULT_PAGE_FLAGS } from '../../../src/kernel/model/config.ts';
import { PageArray, __set_bit, describeFlagsWord, flagsWordOr, set_bit, test_bit } from '../../../src/kernel/include/linux/mm_types.ts';
import { PG_head, PG_referenced } from '../../../src/kernel/include/linux/page-flags.ts';
import { step, type Execution, type Scheduler, type Sim } from '../../../src/sim/index.ts';
import { newExecution, newSyncCore, runThreads, ScriptedScheduler } from '../../helpers/sim.ts';

/** A kernel core with a list arena watched by the detector, one list head, its lock and two nodes. */
function world(scheduler: Scheduler) {
  const exec = newExecution(scheduler);
  const k = newSyncCore(exec);
  const lists = new ListArena(exec, 0);
  lists.kcsan = new Kcsan(exec, k.lockdep, (w) => lists.describeWord(w));
  const head = lists.newHead('work.list');
  const lock = spin_lock_init(k, 'work.lock');
  const nodes = [lists.newNode('a.node'), lists.newNode('b.node')];
  return { exec, k, lists, head, lock, nodes };
}

/** Adds `node` to `head`, under `lock` when one is given: the step on the list, then the add. */
function* add(k: SyncCore, lists: ListArena, head: ListHead, node: ListHead, lock: spinlock_t | null): Sim {
  if (lock !== null) yield* spin_lock(k, lock);
  yield step('list_add', 'write', lists.objOf(head));
  list_add(lists, node, head);
  if (lock !== null) yield* spin_unlock(k, lock);
}

const races = (exec: Execution) => exec.violations.filter((v) => v.kind === 'data-race');

test('KCSAN: a list_add under the lock and one without it race, in whichever order they ran; the report names both accesses and the lock only one held', () => {
  for (const order of [['t0', 't0', 't0', 't0'], ['t1', 't1']]) {
    const w = world(new ScriptedScheduler(order));
    const result = runThreads(w.exec, [() => add(w.k, w.lists, w.head, w.nodes[0], w.lock), () => add(w.k, w.lists, w.head, w.nodes[1], null)]);
    assert.equal(result.status, 'quiescent');
    const [v, ...more] = races(w.exec);
    assert.deepEqual(more, [], 'one report per pair of places');
    assert.match(v.title, /^BUG: KCSAN: data-race in list_add \/ list_add$/);
    const text = v.details.join('\n');
    assert.match(text, /^(read|write) to work\.list\.(next|prev) of 8 bytes by task \d \(t\d\) on cpu \d at step \d+:/m);
    assert.match(text, /locks held: work\.lock/);
    assert.match(text, /no locks held/);
    assert.match(text, /work\.lock is held by task \d and not by task \d/);
  }
});

test('KCSAN: the same two adds both under the lock never race, in any order (the lock orders them)', () => {
  for (let seed = 0; seed < 40; seed++) {
    const w = world(new RandomScheduler(seed));
    runThreads(w.exec, [() => add(w.k, w.lists, w.head, w.nodes[0], w.lock), () => add(w.k, w.lists, w.head, w.nodes[1], w.lock)]);
    assert.deepEqual(races(w.exec), [], `seed ${seed}`);
  }
});

test('KCSAN: a step on the list orders nothing (the list is data), two reads never race, and accesses at boot are not watched', () => {
  const read = (w: ReturnType<typeof world>) =>
    function* (): Sim {
      yield step('list_empty', 'read', w.lists.objOf(w.head));
      list_empty(w.lists, w.head);
    };
  const reads = world(new ScriptedScheduler([]));
  list_add(reads.lists, reads.nodes[0], reads.head); // at boot: no thread runs
  runThreads(reads.exec, [read(reads), read(reads)]);
  assert.deepEqual(races(reads.exec), []);
  const readWrite = world(new ScriptedScheduler([]));
  runThreads(readWrite.exec, [read(readWrite), () => add(readWrite.k, readWrite.lists, readWrite.head, readWrite.nodes[1], null)]);
  assert.deepEqual(races(readWrite.exec).map((v) => v.title), ['BUG: KCSAN: data-race in list_add / list_empty']);
});

test('lockdep_assert_held: silent under the lock, a data-race WARNING naming the lock and the function without it', () => {
  const w = world(new ScriptedScheduler([]));
  runThreads(w.exec, [
    function* (): Sim {
      yield* spin_lock(w.k, w.lock);
      lockdep_assert_held(w.k, w.lock, 'take_batch');
      yield* spin_unlock(w.k, w.lock);
      yield step('after', 'local', -1);
      lockdep_assert_held(w.k, w.lock, 'take_batch');
    },
  ]);
  const [v, ...more] = w.exec.violations;
  assert.deepEqual(more, []);
  assert.equal(v.kind, 'data-race');
  assert.match(v.title, /^WARNING: CPU: 0 PID: 0 at take_batch: lockdep_assert_held\(work\.lock\)$/);
  assert.ok(v.details.includes('no locks held by t0/0.'), v.details.join('\n'));
});

test('KCSAN on page->flags: atomic bitops never race with each other; a plain __set_bit() or `page->flags |=` races with an unordered set_bit() or test_bit() (marked vs plain accesses)', () => {
  const flagsRaces = (a: (pages: PageArray) => void, b: (pages: PageArray) => void) => {
    const exec = newExecution(new ScriptedScheduler([]));
    const k = newSyncCore(exec);
    const pages = new PageArray(4, DEFAULT_PAGE_FLAGS);
    pages.kcsan = new Kcsan(exec, k.lockdep, describeFlagsWord);
    const body = (f: (pages: PageArray) => void) =>
      function* (): Sim {
        yield step('page', 'local', -1);
        f(pages);
      };
    runThreads(exec, [body(a), body(b)]);
    return races(exec).map((v) => v.details[0]);
  };
  const atomicSet = (p: PageArray) => set_bit(p, PG_referenced, 1);
  const atomicTest = (p: PageArray) => test_bit(p, PG_head, 1);
  const plainSet = (p: PageArray) => __set_bit(p, PG_head, 1);
  const plainOr = (p: PageArray) => flagsWordOr(p, 1, PG_referenced);
  assert.deepEqual(flagsRaces(atomicSet, atomicTest), []);
  assert.deepEqual(flagsRaces(atomicSet, atomicSet), []);
  assert.deepEqual(flagsRaces(atomicSet, plainSet), ['write to page 0x1 flags of 8 bytes by task 0 (t0) on cpu 0 at step 2:']);
  assert.deepEqual(flagsRaces(atomicTest, plainOr), ['read to page 0x1 flags of 8 bytes by task 0 (t0) on cpu 0 at step 2:']);
  // Another page's word is another word.
  assert.deepEqual(flagsRaces(atomicSet, (p) => __set_bit(p, PG_head, 2)), []);
});
