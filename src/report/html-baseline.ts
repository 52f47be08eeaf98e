/**
 * What each design adds, removes and keeps against a baseline (compare --baseline, the study's
 * --baseline) in an HTML report: counts in a table cell, and the findings by kind and site in a
 * section of their own.
 */
import type { BaselineDiff, FindingRef } from '../job/baseline.ts';
import { html, type Markup } from './html-markup.ts';
import { diffCounts } from './text.ts';

interface Row {
  readonly design: string;
  readonly baseline?: BaselineDiff;
}

/** The counts under a verdict: `vs B: +1 -0 =2`; nothing for the baseline's own cell. */
export function diffCell(row: Row): Markup {
  return row.baseline === undefined ? html`` : html`<div class="vs-baseline">vs ${row.baseline.design}: ${diffCounts(row.baseline)}</div>`;
}

function findings(what: 'added' | 'removed' | 'kept', list: readonly FindingRef[]): Markup {
  return html`${list.map((f) => html`<li class="${what}"><b>${what}</b> ${f.kind}: <span class="mono">${f.site ?? f.message}</span></li>\n`)}`;
}

/** Under `heading`, each row's diff (the baseline's own row has none); nothing when no row has one. */
export function diffSection(heading: 'h2' | 'h3', rows: readonly Row[]): Markup {
  const base = rows.find((r) => r.baseline !== undefined)?.baseline;
  if (base === undefined) return html``;
  const title = html`Against the baseline <code>${base.design}</code>`;
  return html`${heading === 'h2' ? html`<h2>${title}</h2>` : html`<h3>${title}</h3>`}
<p class="lead">${base.design}: ${base.summary}. Findings are matched by kind and site; added: this design only, removed: the baseline only (what the design fixes), kept: both.</p>
${rows.map((r) =>
  r.baseline === undefined
    ? ''
    : html`<div class="baseline-diff"><p><strong>${r.design}</strong>: adds ${r.baseline.added.length}, removes ${r.baseline.removed.length}, keeps ${r.baseline.kept.length}</p>
<ul>${findings('added', r.baseline.added)}${findings('removed', r.baseline.removed)}${findings('kept', r.baseline.kept)}</ul></div>\n`,
)}`;
}
