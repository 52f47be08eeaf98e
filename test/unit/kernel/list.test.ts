import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newExecution } from '../../helpers/sim.ts';
import {
  INIT_LIST_HEAD,
  LIST_POISON1,
  LIST_POISON2,
  ListArena,
  list_add,
  list_add_tail,
  list_del,
  list_del_init,
  list_empty,
  list_for_each_safe,
  list_is_singular,
  list_move,
  list_move_tail,
  list_splice,
  list_splice_init,
  list_splice_tail,
  list_splice_tail_init,
  walkList,
} from '../../../src/kernel/include/linux/list.ts';
import type { Execution } from '../../../src/sim/index.ts';

/** An arena with 8 page lru nodes (0..7), each initialised as memmap init does. */
function arena(): { exec: Execution; l: ListArena } {
  const exec = newExecution();
  const l = new ListArena(exec, 8);
  for (let p = 0; p < 8; p++) INIT_LIST_HEAD(l, p);
  return { exec, l };
}

const entries = (l: ListArena, head: number) => {
  const w = walkList(l, head);
  assert.equal(w.broken, null);
  return w.entries;
};

test('list_add inserts after the head (LIFO), list_add_tail before it (FIFO)', () => {
  const { exec, l } = arena();
  const h = l.newHead('kernel_pgtable_work.list');
  list_add(l, 1, h);
  list_add(l, 2, h);
  list_add_tail(l, 3, h);
  assert.deepEqual(entries(l, h), [2, 1, 3]);
  assert.equal(list_is_singular(l, h), false);
  assert.deepEqual(exec.violations, []);
});

test('list_add double add is detected when the entry is adjacent to the insertion point (__list_add_valid_or_report)', () => {
  const { exec, l } = arena();
  const h = l.newHead('kernel_pgtable_work.list');
  list_add(l, 1, h);
  list_add(l, 1, h);
  assert.deepEqual(exec.violations.map((v) => [v.kind, v.title]), [
    ['list-corruption', 'list_add double add: new=page 0x1 lru, prev=kernel_pgtable_work.list, next=page 0x1 lru.'],
  ]);
  assert.deepEqual(entries(l, h), [1], 'the add was skipped');
});

test('re-adding an entry that sits elsewhere in the list is NOT detected (as in Linux) and corrupts the list', () => {
  const { exec, l } = arena();
  const h = l.newHead('kernel_pgtable_work.list');
  for (const p of [3, 2, 1]) list_add(l, p, h); // h -> 1 -> 2 -> 3
  list_add(l, 2, l.prev[h]); // add 2 again after 3
  assert.deepEqual(exec.violations, []);
  assert.notEqual(walkList(l, h).broken, null);
});

test('list_del twice: the second sees ->next == LIST_POISON1 and is skipped; the entry stays poisoned', () => {
  const { exec, l } = arena();
  const h = l.newHead('free_list');
  list_add(l, 4, h);
  list_del(l, 4);
  assert.equal(l.next[4], LIST_POISON1);
  assert.equal(l.prev[4], LIST_POISON2);
  assert.equal(list_empty(l, h), true);
  list_del(l, 4);
  assert.deepEqual(exec.violations.map((v) => v.title), ['list_del corruption, page 0x4 lru->next is LIST_POISON1 (dead000000000100)']);
  assert.equal(list_empty(l, h), true);
});

test('list_del of an entry whose neighbour no longer points back is reported (next->prev should be ...)', () => {
  const { exec, l } = arena();
  const a = l.newHead('a');
  const b = l.newHead('b');
  list_add(l, 1, a);
  list_add(l, 2, a); // a -> 2 -> 1
  list_add(l, 1, b); // 1 re-added to b without a delete: 2->next is still 1, but 1->prev is now b
  list_del(l, 2);
  assert.deepEqual(exec.violations.map((v) => v.title), ['list_del corruption. next->prev should be page 0x2 lru, but was b. (next=page 0x1 lru)']);
  assert.equal(l.next[a], 2, 'the unlink was skipped');
});

test('list_add after list_del overwrites the poison (CPA collapse: list_del then pagetable_free)', () => {
  const { exec, l } = arena();
  const local = l.newHead('cpa local list');
  const work = l.newHead('kernel_pgtable_work.list');
  list_add(l, 5, local);
  list_del(l, 5);
  list_add(l, 5, work);
  assert.deepEqual(entries(l, work), [5]);
  assert.deepEqual(exec.violations, []);
});

test('list_add through a head whose ->next is poisoned takes the oops on LIST_POISON1', () => {
  const { exec, l } = arena();
  const h = l.newHead('stale head');
  list_add(l, 1, h);
  list_del(l, h); // the head itself deleted and poisoned
  list_add(l, 2, h);
  assert.equal(exec.violations.length, 1);
  assert.equal(exec.violations[0].kind, 'list-corruption');
  assert.match(exec.violations[0].title, /general protection fault, probably for non-canonical address 0xdead000000000108/);
});

test('list_splice_tail_init moves every entry to the tail of the destination and empties the source', () => {
  const { exec, l } = arena();
  const src = l.newHead('kernel_pgtable_work.list');
  const dst = l.newHead('page_list');
  list_add(l, 6, dst);
  for (const p of [1, 2, 3]) list_add(l, p, src); // src: 3, 2, 1
  list_splice_tail_init(l, src, dst);
  assert.deepEqual(entries(l, dst), [6, 3, 2, 1]);
  assert.equal(list_empty(l, src), true);
  assert.deepEqual(exec.violations, []);
});

test('list_splice_tail (no _init) leaves the source head stale: it still points at the moved entries', () => {
  const { l } = arena();
  const src = l.newHead('kernel_pgtable_work.list');
  const dst = l.newHead('page_list');
  for (const p of [1, 2]) list_add(l, p, src);
  list_splice_tail(l, src, dst);
  assert.deepEqual(entries(l, dst), [2, 1]);
  assert.equal(list_empty(l, src), false, 'the stale source still looks non-empty');
  assert.equal(l.next[src], 2);
  assert.notEqual(walkList(l, src).broken, null);
});

test('list_splice and list_splice_init join at the front', () => {
  const { l } = arena();
  const a = l.newHead('a');
  const b = l.newHead('b');
  list_add(l, 1, a);
  list_add(l, 2, b);
  list_splice(l, b, a);
  assert.deepEqual(entries(l, a), [2, 1]);
  const c = l.newHead('c');
  list_add(l, 3, c);
  list_splice_init(l, c, a);
  assert.deepEqual(entries(l, a), [3, 2, 1]);
  assert.equal(list_empty(l, c), true);
});

test('list_move moves the entry, not the head (list_move(&head, ...) would move the head itself)', () => {
  const { exec, l } = arena();
  const a = l.newHead('a');
  const b = l.newHead('b');
  list_add(l, 1, a);
  list_add(l, 2, a);
  list_move(l, 1, b);
  list_move_tail(l, 2, b);
  assert.deepEqual(entries(l, a), []);
  assert.deepEqual(entries(l, b), [1, 2]);
  list_del_init(l, 1);
  assert.equal(list_empty(l, 1), true);
  assert.deepEqual(exec.violations, []);
});

test('list_for_each_entry_safe lets the body delete the current entry', () => {
  const { exec, l } = arena();
  const h = l.newHead('page_list');
  for (const p of [1, 2, 3]) list_add_tail(l, p, h);
  const seen: number[] = [];
  for (const p of list_for_each_safe(l, h)) {
    seen.push(p);
    list_del(l, p);
  }
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(list_empty(l, h), true);
  assert.deepEqual(exec.violations, []);
});

test('iterating a list through a poisoned entry is the oops the kernel takes, and ends the loop', () => {
  const { exec, l } = arena();
  const h = l.newHead('page_list');
  for (const p of [1, 2]) list_add_tail(l, p, h);
  l.next[1] = LIST_POISON1; // a stale entry: deleted from another list while still on this one
  const seen = [...list_for_each_safe(l, h)];
  assert.deepEqual(seen, [1]);
  assert.equal(exec.violations.length, 1);
  assert.match(exec.violations[0].title, /general protection fault, probably for non-canonical address 0xdead000000000100/);
});

test('objOf: a page lru node is the page frame, a head has its own registered identity', () => {
  const { exec, l } = arena();
  const h = l.newHead('kernel_pgtable_work.list');
  assert.equal(l.objOf(3), 3);
  assert.equal(exec.objects.describe(l.objOf(h)), 'kernel_pgtable_work.list');
});
