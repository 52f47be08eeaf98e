/**
 * A timed run's violations as findings, grouped as the checker groups them (findingKey: kind and
 * site): many pages hit by one bug are one finding with the first report, how many reports there
 * were (`hits`) and the range of frames they named (`pfns`). A long run can report one bug hundreds
 * of times; grouped, its text, JSON and HTML stay the size of the bugs, not of the pages.
 */
import { groupFindings, type FindingPages } from '../explore/index.ts';
import type { Violation } from '../sim/index.ts';

export interface RunFinding extends Violation {
  /** Reports of this finding in the run (1 or more); the fields above are the first one's. */
  readonly hits: number;
  /** The lowest and highest frame its reports named, when they named frames. */
  readonly pfns?: FindingPages;
}

/** One finding per kind and site, in the order each was first reported. */
export function groupViolations(violations: readonly Violation[]): RunFinding[] {
  return [...groupFindings(violations).values()].map(({ violation, hits, pfns }) => ({ ...violation, hits, ...(pfns === undefined ? {} : { pfns }) }));
}

/** Reports the findings stand for: the sum of their hits. */
export function reportCount(findings: readonly { readonly hits: number }[]): number {
  return findings.reduce((n, f) => n + f.hits, 0);
}
