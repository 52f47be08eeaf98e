/**
 * The vmstat counters as words of the data-race detector (src/kernel/mm/vmstat.ts,
 * src/kernel/kernel/kcsan.ts): the irq-safe updates (mod_zone_page_state(), mod_lruvec_page_state():
 * a this_cpu cmpxchg in mm/vmstat.c) and the readers (atomic_long_read()) are marked accesses; the
 * raw __mod_zone_page_state() is a plain read-modify-write, which the buddy allocator makes only
 * under zone->lock (account_freepages() asserts it). Each counter is a word of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { Kcsan } from '../../../src/kernel/kernel/kcsan.ts';
import { Lockdep } from '../../../src/kernel/kernel/locking/lockdep.ts';
import { bootMemory } from '../../../src/kernel/model/boot-memory.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import type { MemoryCore } from '../../../src/kernel/model/kernel.ts';
import type { Zone } from '../../../src/kernel/mm/page_alloc.ts';
import { VmStat, __mod_zone_page_state, mod_lruvec_page_state, mod_zone_page_state, zone_page_state } from '../../../src/kernel/mm/vmstat.ts';
import { NO_OBJECT, ObjectNames, step, type Execution, type Scheduler, type Sim } from '../../../src/sim/index.ts';
import { newExecution, runThreads, ScriptedScheduler } from '../../helpers/sim.ts';

/** A booted memory core (zones DMA32 and Normal, node 0) whose counters the detector watches. */
function world(scheduler: Scheduler = new ScriptedScheduler([])) {
  const exec = newExecution(scheduler);
  const k = bootMemory(exec, { ...DEFAULT_CONFIG, frames: 64 });
  k.vmstat.kcsan = new Kcsan(exec, new Lockdep(exec), (w) => exec.objects.describe(w));
  const zone = (name: string): Zone => k.zones.find((z) => z.name === name) ?? assert.fail(`no zone ${name}`);
  return { exec, k, normal: zone('Normal'), dma32: zone('DMA32') };
}

type Update = (k: MemoryCore) => void;

/** Runs each update in a thread of its own: a step that orders nothing, or the zone's lock step (free_one_page), then the update. */
function runUpdates(w: ReturnType<typeof world>, updates: readonly { update: Update; underLock?: Zone }[]): void {
  runThreads(
    w.exec,
    updates.map(({ update, underLock }) =>
      function* (): Sim {
        yield underLock === undefined ? step('vmstat update', 'local', NO_OBJECT) : step('free_one_page', 'write', underLock.lock);
        update(w.k);
      },
    ),
  );
}

const races = (exec: Execution) => exec.violations.filter((v) => v.kind === 'data-race');

test('mod_zone_page_state and mod_lruvec_page_state (this_cpu cmpxchg): two marked updates of one counter from two threads never race, in any order', () => {
  const page = 20; // in ZONE_NORMAL, node 0
  for (let seed = 0; seed < 20; seed++) {
    const free = world(new RandomScheduler(seed));
    const marked: Update = (k) => mod_zone_page_state(k, free.normal, 'NR_FREE_PAGES', 1);
    runUpdates(free, [{ update: marked }, { update: marked }]);
    assert.deepEqual(races(free.exec), [], `NR_FREE_PAGES, seed ${seed}`);

    const tables = world(new RandomScheduler(seed));
    const ctor: Update = (k) => mod_lruvec_page_state(k, page, 'NR_PAGETABLE', 1);
    runUpdates(tables, [{ update: ctor }, { update: ctor }]);
    assert.deepEqual(races(tables.exec), [], `NR_PAGETABLE, seed ${seed}`);
  }
});

test('__mod_zone_page_state outside zone->lock races with an unordered mod_zone_page_state: BUG: KCSAN: data-race naming the zone counter', () => {
  const w = world();
  runUpdates(w, [{ update: (k) => mod_zone_page_state(k, w.normal, 'NR_FREE_PAGES', 1) }, { update: (k) => __mod_zone_page_state(k, w.normal, 'NR_FREE_PAGES', -1) }]);
  const [v, ...more] = races(w.exec);
  assert.deepEqual(more, [], 'one report per pair of places');
  assert.equal(v.title, 'BUG: KCSAN: data-race in vmstat update / vmstat update');
  assert.match(v.details[0], /^write to zone Normal NR_FREE_PAGES of 8 bytes by task 0 \(t0\) on cpu 0 at step \d+:$/);
  assert.ok(v.details.some((l) => /^read to zone Normal NR_FREE_PAGES of 8 bytes by task 1 \(t1\)/.test(l)), v.details.join('\n'));
  // A marked read (zone_page_state(), atomic_long_read()) also races with the raw update, and not with a marked one.
  const read: Update = (k) => void zone_page_state(k, k.zones[k.zones.length - 1], 'NR_FREE_PAGES'); // ZONE_NORMAL
  const reads = world();
  runUpdates(reads, [{ update: read }, { update: (k) => __mod_zone_page_state(k, reads.normal, 'NR_FREE_PAGES', 1) }]);
  assert.equal(races(reads.exec).length, 1);
  const marked = world();
  runUpdates(marked, [{ update: read }, { update: (k) => mod_zone_page_state(k, marked.normal, 'NR_FREE_PAGES', 1) }]);
  assert.deepEqual(races(marked.exec), []);
});

test("__mod_zone_page_state made inside the zone's lock step on both sides never races (zone->lock orders them, account_freepages)", () => {
  for (let seed = 0; seed < 20; seed++) {
    const w = world(new RandomScheduler(seed));
    const raw: Update = (k) => __mod_zone_page_state(k, w.normal, 'NR_FREE_PAGES', 1);
    const before = w.k.vmstat.zone.NR_FREE_PAGES[w.normal.zone_idx];
    runUpdates(w, [
      { update: raw, underLock: w.normal },
      { update: raw, underLock: w.normal },
    ]);
    assert.deepEqual(races(w.exec), [], `seed ${seed}`);
    assert.equal(w.k.vmstat.zone.NR_FREE_PAGES[w.normal.zone_idx], before + 2);
  }
});

test("another zone's counter is another word: raw updates of DMA32's and Normal's NR_FREE_PAGES, unordered, do not race; each node's NR_PAGETABLE has its own word", () => {
  const w = world();
  runUpdates(w, [{ update: (k) => __mod_zone_page_state(k, w.dma32, 'NR_FREE_PAGES', 1) }, { update: (k) => __mod_zone_page_state(k, w.normal, 'NR_FREE_PAGES', 1) }]);
  assert.deepEqual(races(w.exec), []);
  // The same two raw updates of one zone's counter do race (the check above can fail).
  const same = world();
  runUpdates(same, [{ update: (k) => __mod_zone_page_state(k, same.dma32, 'NR_FREE_PAGES', 1) }, { update: (k) => __mod_zone_page_state(k, same.dma32, 'NR_FREE_PAGES', 1) }]);
  assert.match(races(same.exec)[0]?.details[0] ?? '', /to zone DMA32 NR_FREE_PAGES of 8 bytes/);
  // Node counters: the model's node updates are all marked, so words are checked by identity and name.
  const objects = new ObjectNames();
  const twoNodes = new VmStat(objects, 2, [w.normal]);
  assert.notEqual(twoNodes.nodeWord('NR_PAGETABLE', 0), twoNodes.nodeWord('NR_PAGETABLE', 1));
  assert.equal(objects.describe(twoNodes.nodeWord('NR_PAGETABLE', 1)), 'vm_node_stat NR_PAGETABLE (node 1)');
  assert.ok(objects.isData(twoNodes.nodeWord('NR_PAGETABLE', 0)), 'a counter is data: a step on it orders nothing');
});
