/**
 * Measurement 8, HTML report open time: how long Chromium takes to open the `kptsim run --html`
 * report of the run with the most repeated findings (seed on mixed-reuse: one bug on 511 pages,
 * issue 15), from navigation to the `load` event and to the first contentful paint, headless, the
 * network cut off as in test/e2e/html.test.ts. Skipped, with its reason, without Debian's chromium.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Design } from '../src/designs/index.ts';
import { runRecord, timedRun } from '../src/measure/timed-run.ts';
import { runHtml } from '../src/report/html.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { figure, type Figure } from './stats.ts';

const GROUP = '8. HTML report open time';
const CHROMIUM = '/usr/bin/chromium';

export interface HtmlOpenOptions {
  readonly design: Design;
  readonly scenario: Scenario;
  /** Page opens timed, each in a fresh page of one browser. */
  readonly opens: number;
}

/** What the page's own clock says about one open, in ms from the start of navigation. */
interface Open {
  readonly load: number;
  readonly paint: number | null;
  readonly height: number;
}

/** The figures, or why there are none. */
export async function measureHtmlOpen(o: HtmlOpenOptions): Promise<{ figures: Figure[]; skipped?: string }> {
  if (!existsSync(CHROMIUM)) return { figures: [], skipped: `${CHROMIUM} not found (apt-get install chromium)` };
  // The report as `kptsim run --html` writes it (the run job records the trace).
  const doc = runHtml(runRecord(timedRun(o.design, o.scenario, { trace: true })));
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-bench-html-'));
  const file = join(dir, 'run.html');
  writeFileSync(file, doc);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  const opens: Open[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    await context.route('**', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    for (let i = 0; i < o.opens; i++) {
      const page = await context.newPage();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      // The paint entry may land just after `load`: wait for it a little, buffered.
      opens.push(
        (await page.evaluate(`new Promise((resolve) => {
          const nav = performance.getEntriesByType('navigation')[0];
          const done = (paint) => resolve({ load: nav.loadEventEnd, paint, height: document.documentElement.scrollHeight });
          new PerformanceObserver((list) => { const p = list.getEntries().find((e) => e.name === 'first-contentful-paint'); if (p) done(p.startTime); }).observe({ type: 'paint', buffered: true });
          setTimeout(() => done(null), 2000);
        })`)) as Open,
      );
      await page.close();
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const job = `${o.design.name} on ${o.scenario.name}, ${(doc.length / 1024).toFixed(0)} KB, ${opens[0]?.height ?? 0} px tall`;
  const paints = opens.flatMap((x) => (x.paint === null ? [] : [x.paint]));
  return {
    figures: [
      figure(GROUP, `navigation to load event (${job})`, 'ms', opens.map((x) => x.load), { target: { op: '<=', value: 1000 }, note: `median of ${opens.length} opens` }),
      figure(GROUP, 'navigation to first contentful paint', 'ms', paints, paints.length < opens.length ? { note: `${opens.length - paints.length} open(s) reported no paint` } : {}),
    ],
  };
}
