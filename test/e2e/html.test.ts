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
    const check = await kptsim(['check', '--design', 'immediate', '--scenario', 'vfree-huge-vmap', '--budget', '20', '--json']);
    assert.equal(check.code, 1, check.stderr);
    const token = (JSON.parse(check.stdout) as { violations: { replay: string }[] }).violations[0].replay;
    const replay = await kptsim(['replay', token, '--html', file('replay.html')]);
    assert.equal(replay.code, 1, replay.stderr);

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
      const v = document.querySelector('.violation');
      const at = [...document.querySelectorAll('.violation-trace tr.at')];
      const box = at.length === 0 ? null : at[0].getBoundingClientRect();
      return { kind: v && v.dataset.kind, title: v && v.querySelector('.title').textContent, rows: document.querySelectorAll('.violation-trace tbody tr').length,
        at: at.length, visible: box !== null && box.height > 0, text: at.map((r) => r.textContent).join('\\n') };
    })()`)) as { kind: string; title: string; rows: number; at: number; visible: boolean; text: string };
    assert.equal(violation.kind, 'iommu-use-after-free');
    assert.match(violation.title, /^BUG: IOMMU use-after-free in iommu first-stage walk/);
    assert.ok(violation.rows > 10, `${violation.rows} trace rows`);
    assert.ok(violation.at >= 1 && violation.visible, 'the reporting step is highlighted and shown');
    assert.match(violation.text, /violation.*iommu-use-after-free/);
    const png = await page.locator('.violation').first().screenshot({ path: file('run-violation.png') });
    assert.ok((await pixels(png)).nonWhite > 5000);
    await page.close();
  });

  test('replay: the replayed violation with its trace, and the replay\'s charts in simulated time', async () => {
    const page = await open('replay.html');
    const charts = await chartsOf(page);
    assert.equal(charts.length, 2);
    for (const c of charts) assert.ok(c.series === 1 && c.extents[0] > 0);
    const found = (await page.evaluate(`({ at: document.querySelectorAll('.violation-trace tr.at').length, whole: document.querySelectorAll('details.full-trace tbody tr').length })`)) as { at: number; whole: number };
    assert.ok(found.at >= 1);
    assert.ok(found.whole > 50);
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
    assert.match(cells[1].text, /none in 4 executions/);
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
    for (const name of ['run.html', 'compare.html', 'replay.html', 'study.html']) assert.ok(readFileSync(file(name), 'utf8').startsWith('<!DOCTYPE html>'));
  });
});
