/**
 * Doubly linked lists with CONFIG_DEBUG_LIST (include/linux/list.h, lib/list_debug.c; v6.19).
 * docs/kernel/workqueue-and-lists.md, Lists.
 *
 * Every list_head of the model is a node of one ListArena: nodes 0..frames-1 are the pages' `lru`
 * fields (which struct page overlays with ptdesc->pt_list and buddy_list), then static heads and
 * embedded nodes created with newHead()/newNode(). A pointer is a node index or one of the negative
 * sentinels below, so NULL, LIST_POISON1/2 and uninitialised memory stay distinguishable.
 *
 * The DEBUG_LIST checks are those of __list_add_valid_or_report() and
 * __list_del_entry_valid_or_report(). On a failed check the kernel (without
 * CONFIG_BUG_ON_DATA_CORRUPTION) WARNs and skips the insertion or unlinking; the model reports
 * `list-corruption` and does the same — list_del() still poisons the entry afterwards, as in C.
 * Dereferencing a poison, NULL or uninitialised pointer where the checks do not look first (a
 * splice, the iteration) is the oops the kernel would take; it is reported the same way and the
 * operation stops there. __list_splice() has no DEBUG_LIST validation, as in Linux.
 *
 * Callers hold whatever lock protects the list and yield their own step (on objOf(head)) first, or
 * run the helper through list_step() (src/kernel/model/list-step.ts): these functions are plain,
 * atomic within that step. Each load and store of a `next` or `prev` word is told to the data-race
 * detector (src/kernel/kernel/kcsan.ts) as the C code makes it, so a list touched without its lock
 * is reported even though the step runs it whole. With `config.tornLists`, list_step() also lets the
 * stores land one step at a time, so what such a race does to the list can be explored
 * (docs/kernel/preemption-and-races.md, Torn lists).
 */
import { type Execution, type ObjectId, ModelInvariantError } from '../../../sim/index.ts';
import type { Kcsan } from '../../kernel/kcsan.ts';
import { contextLines } from './mm_types.ts';

/** A `struct list_head *`: a node index, or a sentinel below. */
export type ListHead = number;

export const LIST_NULL = -1;
/** 0x100 + POISON_POINTER_DELTA on x86-64. */
export const LIST_POISON1 = -2;
/** 0x122 + POISON_POINTER_DELTA. */
export const LIST_POISON2 = -3;
/** Memory never written (kmalloc without zeroing): dereferencing it faults. */
export const LIST_UNINIT = -4;

const SENTINEL_TEXT: Readonly<Record<number, string>> = {
  [LIST_NULL]: '0000000000000000',
  [LIST_POISON1]: 'dead000000000100',
  [LIST_POISON2]: 'dead000000000122',
  [LIST_UNINIT]: '(uninitialised)',
};

export class ListArena {
  next: Int32Array;
  prev: Int32Array;
  /** Number of nodes in use. Invariant: next/prev have at least this many entries. */
  size: number;
  private readonly names: string[] = [];
  private readonly objects: ObjectId[] = [];
  /** The data-race detector the loads and stores are told to (null: none, as at boot). */
  kcsan: Kcsan | null = null;
  /** config.tornLists: list_step() gives each store of its helper a step of its own. */
  torn = false;
  /** While a torn step's helper runs: its stores, as (node, field, value) triples, not yet made. */
  pending: number[] | null = null;

  constructor(
    readonly exec: Execution,
    /** Nodes 0..pageNodes-1 are the pages' lru fields. */
    readonly pageNodes: number,
  ) {
    const capacity = pageNodes + 64;
    this.next = new Int32Array(capacity).fill(LIST_UNINIT);
    this.prev = new Int32Array(capacity).fill(LIST_UNINIT);
    this.size = pageNodes;
  }

  /** A statically initialised head (LIST_HEAD(name)): empty, pointing to itself. */
  newHead(name: string): ListHead {
    const h = this.allocNode(name);
    this.next[h] = h;
    this.prev[h] = h;
    return h;
  }

  /** A list_head embedded in an object nobody initialised yet (kmalloc'ed memory). */
  newNode(name: string): ListHead {
    return this.allocNode(name);
  }

  /** Stores `value` in node->next (field 0) or node->prev (1), telling the data-race detector. */
  store(node: ListHead, field: number, value: ListHead): void {
    if (this.kcsan !== null && node >= 0) this.kcsan.access(node * 2 + field, true, this.store);
    if (field === NEXT) this.next[node] = value;
    else this.prev[node] = value;
  }

  /** The ObjectId a step on this list or node uses: the page's pfn for a page's lru, else the head's own id. */
  objOf(node: ListHead): ObjectId {
    if (node < 0 || node >= this.size) throw new ModelInvariantError(`objOf(${node}): not a list node`);
    return node < this.pageNodes ? node : this.objects[node - this.pageNodes];
  }

  /** A word's name in a data-race report: `kernel_pgtable_work.list.next`, `page 0x1a3 lru.prev`. */
  describeWord(word: number): string {
    return `${this.describe(word >> 1)}.${(word & 1) === NEXT ? 'next' : 'prev'}`;
  }

  /** How messages name a pointer: `page 0x1a3 lru`, a head's name, or a sentinel's value. */
  describe(node: ListHead): string {
    if (node < 0) return SENTINEL_TEXT[node] ?? `bad pointer ${node}`;
    if (node < this.pageNodes) return `page 0x${node.toString(16)} lru`;
    return this.names[node - this.pageNodes] ?? `list node ${node}`;
  }

  private allocNode(name: string): ListHead {
    if (this.size === this.next.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2).fill(LIST_UNINIT);
        b.set(a);
        return b;
      };
      this.next = grow(this.next);
      this.prev = grow(this.prev);
    }
    const node = this.size++;
    this.names.push(name);
    this.objects.push(this.exec.objects.register(name, true));
    return node;
  }
}

/* ---- plain loads and stores: told to the data-race detector, buffered in a torn step ---- */

const NEXT = 0;
const PREV = 1;
type Field = typeof NEXT | typeof PREV;

/** A load of node->next or node->prev; in a torn step it sees the step's own buffered stores first. */
function ld(l: ListArena, node: ListHead, f: Field): ListHead {
  if (l.kcsan !== null && node >= 0) l.kcsan.access(node * 2 + f, false, ld);
  const pending = l.pending;
  if (pending !== null) {
    for (let i = pending.length - 3; i >= 0; i -= 3) if (pending[i] === node && pending[i + 1] === f) return pending[i + 2];
  }
  return f === NEXT ? l.next[node] : l.prev[node];
}

/** A store; in a torn step it waits in the step's buffer for a step of its own (list_step()). */
function st(l: ListArena, node: ListHead, f: Field, value: ListHead): void {
  if (l.pending !== null) l.pending.push(node, f, value);
  else l.store(node, f, value);
}

/* ---- reporting ---- */

function corruption(l: ListArena, fn: string, message: string): void {
  l.exec.report('list-corruption', message, [`WARNING: at lib/list_debug.c ${fn}`, ...contextLines(l.exec)]);
}

/**
 * Whether `p` can be dereferenced to reach its `field` (next at offset 0, prev at offset 8); if not,
 * reports the oops the kernel would take.
 */
function deref(l: ListArena, p: ListHead, field: 'next' | 'prev', where: string): boolean {
  if (p >= 0) return true;
  const off = field === 'next' ? 0 : 8;
  let title: string;
  if (p === LIST_NULL) title = `BUG: kernel NULL pointer dereference, address: ${off.toString(16).padStart(16, '0')}`;
  else if (p === LIST_POISON1 || p === LIST_POISON2) {
    const base = p === LIST_POISON1 ? 0x100 : 0x122;
    title = `general protection fault, probably for non-canonical address 0xdead000000000${(base + off).toString(16).padStart(3, '0')}`;
  } else title = `BUG: unable to handle page fault: ->${field} read through uninitialised memory`;
  l.exec.report('list-corruption', title, [`in ${where}`, ...contextLines(l.exec)]);
  return false;
}

/* ---- include/linux/list.h ---- */

export function INIT_LIST_HEAD(l: ListArena, h: ListHead): void {
  st(l, h, NEXT, h);
  st(l, h, PREV, h);
}

/** __list_add_valid_or_report(). */
function __list_add_valid(l: ListArena, nw: ListHead, prev: ListHead, next: ListHead): boolean {
  const fn = '__list_add_valid_or_report';
  if (prev === LIST_NULL) {
    corruption(l, fn, 'list_add corruption. prev is NULL.');
    return false;
  }
  if (next === LIST_NULL) {
    corruption(l, fn, 'list_add corruption. next is NULL.');
    return false;
  }
  if (!deref(l, next, 'prev', fn)) return false;
  const nextPrev = ld(l, next, PREV);
  if (nextPrev !== prev) {
    corruption(l, fn, `list_add corruption. next->prev should be prev (${l.describe(prev)}), but was ${l.describe(nextPrev)}. (next=${l.describe(next)}).`);
    return false;
  }
  if (!deref(l, prev, 'next', fn)) return false;
  const prevNext = ld(l, prev, NEXT);
  if (prevNext !== next) {
    corruption(l, fn, `list_add corruption. prev->next should be next (${l.describe(next)}), but was ${l.describe(prevNext)}. (prev=${l.describe(prev)}).`);
    return false;
  }
  if (nw === prev || nw === next) {
    corruption(l, fn, `list_add double add: new=${l.describe(nw)}, prev=${l.describe(prev)}, next=${l.describe(next)}.`);
    return false;
  }
  return true;
}

function __list_add(l: ListArena, nw: ListHead, prev: ListHead, next: ListHead): void {
  if (!__list_add_valid(l, nw, prev, next)) return;
  st(l, next, PREV, nw);
  st(l, nw, NEXT, next);
  st(l, nw, PREV, prev);
  st(l, prev, NEXT, nw);
}

/** list_add(): insert `nw` right after `head` (LIFO). */
export function list_add(l: ListArena, nw: ListHead, head: ListHead): void {
  if (!deref(l, head, 'next', 'list_add')) return;
  __list_add(l, nw, head, ld(l, head, NEXT));
}

/** list_add_tail(): insert `nw` right before `head` (FIFO). */
export function list_add_tail(l: ListArena, nw: ListHead, head: ListHead): void {
  if (!deref(l, head, 'prev', 'list_add_tail')) return;
  __list_add(l, nw, ld(l, head, PREV), head);
}

/** __list_del_entry_valid_or_report(), given the entry's prev and next as loaded. */
function __list_del_entry_valid(l: ListArena, entry: ListHead, prev: ListHead, next: ListHead): boolean {
  const fn = '__list_del_entry_valid_or_report';
  if (next === LIST_NULL) {
    corruption(l, fn, `list_del corruption, ${l.describe(entry)}->next is NULL`);
    return false;
  }
  if (prev === LIST_NULL) {
    corruption(l, fn, `list_del corruption, ${l.describe(entry)}->prev is NULL`);
    return false;
  }
  if (next === LIST_POISON1) {
    corruption(l, fn, `list_del corruption, ${l.describe(entry)}->next is LIST_POISON1 (${l.describe(LIST_POISON1)})`);
    return false;
  }
  if (prev === LIST_POISON2) {
    corruption(l, fn, `list_del corruption, ${l.describe(entry)}->prev is LIST_POISON2 (${l.describe(LIST_POISON2)})`);
    return false;
  }
  if (!deref(l, prev, 'next', fn)) return false;
  const prevNext = ld(l, prev, NEXT);
  if (prevNext !== entry) {
    corruption(l, fn, `list_del corruption. prev->next should be ${l.describe(entry)}, but was ${l.describe(prevNext)}. (prev=${l.describe(prev)})`);
    return false;
  }
  if (!deref(l, next, 'prev', fn)) return false;
  const nextPrev = ld(l, next, PREV);
  if (nextPrev !== entry) {
    corruption(l, fn, `list_del corruption. next->prev should be ${l.describe(entry)}, but was ${l.describe(nextPrev)}. (next=${l.describe(next)})`);
    return false;
  }
  return true;
}

function __list_del_entry(l: ListArena, entry: ListHead): void {
  const prev = ld(l, entry, PREV);
  const next = ld(l, entry, NEXT);
  if (!__list_del_entry_valid(l, entry, prev, next)) return;
  st(l, next, PREV, prev);
  st(l, prev, NEXT, next);
}

/** list_del(): unlink and poison (next = LIST_POISON1, prev = LIST_POISON2), even if the check failed. */
export function list_del(l: ListArena, entry: ListHead): void {
  __list_del_entry(l, entry);
  st(l, entry, NEXT, LIST_POISON1);
  st(l, entry, PREV, LIST_POISON2);
}

export function list_del_init(l: ListArena, entry: ListHead): void {
  __list_del_entry(l, entry);
  INIT_LIST_HEAD(l, entry);
}

/** list_move(): delete from one list and add as another's head; the add runs even if the delete check failed. */
export function list_move(l: ListArena, entry: ListHead, head: ListHead): void {
  __list_del_entry(l, entry);
  list_add(l, entry, head);
}

export function list_move_tail(l: ListArena, entry: ListHead, head: ListHead): void {
  __list_del_entry(l, entry);
  list_add_tail(l, entry, head);
}

export function list_empty(l: ListArena, head: ListHead): boolean {
  return ld(l, head, NEXT) === head;
}

export function list_is_singular(l: ListArena, head: ListHead): boolean {
  const next = ld(l, head, NEXT);
  return next !== head && next === ld(l, head, PREV);
}

/** list_first_entry(): head->next, unchecked (the caller knows the list is not empty). */
export function list_first(l: ListArena, head: ListHead): ListHead {
  return ld(l, head, NEXT);
}

/** __list_splice(): link list's entries between prev and next. No DEBUG_LIST validation. */
function __list_splice(l: ListArena, list: ListHead, prev: ListHead, next: ListHead): void {
  const first = ld(l, list, NEXT);
  const last = ld(l, list, PREV);
  const where = '__list_splice';
  if (!deref(l, first, 'prev', where) || !deref(l, prev, 'next', where)) return;
  if (!deref(l, last, 'next', where) || !deref(l, next, 'prev', where)) return;
  st(l, first, PREV, prev);
  st(l, prev, NEXT, first);
  st(l, last, NEXT, next);
  st(l, next, PREV, last);
}

/** list_splice(): join `list` at the front of `head`; `list` itself is left stale. */
export function list_splice(l: ListArena, list: ListHead, head: ListHead): void {
  if (list_empty(l, list)) return;
  __list_splice(l, list, head, ld(l, head, NEXT));
}

/** list_splice_init(): as list_splice(), then reinitialise `list` to empty. */
export function list_splice_init(l: ListArena, list: ListHead, head: ListHead): void {
  if (list_empty(l, list)) return;
  __list_splice(l, list, head, ld(l, head, NEXT));
  INIT_LIST_HEAD(l, list);
}

/** list_splice_tail(): join `list` at the back of `head`; `list` still points at the moved entries. */
export function list_splice_tail(l: ListArena, list: ListHead, head: ListHead): void {
  if (list_empty(l, list)) return;
  __list_splice(l, list, ld(l, head, PREV), head);
}

/** list_splice_tail_init(): as list_splice_tail(), then reinitialise `list` to empty. */
export function list_splice_tail_init(l: ListArena, list: ListHead, head: ListHead): void {
  if (list_empty(l, list)) return;
  __list_splice(l, list, ld(l, head, PREV), head);
  INIT_LIST_HEAD(l, list);
}

/**
 * list_for_each_safe() / list_for_each_entry_safe(): yields each entry, having read its ->next
 * before the body runs, so the body may delete (or free) the current entry. Like the C loop it
 * follows pointers as they are when it gets there; a poisoned or NULL pointer is the oops the
 * kernel would take, and a loop that never returns to `head` (a corrupted cycle) is reported as the
 * soft lockup it would be. Either ends the iteration.
 */
export function* list_for_each_safe(l: ListArena, head: ListHead): Generator<ListHead, void, undefined> {
  if (!deref(l, head, 'next', 'list_for_each_entry_safe')) return;
  let pos = ld(l, head, NEXT);
  let steps = 0;
  while (pos !== head) {
    if (!deref(l, pos, 'next', 'list_for_each_entry_safe')) return;
    if (++steps > l.size) {
      l.exec.report('list-corruption', `watchdog: BUG: soft lockup - iterating ${l.describe(head)} never returns to the head`, contextLines(l.exec));
      return;
    }
    const n = ld(l, pos, NEXT);
    yield pos;
    pos = n;
  }
}

/**
 * A read-only walk for checks and oracles (never reports): the entries from head->next onwards,
 * and what is wrong if the walk does not come back to `head` through consistent links.
 */
export function walkList(l: ListArena, head: ListHead): { entries: ListHead[]; broken: string | null } {
  const entries: ListHead[] = [];
  let prev = head;
  let pos = l.next[head];
  while (pos !== head) {
    if (pos < 0) return { entries, broken: `${l.describe(prev)}->next is ${l.describe(pos)}` };
    if (l.prev[pos] !== prev) return { entries, broken: `${l.describe(pos)}->prev is ${l.describe(l.prev[pos])}, expected ${l.describe(prev)}` };
    if (entries.length > l.size) return { entries, broken: `${l.describe(head)} does not return to its head` };
    entries.push(pos);
    prev = pos;
    pos = l.next[pos];
  }
  if (l.prev[head] !== prev) return { entries, broken: `${l.describe(head)}->prev is ${l.describe(l.prev[head])}, expected ${l.describe(prev)}` };
  return { entries, broken: null };
}
