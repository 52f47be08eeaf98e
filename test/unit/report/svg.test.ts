import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERIES_DASHES, SERIES_MARKERS, seriesStyle, stepChart, type StepSeries } from '../../../src/report/svg.ts';

const OPTIONS = { title: 't', xLabel: 'x', yLabel: 'y', xDivisor: 1, integerY: true } as const;

/** Each drawn series of a chart: its line's dash pattern, and its markers' shape and path. */
function drawn(svg: string): Map<string, { d: string; dash: string; marker?: string; markers?: string }> {
  const out = new Map<string, { d: string; dash: string; marker?: string; markers?: string }>();
  for (const m of svg.matchAll(/<path class="series" data-name="([^"]+)" d="([^"]+)"[^>]*?(?: stroke-dasharray="([^"]+)")?>/g)) out.set(m[1], { d: m[2], dash: m[3] ?? '' });
  for (const m of svg.matchAll(/<path class="markers" data-name="([^"]+)" data-marker="([^"]+)" d="([^"]+)"/g)) Object.assign(out.get(m[1])!, { marker: m[2], markers: m[3] });
  return out;
}

test('no two of the first 30 series share both their dash pattern and their marker shape, so colour is never the only difference', () => {
  const seen = new Set<string>();
  for (let i = 0; i < SERIES_DASHES.length * SERIES_MARKERS.length; i++) {
    const { dash, marker } = seriesStyle(i);
    const key = `${dash}|${marker}`;
    assert.ok(!seen.has(key), `series ${i} repeats ${key}`);
    seen.add(key);
  }
});

test('identical series (v1 first, v2 fifth) are drawn with other dashes or markers, their markers apart, and the legend says which is the same as which', () => {
  const same = { xs: [8757, 13572], ys: [1, 0], y0: 0, xEnd: 70032 };
  const series: StepSeries[] = [
    { name: 'v1', ...same },
    { name: 'immediate', xs: [7097, 10252], ys: [1, 0], y0: 0, xEnd: 65052 },
    { name: 'v3', xs: [7112, 10282], ys: [1, 0], y0: 0, xEnd: 88437 },
    { name: 'seed', xs: [7097, 32292], ys: [1, 0], y0: 0, xEnd: 67007 },
    { name: 'v2', ...same },
  ];
  const svg = stepChart(series, OPTIONS).text;
  const lines = drawn(svg);
  const v1 = lines.get('v1')!;
  const v2 = lines.get('v2')!;
  assert.equal(v1.d, v2.d, 'the same line');
  assert.ok(v1.dash !== v2.dash || v1.marker !== v2.marker, `v1 and v2 both ${v1.dash || 'solid'} with ${v1.marker} markers`);
  assert.ok(v1.markers !== undefined && v2.markers !== undefined, 'both carry markers');
  assert.notEqual(v1.markers, v2.markers, 'their markers stand at other places');
  assert.match(svg, /<text [^>]*>v2 \(same as v1\)<\/text>/);
  assert.ok(!/immediate \(same as/.test(svg), 'series that differ are not called the same');
  assert.equal(stepChart(series, OPTIONS).text, svg, 'the same data gives the same bytes');
});

test('markers of series running along the same stretch stand side by side, one per series', () => {
  const series: StepSeries[] = Array.from({ length: 6 }, (_, i) => ({ name: `d${i}`, xs: [], ys: [], y0: 1, xEnd: 100 }));
  const xs = [...drawn(stepChart(series, OPTIONS).text).values()].map((s) => Number(/^M(-?[\d.]+)/.exec(s.markers!)![1]));
  assert.equal(new Set(xs).size, 6, `marker x positions ${xs.join(', ')}`);
  const sorted = [...xs].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i] - sorted[i - 1] >= 6, `markers ${sorted[i - 1]} and ${sorted[i]} overlap`);
});
