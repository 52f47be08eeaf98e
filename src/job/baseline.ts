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

/** The designs to run for a comparison against `baseline`: the baseline first unless `designs` names it. */
export function designsWithBaseline(designs: readonly string[], baseline: string | undefined): readonly string[] {
  return baseline === undefined || designs.includes(baseline) ? designs : [baseline, ...designs];
}

/** A timed run's findings in a verdict's words, for a diff's baseline summary (a timed run proves nothing). */
export function timedSummary(findings: readonly { readonly kind: string }[]): string {
  return findings.length === 0 ? 'no violation in the timed run' : `bug: ${[...new Set(findings.map((f) => f.kind))].join(', ')}`;
}

/** A row of a comparison (a compare row, a study cell) and, unless it is the baseline's own, its diff against the baseline's. */
export type WithBaseline<T> = T & { readonly baseline?: BaselineDiff };

/**
 * Each row but the baseline's (`base`, its index) with what it adds, removes and keeps against the
 * baseline's row: `findings` names a row's findings, `summary` the baseline's verdict.
 */
export function againstBaseline<T extends { readonly design: string }>(
  rows: readonly T[],
  base: number,
  findings: (row: T) => readonly FindingRef[],
  summary: (row: T) => string,
): WithBaseline<T>[] {
  const baseline = rows[base];
  if (baseline === undefined) throw new RangeError(`baseline: no row ${base} of ${rows.length}`);
  const theirs = findings(baseline);
  return rows.map((row, i) => (i === base ? row : { ...row, baseline: diffFindings(baseline.design, summary(baseline), findings(row), theirs) }));
}
