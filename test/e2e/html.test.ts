/**
 * `--html` on run, compare and replay: the files the CLI writes, opened in headless Chromium with
 * the network cut off. Chromium is Debian's /usr/bin/chromium, driven by playwright-core; without
 * it these tests skip, except under CI (which installs it: .ci/run), where its absence fails them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { main } from '../../src/cli/main.ts';
import { builtinDesign } from '../../src/designs/index.ts';
import { assembleStudy, studyCell } from '../../src/job/study.ts';
import { studyHtml } from '../../src/report/html.ts';
import { replayLabel } from '../../src/job/label.ts';
import { builtinScenario } from '../../src/scenario/scenario.ts';
import { SERIES_COLOURS } from '../../src/report/svg.ts';

const CHROMIUM = '/usr/bin/chromium';
/** The plot area inside a chart (src/report/svg.ts lays it out at 1 px per unit), inset past the axes. */
const PLOT = { x: 66, y: 34, width: 338, height: 199 };
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SKIP = HAVE_CHROMIUM || process.env.CI ? false : `${CHROMIUM} is missing (apt-get install chromium): the browser tests are skipped`;

/** The CLI in this process (faster than a child; the same code path): exit code and output. */
async function kptsim(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { exitCode: 0, out: (s) => void (stdout += s), err: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'kptsim-html-'));
const file = (name: string) => join(dir, name);

test('an unwritable --html path (run, compare, replay) is exit 2 naming the flag, with nothing written and nothing printed', async () => {
  const target = join(dir, 'no-such-dir', 'report.html');
  const cases = [
    ['run', '--design', 'seed', '--scenario', 'vfree-huge-vmap', '--html', target],
    ['compare', '--designs', 'seed,upstream', '--scenario', 'vfree-huge-vmap', '--html', target],
  ];
  for (const args of cases) {
    const r = await kptsim(args);
    assert.equal(r.code, 2, args[0]);
    assert.match(r.stderr, /^kptsim: --html: cannot write .*no-such-dir\/report\.html: ENOENT\n$/);
    assert.equal(r.stdout, '');
    assert.ok(!existsSync(join(dir, 'no-such-dir')));
  }
  // A directory in the way: the temporary file beside it is written, the rename fails, and the
  // temporary file is removed again.
  const check = await kptsim(['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--budget', '4', '--json']);
  const token = (JSON.parse(check.stdout) as { violations: { replay: string }[] }).violations[0].replay;
  const blocked = join(dir, 'blocked');
  mkdirSync(join(blocked, 'report.html'), { recursive: true });
  const r = await kptsim(['replay', token, '--html', join(blocked, 'report.html')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kptsim: --html: cannot write .*blocked\/report\.html: E[A-Z]+\n$/);
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(blocked), ['report.html']);
});

describe('the HTML reports in headless Chromium', { skip: SKIP, timeout: 120_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  /** Every URL any page asked for. */
  const requested: string[] = [];

  before(async () => {
    if (!HAVE_CHROMIUM) assert.fail(`CI is set but ${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
    const run = await kptsim(['run', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--html', file('run.html')]);
    assert.equal(run.code, 1, run.stderr);
    const cmp = await kptsim(['compare', '--designs', 'immediate,v3,seed,upstream', '--scenario', 'vfree-huge-vmap', '--html', file('compare.html')]);
    assert.equal(cmp.code, 1, cmp.stderr);
    // v1 and v2 free at the same moments (v2 is v1 with a spinlock): identical curves, as the
    // first and the fifth series.
    const twins = await kptsim(['compare', '--designs', 'v1,immediate,v3,seed,v2,upstream', '--scenario', 'vfree-huge-vmap', '--html', file('compare-twins.html'), '--json']);
    assert.equal(twins.code, 1, twins.stderr);
    const pending = (JSON.parse(twins.stdout) as { rows: { design: string; pageTables: { pendingSeries: unknown } }[] }).rows.map((r) => JSON.stringify(r.pageTables.pendingSeries));
    assert.equal(pending[0], pending[4], 'v1 and v2 have the same pending-pages curve');
    const check = await kptsim(['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--budget', '20', '--json']);
    assert.equal(check.code, 1, check.stderr);
    const token = (JSON.parse(check.stdout) as { violations: { replay: string }[] }).violations[0].replay;
    const replay = await kptsim(['replay', token, '--html', file('replay.html')]);
    assert.equal(replay.code, 1, replay.stderr);
    // seed on mixed-reuse: one bug reported on 511 pages, a leak and an accounting error.
    const repeated = await kptsim(['run', '--design', 'seed', '--scenario', 'mixed-reuse', '--html', file('repeated.html')]);
    assert.equal(repeated.code, 1, repeated.stderr);

    // The study's report from a small study (the study command writes it the same way).
    const designs = ['immediate', 'upstream'].map((n) => builtinDesign(n)!);
    const scenario = builtinScenario('vfree-huge-vmap')!;
    const options = { budget: 4, stepBudget: 300_000, seed: 0 };
    const study = assembleStudy(designs, [{ name: scenario.name, summary: scenario.summary }], options, designs.map((d) => studyCell(d, scenario, options, replayLabel(d.name, scenario.name))));
    writeFileSync(file('study.html'), studyHtml(study));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    await context.route('**', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    context.on('request', (r) => requested.push(r.url()));
  });

  after(async () => {
    await browser?.close();
  });

  /** Opens a report; fails on any console error or page error. */
  async function open(name: string): Promise<Page> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(file(name)).href, { waitUntil: 'load' });
    assert.deepEqual(errors, [], `${name}: console errors`);
    return page;
  }

  interface ChartInfo {
    width: number;
    height: number;
    declared: number;
    series: number;
    legend: number;
    /** Width + height of each series path's bounding box. */
    extents: number[];
  }

  const chartsOf = (page: Page) =>
    page.evaluate(`[...document.querySelectorAll('svg.chart')].map((svg) => {
      const box = svg.getBoundingClientRect();
      const paths = [...svg.querySelectorAll('path.series')];
      return { width: box.width, height: box.height, declared: Number(svg.dataset.series), series: paths.length,
        legend: svg.querySelectorAll('.legend-entry').length, extents: paths.map((p) => { const b = p.getBBox(); return b.width + b.height; }) };
    })`) as Promise<ChartInfo[]>;

  /** A PNG's pixels counted by colour in a blank page (Chromium decodes it): non-white, and near each series colour. */
  async function pixels(png: Buffer): Promise<{ width: number; height: number; nonWhite: number; byColour: number[] }> {
    const blank = await context.newPage();
    const result = await blank.evaluate(`(async () => {
      const bytes = Uint8Array.from(atob('${png.toString('base64')}'), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const g = canvas.getContext('2d');
      g.drawImage(bitmap, 0, 0);
      const d = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
      const colours = ${JSON.stringify(SERIES_COLOURS.map((c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16))))};
      const byColour = colours.map(() => 0);
      let nonWhite = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235) nonWhite++;
        colours.forEach(([r, g2, b], k) => { if (Math.abs(d[i] - r) + Math.abs(d[i + 1] - g2) + Math.abs(d[i + 2] - b) < 60) byColour[k]++; });
      }
      return { width: bitmap.width, height: bitmap.height, nonWhite, byColour };
    })()`);
    await blank.close();
    return result as { width: number; height: number; nonWhite: number; byColour: number[] };
  }

  /** PNG width and height from its IHDR chunk. */
  const pngSize = (png: Buffer) => {
    assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'a PNG signature');
    return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  };

  test('compare: both charts render with one drawn series per design, and the screenshot shows every series colour', async () => {
    const page = await open('compare.html');
    const charts = await chartsOf(page);
    assert.equal(charts.length, 2);
    for (const c of charts) {
      assert.ok(c.width > 300 && c.height > 200, `chart size ${c.width}x${c.height}`);
      assert.equal(c.series, 4);
      assert.equal(c.declared, 4);
      assert.equal(c.legend, 4);
      for (const e of c.extents) assert.ok(e > 0, 'every series path has an extent');
    }
    const png = await page.locator('svg.chart').first().screenshot({ path: file('compare-pending.png') });
    const size = pngSize(png);
    // The element's box, to the pixel (its position may be fractional).
    assert.ok(Math.abs(size.width - charts[0].width) <= 2 && Math.abs(size.height - charts[0].height) <= 2, `${size.width}x${size.height}`);
    const px = await pixels(png);
    assert.equal(px.width, size.width);
    assert.ok(px.nonWhite > 2000, `only ${px.nonWhite} non-white pixels: the chart looks blank`);
    // The plot area alone (no legend, no labels): each of the four designs' lines is on screen.
    const box = (await page.locator('svg.chart').first().boundingBox())!;
    const plot = await page.screenshot({ path: file('compare-plot.png'), clip: { x: box.x + PLOT.x, y: box.y + PLOT.y, width: PLOT.width, height: PLOT.height } });
    const inPlot = await pixels(plot);
    for (let k = 0; k < 4; k++) assert.ok(inPlot.byColour[k] > 40, `series ${k} (${SERIES_COLOURS[k]}): ${inPlot.byColour[k]} pixels in the plot area`);
    const full = await page.screenshot({ path: file('compare.png'), fullPage: true });
    assert.equal(pngSize(full).width, 1400);
    assert.ok(statSync(file('compare.png')).size > 20_000);
    await page.close();
  });

  test('compare at 1280x800: the violations column is on screen, with its detail below, and identical series are drawn apart', async () => {
    const narrow = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    await narrow.route('**', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    narrow.on('request', (r) => requested.push(r.url()));
    try {
      for (const name of ['compare.html', 'compare-twins.html']) {
        const page = await narrow.newPage();
        await page.goto(pathToFileURL(file(name)).href, { waitUntil: 'load' });
        const layout = (await page.evaluate(`(() => {
          const table = document.querySelector('table.metrics');
          const head = [...table.querySelectorAll('thead th')].find((th) => /^violations/.test(th.textContent.trim()));
          const h = head.getBoundingClientRect();
          const cells = [...table.querySelectorAll('tbody tr')].map((tr) => {
            const cell = [...tr.children].find((c) => { const b = c.getBoundingClientRect(); return b.left < (h.left + h.right) / 2 && b.right > (h.left + h.right) / 2; });
            const b = cell.getBoundingClientRect();
            const link = cell.querySelector('a');
            return { design: tr.children[0].textContent, right: b.right, text: cell.textContent, target: link === null ? null : Boolean(document.querySelector(link.getAttribute('href'))) };
          });
          return { right: h.right, viewport: window.innerWidth, page: document.documentElement.scrollWidth, cells, below: document.querySelector('ul.row-violations')?.textContent ?? '' };
        })()`)) as { right: number; viewport: number; page: number; cells: { design: string; right: number; text: string; target: boolean | null }[]; below: string };
        assert.equal(layout.viewport, 1280);
        assert.ok(layout.right <= 1280, `${name}: the violations column ends at ${layout.right} px, past the 1280 px viewport`);
        assert.ok(layout.page <= 1280, `${name}: the page is ${layout.page} px wide`);
        for (const c of layout.cells) {
          assert.ok(c.right <= 1280, `${name}: ${c.design}'s violations cell ends at ${c.right} px`);
          if (c.text === 'none') continue;
          assert.match(c.text, /^\d+ reports?\d+ kinds?$/, `${name}: ${c.design}: ${c.text}`);
          assert.equal(c.target, true, `${name}: ${c.design}'s cell links to its reports`);
          assert.ok(layout.below.includes(c.design), `${name}: ${c.design}'s kinds are listed under the table`);
        }
        assert.ok(layout.cells.some((c) => c.text !== 'none'));
        await page.screenshot({ path: file(name.replace('.html', '-1280.png')) });
        await page.close();
      }

      // Identical series: drawn with another dash pattern or another marker, named in the legend.
      const page = await narrow.newPage();
      await page.goto(pathToFileURL(file('compare-twins.html')).href, { waitUntil: 'load' });
      for (const chart of [0, 1]) {
        const series = (await page.evaluate(`[...document.querySelectorAll('svg.chart')[${chart}].querySelectorAll('path.series')].map((p) => {
          const svg = p.ownerSVGElement;
          const markers = svg.querySelector('path.markers[data-name="' + p.dataset.name + '"]');
          const box = markers === null ? null : markers.getBBox();
          return { name: p.dataset.name, d: p.getAttribute('d'), dash: getComputedStyle(p).strokeDasharray, stroke: getComputedStyle(p).stroke,
            marker: markers === null ? null : markers.dataset.marker, markerBox: box === null ? null : [box.x, box.y, box.width, box.height].map(Math.round),
            legend: [...svg.querySelectorAll('.legend-entry text')].map((t) => t.textContent) };
        })`)) as { name: string; d: string; dash: string; stroke: string; marker: string | null; markerBox: number[] | null; legend: string[] }[];
        const pairs = series.flatMap((a, i) => series.slice(i + 1).filter((b) => b.d === a.d).map((b) => [a, b] as const));
        assert.ok(
          pairs.some(([a, b]) => a.name === 'v1' && b.name === 'v2'),
          `chart ${chart}: v1 and v2 are drawn identically (${pairs.map(([a, b]) => a.name + '=' + b.name).join(', ')})`,
        );
        for (const [a, b] of pairs) {
          assert.ok(a.dash !== b.dash || (a.marker !== null && b.marker !== null && a.marker !== b.marker), `chart ${chart}: ${a.name} and ${b.name} coincide with the same dash (${a.dash}) and no distinct markers`);
          assert.ok(a.markerBox !== null && b.markerBox !== null && a.markerBox[2] > 0 && b.markerBox[2] > 0, `chart ${chart}: ${a.name} and ${b.name} both show markers`);
          assert.notDeepEqual(a.markerBox, b.markerBox, `chart ${chart}: ${a.name}'s and ${b.name}'s markers stand apart`);
          assert.ok(a.legend.includes(`${b.name} (same as ${a.name})`), `chart ${chart}: the legend says ${b.name} is the same as ${a.name}: ${a.legend.join(', ')}`);
        }
      }
      // Both twins' colours show in the plot area of the pending-pages chart.
      const box = (await page.locator('svg.chart').first().boundingBox())!;
      const plot = await page.screenshot({ path: file('compare-twins-plot.png'), clip: { x: box.x + PLOT.x, y: box.y + PLOT.y, width: PLOT.width, height: PLOT.height } });
      const inPlot = await pixels(plot);
      for (const k of [0, 4]) assert.ok(inPlot.byColour[k] > 40, `series ${k} (${SERIES_COLOURS[k]}): ${inPlot.byColour[k]} pixels in the plot area`);
      await page.locator('svg.chart').first().screenshot({ path: file('compare-twins-pending.png') });
      await page.close();
    } finally {
      await narrow.close();
    }
  });

  test('run: the charts render, and the violation is shown with its step-by-step trace, its step highlighted', async () => {
    const page = await open('run.html');
    const charts = await chartsOf(page);
    assert.deepEqual(
      charts.map((c) => [c.series, c.legend]),
      [
        [1, 1],
        [1, 1],
      ],
    );
    const violation = (await page.evaluate(`(() => {
      // The hazard is reported first, at the free; the device's use-after-free follows.
      const first = document.querySelector('.violation');
      const v = document.querySelector('.violation[data-kind="iommu-use-after-free"]');
      const at = [...document.querySelectorAll('.violation-trace tr.at')];
      const box = at.length === 0 ? null : at[0].getBoundingClientRect();
      return { first: first && first.dataset.kind, kind: v && v.dataset.kind, title: v && v.querySelector('.title').textContent, rows: document.querySelectorAll('.violation-trace tbody tr').length,
        at: at.length, visible: box !== null && box.height > 0, text: at.map((r) => r.textContent).join('\\n') };
    })()`)) as { first: string; kind: string; title: string; rows: number; at: number; visible: boolean; text: string };
    assert.equal(violation.first, 'iommu-uncovered-free');
    assert.equal(violation.kind, 'iommu-use-after-free');
    assert.match(violation.title, /^BUG: IOMMU use-after-free in iommu first-stage walk/);
    assert.ok(violation.rows > 10, `${violation.rows} trace rows`);
    assert.ok(violation.at >= 1 && violation.visible, 'the reporting step is highlighted and shown');
    assert.match(violation.text, /violation.*iommu-use-after-free/);
    const png = await page.locator('.violation').first().screenshot({ path: file('run-violation.png') });
    assert.ok((await pixels(png)).nonWhite > 5000);
    await page.close();
  });

  test('run: a bug reported on 511 pages is one finding with its count, and the page stays a few screens tall even with every section open', async () => {
    const page = await open('repeated.html');
    const layout = (await page.evaluate(`(() => {
      const closed = document.documentElement.scrollHeight;
      for (const d of document.querySelectorAll('details')) d.open = true;
      const h2 = [...document.querySelectorAll('h2')];
      const top = (name) => h2.find((h) => h.textContent === name).getBoundingClientRect().top;
      const badPage = [...document.querySelectorAll('.violation[data-kind="bad-page"]')];
      return { closed, findings: document.querySelectorAll('.violation').length, listed: document.querySelectorAll('details.more-violations tbody tr').length,
        badPage: badPage.length, repeats: badPage.map((b) => b.querySelector('.repeats')?.textContent ?? ''), section: top('Trace') - top('Violations') };
    })()`)) as { closed: number; findings: number; listed: number; badPage: number; repeats: string[]; section: number };
    assert.equal(layout.badPage, 1, 'one bad-page finding');
    assert.match(layout.repeats[0], /^511 (pages|reports) like this/);
    assert.equal(layout.findings, 3, 'bad-page, leak, accounting');
    assert.equal(layout.listed, 0);
    // A finding's block is its report and its trace window (at most WINDOW_BEFORE + WINDOW_AFTER rows
    // and the reporting step's own: about 55 rows of 21 px, 1,560 px at 1400 px wide with its wrapped
    // call trace): 2,000 px a finding, opened. Ungrouped, the 511 reports made the section 20,900 px
    // (three in full, 508 listed); the whole page, every section open, was the 38,000 px of issue 15.
    assert.ok(layout.section < 2000 * layout.findings, `the violations section is ${layout.section} px tall, opened`);
    assert.ok(layout.closed < 6000, `the page is ${layout.closed} px tall as it opens`);
    await page.close();
  });

  test('replay: the replayed violation with its trace, and the replay\'s charts in simulated time', async () => {
    const page = await open('replay.html');
    const charts = await chartsOf(page);
    assert.equal(charts.length, 2);
    for (const c of charts) assert.ok(c.series === 1 && c.extents[0] > 0);
    const found = (await page.evaluate(`({ at: document.querySelectorAll('.violation-trace tr.at').length, whole: document.querySelectorAll('details.full-trace tbody tr').length, said: document.querySelector('details.full-trace summary').textContent })`)) as { at: number; whole: number; said: string };
    assert.ok(found.at >= 1);
    assert.ok(found.whole > 20, `${found.whole} events in the whole trace`);
    assert.equal(found.said, `The whole trace (${found.whole} events)`);
    await page.close();
  });

  test('study: the verdict cells are coloured apart (found, none), with the charts and replay commands', async () => {
    const page = await open('study.html');
    const charts = await chartsOf(page);
    assert.deepEqual(
      charts.map((c) => c.series),
      [2, 2],
    );
    const cells = (await page.evaluate(`[...document.querySelectorAll('td.verdict')].map((td) => ({ cls: td.className, bg: getComputedStyle(td).backgroundColor, text: td.textContent }))`)) as { cls: string; bg: string; text: string }[];
    assert.equal(cells.length, 2);
    assert.equal(cells[0].cls, 'verdict found');
    assert.match(cells[0].text, /iommu-use-after-free: \d+ of 4 executions/);
    assert.equal(cells[1].cls, 'verdict none');
    assert.match(cells[1].text, /not found in 4/);
    assert.notEqual(cells[0].bg, cells[1].bg);
    for (const c of cells) assert.notEqual(c.bg, 'rgba(0, 0, 0, 0)', 'a verdict cell has a background');
    assert.ok((await page.locator('code.replay').count()) >= 1);
    await page.screenshot({ path: file('study.png'), fullPage: true });
    await page.close();
  });

  test('no page asked for anything but its own file', () => {
    assert.ok(requested.length >= 4);
    assert.deepEqual(
      requested.filter((u) => !u.startsWith('file:')),
      [],
    );
    for (const name of ['run.html', 'compare.html', 'replay.html', 'study.html', 'repeated.html']) assert.ok(readFileSync(file(name), 'utf8').startsWith('<!DOCTYPE html>'));
  });
});
