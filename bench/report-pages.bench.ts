/**
 * Weight and first paint of the committed HTML reports in headless Debian chromium (issue 12 §5:
 * ≤ 1.5 MB per report, first paint < 2 s). Baselines measured in the same run: an empty page (the
 * browser's own floor) and each report with the full plotly.js-dist-min bundle inlined, as reports
 * were before charts became inline SVG. Each page is loaded `ROUNDS` times; the median is reported.
 *
 *   npm run bench:reports        (needs /usr/bin/chromium; prints one JSON line at the end)
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const performance: any;

const CHROMIUM = '/usr/bin/chromium';
const ROUNDS = 5;
const DIR = 'reports';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`${CHROMIUM} is missing: install Debian's chromium`);
    console.log(JSON.stringify({ bench: 'report-pages', skipped: 'no chromium' }));
    return;
  }
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-paint-'));
  const profile = mkdtempSync(path.join(tmpdir(), 'hanlab-paint-profile-'));
  const plotly = readFileSync(createRequire(path.resolve('package.json')).resolve('plotly.js-dist-min'), 'utf8');
  const empty = path.join(work, 'empty.html');
  writeFileSync(empty, '<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>빈 페이지</title></head><body><p>빈 페이지</p></body></html>');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 800 },
  });
  /** Median first contentful paint and load-event end (ms) over ROUNDS fresh pages. */
  const firstPaint = async (file: string): Promise<number> => (await timings(file)).paint;
  const timings = async (file: string): Promise<{ paint: number; load: number }> => {
    const times: number[] = [];
    const loads: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const page = await context.newPage();
      await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const fcp: number = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const entry = performance.getEntriesByName('first-contentful-paint')[0];
            if (entry) return resolve(entry.startTime);
            new (globalThis as any).PerformanceObserver((list: any) => resolve(list.getEntries()[0].startTime)).observe({ type: 'paint', buffered: true });
          }),
      );
      times.push(fcp);
      loads.push(await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd as number));
      await page.close();
    }
    return { paint: median(times), load: median(loads) };
  };
  const figures: Record<string, unknown> = {};
  try {
    const floor = await firstPaint(empty);
    const pages = readdirSync(DIR).filter((f) => f.endsWith('.html')).sort();
    let maxBytes = 0;
    let maxPaint = 0;
    for (const file of pages) {
      const full = path.join(DIR, file);
      const bytes = statSync(full).size;
      const { paint, load } = await timings(full);
      // Baseline: the same page carrying the full plotly bundle, as the reports did before.
      const heavy = path.join(work, file);
      writeFileSync(heavy, readFileSync(full, 'utf8').replace('</body>', `<script>${plotly}</script>\n</body>`));
      const { paint: heavyPaint, load: heavyLoad } = await timings(heavy);
      maxBytes = Math.max(maxBytes, bytes);
      maxPaint = Math.max(maxPaint, paint);
      figures[file] = {
        bytes, firstPaintMs: Math.round(paint), loadMs: Math.round(load),
        withPlotlyBytes: statSync(heavy).size, withPlotlyFirstPaintMs: Math.round(heavyPaint), withPlotlyLoadMs: Math.round(heavyLoad),
        ratioToEmptyPage: Number((paint / floor).toFixed(2)), loadRatioToPlotlyPage: Number((load / heavyLoad).toFixed(2)),
      };
      console.log(`${file}: ${(bytes / 1024).toFixed(0)} KiB, first paint ${paint.toFixed(0)} ms, load ${load.toFixed(0)} ms (with plotly.js-dist-min inlined: ${(statSync(heavy).size / 1024 / 1024).toFixed(1)} MiB, first paint ${heavyPaint.toFixed(0)} ms, load ${heavyLoad.toFixed(0)} ms; empty page ${floor.toFixed(0)} ms)`);
    }
    console.log(JSON.stringify({ bench: 'report-pages', loadavg: loadavg().map((x) => Number(x.toFixed(2))), rounds: ROUNDS, emptyPageFirstPaintMs: Math.round(floor), maxBytes, maxFirstPaintMs: Math.round(maxPaint), pages: figures }));
  } finally {
    await context.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
