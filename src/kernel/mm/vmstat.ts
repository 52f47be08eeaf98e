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
 */
import type { MemoryCore } from '../model/kernel.ts';
import { contextLines, page_to_nid, type Page } from '../include/linux/mm_types.ts';

export type ZoneStatItem = 'NR_FREE_PAGES';
export type NodeStatItem = 'NR_PAGETABLE';

/** MAX_NR_ZONES on x86-64 with ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE. */
export const MAX_NR_ZONES = 4;

export class VmStat {
  /** Indexed by zone_idx (one node: the model's zones are all on node 0). */
  readonly zone: Record<ZoneStatItem, Float64Array>;
  /** Indexed by node id. */
  readonly node: Record<NodeStatItem, Float64Array>;

  constructor(readonly nodes: number) {
    this.zone = { NR_FREE_PAGES: new Float64Array(MAX_NR_ZONES) };
    this.node = { NR_PAGETABLE: new Float64Array(nodes) };
  }
}

/** mod_zone_page_state() / __mod_zone_page_state(). */
export function mod_zone_page_state(k: MemoryCore, zone: { readonly zone_idx: number }, item: ZoneStatItem, delta: number): void {
  k.vmstat.zone[item][zone.zone_idx] += delta;
}

export function zone_page_state(k: MemoryCore, zone: { readonly zone_idx: number }, item: ZoneStatItem): number {
  return k.vmstat.zone[item][zone.zone_idx];
}

export function global_zone_page_state(k: MemoryCore, item: ZoneStatItem): number {
  let sum = 0;
  for (const v of k.vmstat.zone[item]) sum += v;
  return sum;
}

/** mod_lruvec_page_state(): the node counter of the page's node. */
export function mod_lruvec_page_state(k: MemoryCore, page: Page, item: NodeStatItem, delta: number): void {
  const nid = page_to_nid(k.pages, page);
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
  return k.vmstat.node[item][nid];
}

export function global_node_page_state(k: MemoryCore, item: NodeStatItem): number {
  let sum = 0;
  for (const v of k.vmstat.node[item]) sum += v;
  return sum;
}
