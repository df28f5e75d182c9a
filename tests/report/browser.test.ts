/**
 * Opens every HTML report in headless Debian chromium: the ones rendered here from the fixture
 * notebooks (and their index) and the committed reports in reports/. No console errors, no request
 * leaving the page, every chart is an inline SVG, no literal `**` or backtick in the rendered text
 * (outside code), each page at most 1.5 MB, Korean text drawn with a CJK font (asked of the browser
 * itself over CDP), and the injection fixture ran none of its payloads. A PNG per report goes to
 * .screenshots/ (git-ignored) for people to look at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { CHROMIUM, launchChromium } from './chromium.js';
import { renderReport } from '../../lib/report/pipeline.js';
import { renderIndex } from '../../lib/report/render.js';

// These callbacks run inside the page; the project compiles without the DOM lib, so they are typed here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const window: any;

const FIXTURES = path.join(process.cwd(), 'tests', 'fixtures', 'reports');
const PUBLISHED = path.join(process.cwd(), 'reports');
/** Issue 12: each HTML report stays small enough to open at once. */
const MAX_PAGE_BYTES = 1.5 * 1024 * 1024;
const SCREENSHOTS = path.join(process.cwd(), '.screenshots');
const required = Boolean(process.env.HANLAB_REQUIRE_BROWSER);
const skip = !existsSync(CHROMIUM) && !required ? `${CHROMIUM} is missing (install Debian's chromium; HANLAB_REQUIRE_BROWSER is unset)` : false;

test('every HTML report renders in chromium: no errors, no request, charts drawn, no literal ** or backtick, ≤ 1.5 MB, CJK font, payloads inert', { skip, timeout: 300_000 }, async () => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'hanlab-browser-'));
  const profile = mkdtempSync(path.join(tmpdir(), 'hanlab-chromium-profile-'));
  let context: BrowserContext | undefined;
  try {
    const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.ipynb')).sort();
    assert.ok(fixtures.length >= 5, 'fixture notebooks are present');
    const written = fixtures.map((f) => renderReport(path.join(FIXTURES, f), outDir));
    const index = renderIndex(written.map((w) => ({ name: w.name, title: w.title, template: w.template, headline: w.headline, findings: w.findings })));
    writeFileSync(path.join(outDir, 'index.html'), index.html);
    const committed = existsSync(PUBLISHED) ? readdirSync(PUBLISHED).filter((f) => f.endsWith('.html')).sort() : [];
    assert.ok(committed.length >= 7, 'the committed reports (six studies and the index) are there');
    const pages = [
      ...written.map((w) => ({ name: w.name, file: w.htmlPath })),
      { name: 'index', file: path.join(outDir, 'index.html') },
      ...committed.map((f) => ({ name: `reports-${f.replace(/\.html$/, '')}`, file: path.join(PUBLISHED, f) })),
    ];

    mkdirSync(SCREENSHOTS, { recursive: true });
    context = await launchChromium(profile, { width: 1000, height: 800 });

    for (const { name, file } of pages) {
      const page = await context.newPage();
      page.setDefaultTimeout(60_000);
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('dialog', (dialog) => {
        problems.push(`dialog opened: ${dialog.message()}`);
        void dialog.dismiss();
      });
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        problems.push(`request left the page: ${url}`);
        return route.abort();
      });

      const bytes = statSync(file).size;
      assert.ok(bytes <= MAX_PAGE_BYTES, `${name}: ${bytes} bytes, over 1.5 MB`);
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const boxes = await page.locator('figure.chart').count();
      const drawn: boolean[] = await page.evaluate(() => [...document.querySelectorAll('figure.chart')].map((box: any) => box.querySelector('svg') !== null && box.querySelector('svg').getBoundingClientRect().width > 100));
      assert.deepEqual(drawn, drawn.map(() => true), `${name}: every chart is a drawn inline SVG`);
      if (name !== 'index' && !name.endsWith('-index')) assert.ok(boxes > 0 || name === 'injection', `${name}: the report has charts`);
      // What a reader sees: no Markdown syntax left over as text (code spans and blocks may show any character).
      const literal: string[] = await page.evaluate(() => {
        const main = document.querySelector('main');
        if (!main) return ['no <main>'];
        const copy = main.cloneNode(true);
        copy.querySelectorAll('code, pre, svg').forEach((el: any) => el.remove());
        return (copy.textContent as string).split('\n').filter((line: string) => line.includes('**') || line.includes('`')).map((line: string) => line.trim().slice(0, 120));
      });
      if (name !== 'injection') assert.deepEqual(literal, [], `${name}: literal ** or backtick in the rendered text`);

      // The fonts chromium actually used for the Korean title (not just what the CSS asked for).
      const cdp = await context.newCDPSession(page);
      await cdp.send('DOM.enable');
      await cdp.send('CSS.enable');
      const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
      const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: 'h1' });
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      const families = fonts.map((f) => f.familyName);
      assert.ok(fonts.some((f) => /CJK KR|CJK/i.test(f.familyName) && f.glyphCount > 0), `${name}: Korean title drawn with a CJK font (used: ${families.join(', ')})`);
      await cdp.detach();

      if (name === 'injection') {
        const state = await page.evaluate(() => ({
          pwned: window.__pwned as string | undefined,
          scripts: document.scripts.length as number,
          injected: document.querySelectorAll('main img, main iframe, main script, main object, main embed, main a[href^="javascript" i], main foreignObject').length as number,
          handlers: [...document.querySelectorAll('main *')].flatMap((el: any) => [...el.attributes].filter((a: any) => a.name.startsWith('on')).map((a: any) => `${el.tagName}[${a.name}]`)) as string[],
          title: document.title as string,
          text: (document.querySelector('main')?.textContent ?? '') as string,
        }));
        assert.equal(state.pwned, undefined, 'no payload ran');
        assert.equal(state.injected, 0, 'no injected element exists in the page');
        assert.deepEqual(state.handlers, [], 'no element carries an event-handler attribute');
        assert.equal(state.scripts, 0, 'no script element at all');
        assert.match(state.title, /<script>alert\("title"\)<\/script>/, 'the title shows the payload as text');
        assert.ok(state.text.includes('<script>window.__pwned = "script"; alert(1)</script>'), 'the script answer reads as text');
        assert.ok(state.text.includes('<img src=x onerror="window.__pwned = \'img\'; alert(2)">'), 'the img answer reads as text');
        assert.ok(state.text.includes("[눌러 보세요](javascript:window.__pwned='link';alert(3))"), 'the javascript: link reads as text');
      }

      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
      assert.deepEqual(problems, [], `${name}: no console errors, dialogs or outside requests`);

      // On a phone-sized screen the page does not scroll sideways: wide tables scroll in their own box.
      await page.setViewportSize({ width: 390, height: 800 });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${name}: no sideways page scroll at 390px (overflow ${overflow}px)`);
      if (name === 'news-sentiment') await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-narrow.png`), fullPage: false });

      if (name === 'injection') {
        // The Content-Security-Policy itself holds: a script added later does not run.
        const ran = await page.evaluate(() => {
          const script = document.createElement('script');
          script.textContent = 'window.__cspProbe = 1';
          document.body.appendChild(script);
          return window.__cspProbe !== undefined;
        });
        assert.equal(ran, false, 'an inline script not in the policy is blocked');
      }
      await page.close();
    }
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
});
