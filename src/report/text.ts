/**
 * A violation's report as check and replay print it (the same lines, so they compare byte for byte);
 * the HTML report shows the same hints. And how many reports a finding stands for, in the same
 * words wherever a finding is shown.
 */
import type { FindingPages } from '../explore/index.ts';
import type { BaselineDiff, FindingRef } from '../job/baseline.ts';

/** What to look at next, per kind (docs/architecture.md, Reports: the report ends with hints). */
export const HINTS: Partial<Record<string, string>> = {
  'iommu-uncovered-free':
    'a page table the IOMMU could reach went back to the allocator before an invalidation that drops it (PASID-selective, or page-selective with ih=0 over its whole range) completed: unlink, invalidate and wait, then free. The witness token, when one is printed, shows a device walking it',
  'iommu-use-after-free':
    'the IOMMU reached a page-table page after it went back to the allocator: it must be unlinked, then the IOMMU invalidated for it (ih=0), then freed — in that order, on this path',
  'iommu-write-after-free': 'the IOMMU set Accessed/Dirty in a freed page: same order as for a use-after-free (unlink, invalidate, free)',
  'sleep-in-atomic': 'a function that may sleep (a mutex, GFP_KERNEL) ran with preemption or interrupts off: move it to process context (a work item)',
  'bad-page': 'the allocator refused a free: check the refcount (split_page for non-compound blocks), the flags and the order passed',
  leak: 'pages nothing refers to at the end: a partial free (compound_order of a non-compound block) or a list nobody drains',
  accounting: 'a destructor or constructor ran without its counterpart, or a flag made a page look like what it is not',
  'flags-corruption': 'a private bit was OR-ed into page->flags where a packed field (zone, node, last_cpupid) lives: use a real page flag',
  deadlock: 'threads wait on each other, or lockdep saw an inversion: compare the lock orders in the report',
  'list-corruption': 'a list_head was added twice or used after list_del, or a list was changed without its lock (a data-race finding names the two accesses): one owner per pt_list at a time',
  'data-race': 'two threads touched the same word, one writing, with nothing ordering them: take the lock that protects it on both sides (the report names which one held it), or make both accesses atomic; on a list, config.tornLists: true explores what the race does to it',
};

/** The report block: decoded evidence, where it was seen, and a hint. */
export function reportLines(kind: string, details: readonly string[], thread: string): string[] {
  const lines = ['  report:', ...details.map((d) => `    ${d}`), `    (seen in ${thread})`];
  const hint = HINTS[kind];
  if (hint !== undefined) lines.push('  hint:', `    ${hint}`);
  return lines;
}

/**
 * The reports a finding groups (src/measure/run-findings.ts, the checker's findings): `511 pages like
 * this: pfn 0x201-0x3ff`, or `5 reports like this` when they name no frame; null for a single report.
 * `where` narrows it (check: ` in that execution`); `dash` joins the range (HTML: an en dash).
 */
export function repeatsLine(f: { readonly hits: number; readonly pfns?: FindingPages }, where = '', dash = '-'): string | null {
  if (f.hits <= 1) return null;
  if (f.pfns === undefined) return `${f.hits} reports like this${where}`;
  return `${f.hits} pages like this${where}: pfn 0x${f.pfns.first.toString(16)}${dash}0x${f.pfns.last.toString(16)}`;
}

/** A diff against a baseline in a few signs: `+added -removed =kept`. */
export function diffCounts(d: BaselineDiff): string {
  return `+${d.added.length} -${d.removed.length} =${d.kept.length}`;
}

/**
 * What a row's design adds, removes and keeps against the baseline (compare --baseline, the study): a
 * line of counts, then each finding added or removed by kind and site (kept ones are inherited:
 * counted). Nothing for the baseline's own row.
 */
export function diffLines(row: { readonly design: string; readonly baseline?: BaselineDiff }): string[] {
  const d = row.baseline;
  if (d === undefined) return [];
  const counts = (n: number) => (n === 0 ? 'none' : String(n));
  const finding = (what: string) => (f: FindingRef) => `    ${what} ${f.kind}: ${f.site ?? f.message}`;
  return [
    `  ${row.design}: adds ${counts(d.added.length)}, removes ${counts(d.removed.length)}, keeps ${counts(d.kept.length)}`,
    ...d.added.map(finding('added')),
    ...d.removed.map(finding('removed')),
  ];
}
