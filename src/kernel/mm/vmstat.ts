/**
 * VM statistics counters (include/linux/vmstat.h, mm/vmstat.c; v6.19): the per-zone NR_FREE_PAGES
 * the buddy allocator keeps and the per-node NR_PAGETABLE that pagetable_ctor()/pagetable_dtor()
 * move (lruvec_stat_add_folio/lruvec_stat_sub_folio → mod_lruvec_page_state; the memcg half of a
 * lruvec is not modelled).
 *
 * Linux batches these per CPU and never checks them; the model keeps exact totals and reports a
 * node's NR_PAGETABLE going negative as an `accounting` violation the moment it happens (a dtor
 * without a matching ctor: __ClearPageTable() is silent on a page with no type). Totals at
 * quiescence are the accounting/leak oracles' business.
 *
 * The data-race detector (src/kernel/kernel/kcsan.ts) watches each counter as one word: a data
 * object registered with the zones (`zone Normal NR_FREE_PAGES`, `vm_node_stat NR_PAGETABLE (node 0)`),
 * so reports name it. An update is a load then a store of the word, of one of two kinds:
 *  - marked: mod_zone_page_state() and mod_lruvec_page_state(). On x86-64 (CONFIG_HAVE_CMPXCHG_LOCAL)
 *    mm/vmstat.c's mod_zone_state()/mod_node_state() retry a this_cpu_try_cmpxchg() on the CPU's
 *    differential until it sticks and fold an overflow into the totals with atomic_long_add(); the
 *    fallback disables interrupts around the raw variant. No other update can tear either, so two
 *    marked updates never race. (lruvec_stat_mod_folio() reaches mod_node_page_state(), or the raw
 *    one with interrupts off before the v6.19 memcg stats cleanup: marked either way.)
 *  - plain: __mod_zone_page_state(), the raw variant for callers that already exclude interrupts.
 *    The buddy allocator changes NR_FREE_PAGES only through it and only under zone->lock
 *    (mm/page_alloc.c account_freepages(), which asserts lockdep_assert_held(&zone->lock), from
 *    __free_one_page() and page_del_and_expand()). The model runs a zone->lock critical section as
 *    one step on `zone.lock`, and that step orders (src/sim/happens-before.ts); a raw update made
 *    outside it races with every update it is not ordered with.
 * Reads by kernel code — zone_page_state(), node_page_state(), the global_ sums — are marked:
 * include/linux/vmstat.h reads the totals with atomic_long_read(). The oracles read the counters at
 * quiescence and between steps, when no thread runs, so the detector does not count their reads.
 *
 * [modelling choice] Linux keeps a per-CPU differential beside an atomic total, and the raw update
 * touches only the running CPU's differential: done without zone->lock (interrupts on), what it can
 * lose is an update an interrupt made on the same CPU. The model has one exact word per counter, so
 * a raw update outside zone->lock races with an unordered update from any CPU: the rule checked is
 * account_freepages()' (the buddy's count changes under zone->lock only), stricter than what KCSAN
 * could observe in Linux. For the same reason a kernel read unordered with a raw update under
 * zone->lock would be reported; no modelled kernel path reads a counter from a thread.
 */
import type { ObjectId, ObjectNames } from '../../sim/index.ts';
import type { Kcsan } from '../kernel/kcsan.ts';
import type { MemoryCore } from '../model/kernel.ts';
import { contextLines, page_to_nid, type Page } from '../include/linux/mm_types.ts';

export type ZoneStatItem = 'NR_FREE_PAGES';
export type NodeStatItem = 'NR_PAGETABLE';

/** MAX_NR_ZONES on x86-64 with ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE. */
export const MAX_NR_ZONES = 4;

/** What VmStat needs of a zone: its name for the word and its index. */
interface ZoneId {
  readonly name: string;
  readonly zone_idx: number;
}

export class VmStat {
  /** Indexed by zone_idx (one node: the model's zones are all on node 0). */
  readonly zone: Record<ZoneStatItem, Float64Array>;
  /** Indexed by node id. */
  readonly node: Record<NodeStatItem, Float64Array>;
  /** The data-race detector the counters' accesses are told to (boot.ts sets it). */
  kcsan: Kcsan | null = null;
  /**
   * Each counter's word, indexed as the counter: zones the model does not build (ZONE_DMA,
   * ZONE_MOVABLE) hold no memory, their counters stay 0 and have no word.
   */
  private readonly zoneWords: Record<ZoneStatItem, (ObjectId | undefined)[]>;
  private readonly nodeWords: Record<NodeStatItem, ObjectId[]>;

  /** Registers one data object per counter, in a fixed order (boot and its restore do the same). */
  constructor(objects: ObjectNames, nodes: number, zones: readonly ZoneId[]) {
    this.zone = { NR_FREE_PAGES: new Float64Array(MAX_NR_ZONES) };
    this.node = { NR_PAGETABLE: new Float64Array(nodes) };
    const freePages: (ObjectId | undefined)[] = [];
    for (const z of zones) freePages[z.zone_idx] = objects.register(`zone ${z.name} NR_FREE_PAGES`, true);
    this.zoneWords = { NR_FREE_PAGES: freePages };
    this.nodeWords = { NR_PAGETABLE: Array.from({ length: nodes }, (_, nid) => objects.register(`vm_node_stat NR_PAGETABLE (node ${nid})`, true)) };
  }

  zoneWord(item: ZoneStatItem, zone_idx: number): ObjectId | undefined {
    return this.zoneWords[item][zone_idx];
  }

  nodeWord(item: NodeStatItem, nid: number): ObjectId {
    return this.nodeWords[item][nid];
  }
}

/**
 * A read-modify-write of a counter's word as the detector sees it. Its own function so that a
 * report's stack ends at the vmstat function that made it.
 */
function counterRmw(v: VmStat, word: ObjectId | undefined, atomic: boolean): void {
  if (v.kcsan === null || word === undefined) return;
  v.kcsan.access(word, false, counterRmw, atomic);
  v.kcsan.access(word, true, counterRmw, atomic);
}

/** A marked load of a counter's word (atomic_long_read()). */
function counterRead(v: VmStat, word: ObjectId | undefined): void {
  if (v.kcsan !== null && word !== undefined) v.kcsan.access(word, false, counterRead, true);
}

/** mod_zone_page_state(): the irq-safe update (a marked read-modify-write). */
export function mod_zone_page_state(k: MemoryCore, zone: ZoneId, item: ZoneStatItem, delta: number): void {
  counterRmw(k.vmstat, k.vmstat.zoneWord(item, zone.zone_idx), true);
  k.vmstat.zone[item][zone.zone_idx] += delta;
}

/** __mod_zone_page_state(): the raw update (a plain read-modify-write); the buddy allocator's, under zone->lock. */
export function __mod_zone_page_state(k: MemoryCore, zone: ZoneId, item: ZoneStatItem, delta: number): void {
  counterRmw(k.vmstat, k.vmstat.zoneWord(item, zone.zone_idx), false);
  k.vmstat.zone[item][zone.zone_idx] += delta;
}

export function zone_page_state(k: MemoryCore, zone: ZoneId, item: ZoneStatItem): number {
  counterRead(k.vmstat, k.vmstat.zoneWord(item, zone.zone_idx));
  return k.vmstat.zone[item][zone.zone_idx];
}

export function global_zone_page_state(k: MemoryCore, item: ZoneStatItem): number {
  let sum = 0;
  const counters = k.vmstat.zone[item];
  for (let zone_idx = 0; zone_idx < counters.length; zone_idx++) {
    counterRead(k.vmstat, k.vmstat.zoneWord(item, zone_idx));
    sum += counters[zone_idx];
  }
  return sum;
}

/** mod_lruvec_page_state(): the node counter of the page's node, by the irq-safe (marked) update. */
export function mod_lruvec_page_state(k: MemoryCore, page: Page, item: NodeStatItem, delta: number): void {
  const nid = page_to_nid(k.pages, page);
  counterRmw(k.vmstat, k.vmstat.nodeWord(item, nid), true);
  const counters = k.vmstat.node[item];
  const before = counters[nid];
  counters[nid] = before + delta;
  if (counters[nid] < 0 && before >= 0) {
    k.exec.report('accounting', `${item} on node ${nid} went negative (${counters[nid]})`, [
      `${delta > 0 ? '+' : ''}${delta} for pfn:0x${page.toString(16)}: more pages subtracted than were ever added`,
      ...contextLines(k.exec),
    ]);
  }
}

export function node_page_state(k: MemoryCore, nid: number, item: NodeStatItem): number {
  counterRead(k.vmstat, k.vmstat.nodeWord(item, nid));
  return k.vmstat.node[item][nid];
}

export function global_node_page_state(k: MemoryCore, item: NodeStatItem): number {
  let sum = 0;
  const counters = k.vmstat.node[item];
  for (let nid = 0; nid < counters.length; nid++) {
    counterRead(k.vmstat, k.vmstat.nodeWord(item, nid));
    sum += counters[nid];
  }
  return sum;
}
