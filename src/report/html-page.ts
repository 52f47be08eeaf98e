/**
 * The shell of every HTML report: one self-contained file. The style sheet is inline, the charts are
 * inline SVG, there is no script, and the Content-Security-Policy forbids any fetch — opened from
 * disk on an air-gapped machine it looks the same.
 */
import { Markup, html } from './html-markup.ts';

/** Inserted as markup: inside <style> the browser does not decode entities. */
const STYLE = `
:root { color-scheme: light; --found: #fbe3e0; --found-ink: #8f1d10; --none: #e3f4e6; --none-ink: #1d5e2b; --rule: #d5d9de; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1b1f24; background: #fff; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; padding-top: 10px; border-top: 2px solid var(--rule); }
h3 { font-size: 15px; margin: 18px 0 6px; }
h1 code, h2 code { font-size: inherit; }
p.lead { margin: 0 0 10px; color: #444c56; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; padding: 8px 10px; background: #f6f8fa; border: 1px solid var(--rule); border-radius: 4px; }
.table-wrap { overflow-x: auto; margin: 6px 0 12px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--rule); padding: 3px 8px; vertical-align: top; text-align: left; }
table.metrics th, table.metrics td { font-size: 13px; padding: 3px 5px; }
table.metrics th.group { text-align: center; }
table.metrics tbody th { max-width: 12em; overflow-wrap: break-word; }
td.summary { white-space: nowrap; }
td.summary .sub { display: block; font-size: 12px; opacity: 0.85; }
td.summary a { color: inherit; }
ul.row-violations { margin: 0 0 12px; padding-left: 20px; }
th { background: #f0f2f5; font-weight: 600; }
td.words { min-width: 12em; }
td.verdict { min-width: 17em; }
td.verdict .coverage { font-size: 12px; opacity: 0.8; }
td.verdict .vs-baseline { font-size: 12px; font-weight: 600; }
.baseline-diff ul { margin: 0 0 8px; padding-left: 20px; }
.baseline-diff li.added b { color: var(--found-ink); }
.baseline-diff li.removed b { color: var(--none-ink); }
.baseline-diff li.kept { color: #57606a; }
code.replay { overflow-wrap: anywhere; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th .unit { display: block; font-weight: 400; color: #57606a; font-size: 12px; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.found, tbody tr:nth-child(even) td.found { background: var(--found); color: var(--found-ink); }
td.none, tbody tr:nth-child(even) td.none { background: var(--none); color: var(--none-ink); }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-weight: 600; }
.badge.found { background: var(--found); color: var(--found-ink); }
.badge.none { background: var(--none); color: var(--none-ink); }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { max-width: 100%; height: auto; background: #fff; border: 1px solid var(--rule); border-radius: 4px; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #1b1f24; }
svg.chart .chart-title { font-weight: 600; font-size: 13px; }
svg.chart .tick { fill: #57606a; font-size: 11px; }
svg.chart .grid { stroke: #e6e9ed; stroke-width: 1; }
svg.chart .axis { stroke: #57606a; stroke-width: 1; }
.violation { border: 1px solid #e5b3ab; border-left: 4px solid var(--found-ink); border-radius: 4px; padding: 6px 12px; margin: 10px 0; }
.violation .title { font-weight: 600; color: var(--found-ink); }
.hint { color: #444c56; }
details { margin: 6px 0; }
summary { cursor: pointer; font-weight: 600; }
table.trace td { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; padding: 1px 6px; }
table.trace td.text { white-space: pre-wrap; overflow-wrap: anywhere; }
table.trace tr.at td { background: var(--found); }
table.trace tr.cat-violation td { color: var(--found-ink); font-weight: 600; }
.muted { color: #57606a; }
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** A whole document. */
export function page(title: string, body: Markup): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kptsim">
<title>${title}</title>
<style>${new Markup(STYLE)}</style>
</head>
<body>
${body}
</body>
</html>
`.text;
}
