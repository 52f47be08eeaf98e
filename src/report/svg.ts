/**
 * Static SVG charts for the HTML report: step functions (pending pages over time, the empirical CDF
 * of free latencies) with axes, units and a legend. Static markup, so the charts render without
 * script; coordinates printed to 0.1 px, so the same data gives the same bytes.
 *
 * Designs often free at the same moments, so series coincide. Each series differs from every other
 * (up to 30 of them) in its dash pattern or its marker shape, not only in colour; the k-th of n
 * series puts its markers only on the x positions k, k+n, k+2n, ... of a grid MARKER_SPACING px apart,
 * so where several series run along the same stretch their markers stand side by side instead of on
 * top of each other; and a series equal to an earlier one says so in the legend ("v2 (same as v1)").
 */
import { html, join, formatNumber, type Markup } from './html-markup.ts';

/** A step function: `ys[i]` holds from `xs[i]` to the next x; `y0` before the first; ends at `xEnd`. */
export interface StepSeries {
  readonly name: string;
  readonly xs: readonly number[];
  readonly ys: readonly number[];
  readonly y0: number;
  readonly xEnd: number;
  /** Why the series has nothing to draw, shown in the legend instead of a line (e.g. "no page freed"). */
  readonly empty?: string;
}

export interface StepChartOptions {
  /** Heading inside the chart. */
  readonly title: string;
  /** Axis titles with their units. */
  readonly xLabel: string;
  readonly yLabel: string;
  /** Data x divided by this before plotting (1000: ns shown as µs). */
  readonly xDivisor: number;
  /** Data y multiplied by this before plotting (100: a fraction shown as %). */
  readonly yFactor?: number;
  /** Ticks on whole numbers only (page counts). */
  readonly integerY?: boolean;
  /** The y axis reaches at least this (display units), e.g. 100 for a CDF in %. */
  readonly yMin?: number;
}

/** Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), yellow left out. */
export const SERIES_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'] as const;
/**
 * Dash patterns, so series that coincide stay visible through each other's gaps. Five patterns and
 * six marker shapes: the counts are coprime, so no two of the first 30 series share both (and with
 * the seven colours, no two of the first 210 share all three).
 */
export const SERIES_DASHES = ['', '8 4', '2 3', '10 3 2 3', '4 4'] as const;
export const SERIES_MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangle-down', 'cross'] as const;
export type MarkerShape = (typeof SERIES_MARKERS)[number];

export function seriesStyle(index: number): { readonly colour: string; readonly dash: string; readonly marker: MarkerShape } {
  return { colour: SERIES_COLOURS[index % SERIES_COLOURS.length], dash: SERIES_DASHES[index % SERIES_DASHES.length], marker: SERIES_MARKERS[index % SERIES_MARKERS.length] };
}

/** Marker half-size (px). */
const MARKER_R = 4;
/** At most this many markers per series (on its longest stretches), so long series stay legible. */
const MAX_MARKERS = 10;
/** The grid of marker positions along the x axis (px); series take turns on it. */
const MARKER_SPACING = 12;

/** A hollow marker of `shape` centred on (x, y), as path data. */
function markerPath(shape: MarkerShape, x: number, y: number, r = MARKER_R): string {
  const p = (dx: number, dy: number) => `${px(x + dx)} ${px(y + dy)}`;
  switch (shape) {
    case 'circle':
      return `M${p(-r, 0)}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0Z`;
    case 'square': {
      const h = r * 0.85;
      return `M${p(-h, -h)}L${p(h, -h)}L${p(h, h)}L${p(-h, h)}Z`;
    }
    case 'triangle':
      return `M${p(0, -1.15 * r)}L${p(r, 0.75 * r)}L${p(-r, 0.75 * r)}Z`;
    case 'triangle-down':
      return `M${p(0, 1.15 * r)}L${p(r, -0.75 * r)}L${p(-r, -0.75 * r)}Z`;
    case 'diamond':
      return `M${p(0, -1.2 * r)}L${p(1.2 * r, 0)}L${p(0, 1.2 * r)}L${p(-1.2 * r, 0)}Z`;
    case 'cross': {
      const h = r * 0.9;
      return `M${p(-h, -h)}L${p(h, h)}M${p(h, -h)}L${p(-h, h)}`;
    }
  }
}

/** Whether two series draw the same line. */
function sameData(a: StepSeries, b: StepSeries): boolean {
  return a.y0 === b.y0 && a.xEnd === b.xEnd && a.xs.length === b.xs.length && a.xs.every((x, i) => x === b.xs[i] && a.ys[i] === b.ys[i]);
}

const PLOT_LEFT = 64;
const PLOT_TOP = 34;
const PLOT_WIDTH = 340;
const PLOT_HEIGHT = 200;
const LEGEND_LEFT = PLOT_LEFT + PLOT_WIDTH + 20;
const LEGEND_ROW = 18;
/** The legend's sample line (with the series' marker in its middle), then its text. */
const LEGEND_LINE = 30;
const LEGEND_TEXT = LEGEND_LINE + 6;
/** Legend text width per character at 12px (a generous average, so long names are not clipped). */
const CHAR_WIDTH = 7;
const TICKS = 5;

/** A round tick step (1, 2 or 5 times a power of ten) so that about `TICKS` steps reach `max`. */
export function niceStep(max: number, integer: boolean): number {
  if (!(max > 0)) return 1;
  const raw = max / TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
  return integer ? Math.max(1, Math.ceil(step)) : step;
}

const px = (v: number) => v.toFixed(1);
const tick = (v: number) => formatNumber(Number(v.toPrecision(12)));

/**
 * One chart: `<svg class="chart" data-series="N">` with one `path.series` per drawn series, one
 * `path.markers` per drawn series (its shape in `data-marker`; none when no stretch is long enough), and a `.legend-entry` per series.
 */
export function stepChart(series: readonly StepSeries[], o: StepChartOptions): Markup {
  const factor = o.yFactor ?? 1;
  const drawn = series.filter((s) => s.empty === undefined);
  const xMaxData = Math.max(0, ...series.map((s) => s.xEnd / o.xDivisor));
  const yMaxData = Math.max(o.yMin ?? 0, ...drawn.map((s) => Math.max(s.y0, ...s.ys) * factor));
  const xStep = niceStep(xMaxData, false);
  const yStep = niceStep(yMaxData, o.integerY ?? false);
  const xMax = Math.max(xStep, Math.ceil(xMaxData / xStep - 1e-9) * xStep);
  // Counts get a step of headroom, so a line at the maximum does not run along the frame.
  const yMax = Math.max(yStep, o.integerY === true ? (Math.floor(yMaxData / yStep + 1e-9) + 1) * yStep : Math.ceil(yMaxData / yStep - 1e-9) * yStep);
  const X = (x: number) => PLOT_LEFT + (Math.min(x / o.xDivisor, xMax) / xMax) * PLOT_WIDTH;
  const Y = (y: number) => PLOT_TOP + PLOT_HEIGHT - ((y * factor) / yMax) * PLOT_HEIGHT;
  const bottom = PLOT_TOP + PLOT_HEIGHT;
  const label = (s: StepSeries, i: number) => {
    if (s.empty !== undefined) return `${s.name} (${s.empty})`;
    const twin = series.findIndex((t, j) => j < i && t.empty === undefined && sameData(t, s));
    return twin < 0 ? s.name : `${s.name} (same as ${series[twin].name})`;
  };
  const width = LEGEND_LEFT + LEGEND_TEXT + 8 + CHAR_WIDTH * Math.max(8, ...series.map((s, i) => label(s, i).length));
  const height = Math.max(bottom + 48, PLOT_TOP + series.length * LEGEND_ROW + 8);

  // Earlier series are drawn a little wider, under the later ones, so series that coincide (designs
  // that free at the same moments) still show as coloured edges around each other.
  const widthStep = series.length <= 1 ? 0 : Math.min(0.6, 2.4 / (series.length - 1));
  const grid: Markup[] = [];
  for (let i = 0; i * xStep <= xMax + 1e-9; i++) {
    const x = PLOT_LEFT + ((i * xStep) / xMax) * PLOT_WIDTH;
    grid.push(html`<line class="grid" x1="${px(x)}" y1="${PLOT_TOP}" x2="${px(x)}" y2="${bottom}"/><text class="tick" x="${px(x)}" y="${bottom + 16}" text-anchor="middle">${tick(i * xStep)}</text>`);
  }
  for (let i = 0; i * yStep <= yMax + 1e-9; i++) {
    const y = bottom - ((i * yStep) / yMax) * PLOT_HEIGHT;
    grid.push(html`<line class="grid" x1="${PLOT_LEFT}" y1="${px(y)}" x2="${PLOT_LEFT + PLOT_WIDTH}" y2="${px(y)}"/><text class="tick" x="${PLOT_LEFT - 6}" y="${px(y + 4)}" text-anchor="end">${tick(i * yStep)}</text>`);
  }

  const paths: Markup[] = [];
  const markers: Markup[] = [];
  const legend: Markup[] = [];
  series.forEach((s, i) => {
    const { colour, dash, marker } = seriesStyle(i);
    const strokeWidth = (2 + (series.length - 1 - i) * widthStep).toFixed(1);
    const dashed = dash === '' ? '' : html` stroke-dasharray="${dash}"`;
    const ly = PLOT_TOP + i * LEGEND_ROW + 6;
    legend.push(
      html`<g class="legend-entry" data-marker="${marker}"><line x1="${LEGEND_LEFT}" y1="${ly}" x2="${LEGEND_LEFT + LEGEND_LINE}" y2="${ly}" stroke="${colour}" stroke-width="${strokeWidth}"${dashed}/>${
        s.empty === undefined ? html`<path d="${markerPath(marker, LEGEND_LEFT + LEGEND_LINE / 2, ly)}" fill="#fff" stroke="${colour}" stroke-width="1.6"/>` : ''
      }<text x="${LEGEND_LEFT + LEGEND_TEXT}" y="${ly + 4}">${label(s, i)}</text></g>`,
    );
    if (s.empty !== undefined) return;
    const d = [`M${px(X(0))} ${px(Y(s.y0))}`];
    for (let j = 0; j < s.xs.length; j++) d.push(`H${px(X(s.xs[j]))}V${px(Y(s.ys[j]))}`);
    d.push(`H${px(X(s.xEnd))}`);
    paths.push(html`<path class="series" data-name="${s.name}" d="${d.join('')}" fill="none" stroke="${colour}" stroke-width="${strokeWidth}"${dashed}><title>${s.name}</title></path>`);
    // Markers on the longest horizontal stretches, each on this series' grid position nearest the
    // stretch's middle (clear of its corners); none on a stretch too short to hold one.
    const k = drawn.indexOf(s);
    const period = MARKER_SPACING * drawn.length;
    const slot = (from: number, to: number): number | null => {
      const origin = PLOT_LEFT + MARKER_SPACING * (k + 0.5);
      const x = origin + Math.round(((from + to) / 2 - origin) / period) * period;
      const fits = (v: number) => v >= from + MARKER_R && v <= to - MARKER_R;
      return fits(x) ? x : fits(x - period) ? x - period : fits(x + period) ? x + period : null;
    };
    const starts = [0, ...s.xs];
    const stretches = starts.flatMap((x0, j) => {
      const from = X(x0);
      const to = X(j < s.xs.length ? s.xs[j] : s.xEnd);
      const at = slot(from, to);
      return at === null ? [] : [{ j, length: to - from, x: at, y: Y(j === 0 ? s.y0 : s.ys[j - 1]) }];
    });
    const chosen = [...stretches].sort((a, b) => b.length - a.length || a.j - b.j).slice(0, MAX_MARKERS).sort((a, b) => a.j - b.j);
    if (chosen.length > 0) {
      const m = chosen.map((t) => markerPath(marker, t.x, t.y)).join('');
      markers.push(html`<path class="markers" data-name="${s.name}" data-marker="${marker}" d="${m}" fill="#fff" stroke="${colour}" stroke-width="1.6"/>`);
    }
  });

  return html`<svg class="chart" data-series="${drawn.length}" role="img" aria-label="${o.title}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<text class="chart-title" x="${PLOT_LEFT}" y="18">${o.title}</text>
${join(grid)}
<line class="axis" x1="${PLOT_LEFT}" y1="${bottom}" x2="${PLOT_LEFT + PLOT_WIDTH}" y2="${bottom}"/><line class="axis" x1="${PLOT_LEFT}" y1="${PLOT_TOP}" x2="${PLOT_LEFT}" y2="${bottom}"/>
<text class="axis-label" x="${PLOT_LEFT + PLOT_WIDTH / 2}" y="${bottom + 38}" text-anchor="middle">${o.xLabel}</text>
<text class="axis-label" transform="translate(16 ${PLOT_TOP + PLOT_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${o.yLabel}</text>
${join(paths)}
${join(markers)}
<g class="legend">${join(legend)}</g>
</svg>`;
}
