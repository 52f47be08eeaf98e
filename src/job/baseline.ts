/**
 * Differential verdicts (`--baseline B`): what a design adds and removes relative to a baseline on
 * the same scenario, options and seeds — so a reviewer sees a patch's own effect, not the holes it
 * inherits. Findings are matched by kind and site (the freeing path and table level for the
 * page-table oracles); a finding with no site by kind and title, its numbers (pfns, steps) masked,
 * since they differ from one design's run to another's.
 */
import { z } from 'zod';
import { VIOLATION_KINDS } from '../sim/index.ts';

export const findingRefSchema = z.object({ kind: z.enum(VIOLATION_KINDS), site: z.string().optional(), message: z.string() });
export type FindingRef = z.infer<typeof findingRefSchema>;

export const baselineDiffSchema = z.object({
  /** The baseline design, and its verdict's summary on the same run. */
  design: z.string(),
  summary: z.string(),
  /** Found with the design, not with the baseline: what the design adds. */
  added: z.array(findingRefSchema).readonly(),
  /** Found with the baseline, not with the design: what the design removes (fixes). */
  removed: z.array(findingRefSchema).readonly(),
  /** Found with both: inherited. */
  kept: z.array(findingRefSchema).readonly(),
});
export type BaselineDiff = z.infer<typeof baselineDiffSchema>;

/** A finding as the diff names it, from a check's violation or a timed run's. */
export function findingRef(v: { readonly kind: FindingRef['kind']; readonly site?: string; readonly message?: string; readonly title?: string }): FindingRef {
  const message = v.message ?? v.title ?? '';
  return v.site === undefined ? { kind: v.kind, message } : { kind: v.kind, site: v.site, message };
}

function matchKey(f: FindingRef): string {
  return `${f.kind}\u0000${f.site ?? f.message.replace(/0x[0-9a-f]+|\b\d+\b/g, '#')}`;
}

/** `design`'s findings against `baseline`'s (each a list of findings of one run). */
export function diffFindings(baselineName: string, baselineSummary: string, design: readonly FindingRef[], baseline: readonly FindingRef[]): BaselineDiff {
  const theirs = new Set(baseline.map(matchKey));
  const ours = new Set(design.map(matchKey));
  const once = (list: readonly FindingRef[]) => [...new Map(list.map((f) => [matchKey(f), f])).values()];
  return {
    design: baselineName,
    summary: baselineSummary,
    added: once(design.filter((f) => !theirs.has(matchKey(f)))),
    removed: once(baseline.filter((f) => !ours.has(matchKey(f)))),
    kept: once(design.filter((f) => theirs.has(matchKey(f)))),
  };
}
