/**
 * Markdown report → one self-contained HTML file: marked renders the body, our CSS styles it, plotly.js
 * (from the npm package, never a CDN) is inlined once, and the chart specs ride along as inert JSON.
 *
 * Defence in depth: the Markdown is already escaped (markdown-env.ts), and on top of that the HTML
 * renderer here prints any raw HTML in the Markdown as text (only our own chart placeholders become
 * elements), drops links and images whose URL is not http(s), mailto, a fragment or a relative path,
 * and the page's Content-Security-Policy allows no network at all and only our two scripts by hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Marked, Renderer, type Tokens } from 'marked';
import { InputError } from '../errors.js';
import type { Figure } from './charts.js';
import { createHtmlEnvironment } from './markdown-env.js';

/** What a Markdown template writes where a chart goes (on its own line); see `chartPlaceholder`. */
const PLACEHOLDER = /^<!-- hanlab-chart:(\d+) -->$/;

export function chartPlaceholder(index: number): string {
  return `<!-- hanlab-chart:${index} -->`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** URLs a report may link to: web pages, mail, fragments and relative paths (sibling reports). */
export function isSafeUrl(url: string): boolean {
  const trimmed = url.trim();
  // Browsers ignore tabs/newlines and control characters inside a scheme ("java\tscript:").
  const compact = trimmed.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(compact);
  if (!scheme) return !compact.startsWith('//');
  return scheme[1] === 'http' || scheme[1] === 'https' || scheme[1] === 'mailto';
}

function createMarked(): Marked {
  const marked = new Marked({ gfm: true, breaks: false, async: false });
  marked.use({
    renderer: {
      html({ text }: Tokens.HTML | Tokens.Tag): string {
        const placeholder = PLACEHOLDER.exec(text.trim());
        if (placeholder) return `<figure class="chart"><div class="chart-plot" id="hanlab-chart-${placeholder[1]}"></div></figure>\n`;
        return escapeHtml(text);
      },
      table(this: Renderer, token: Tokens.Table): string {
        // Wide tables scroll inside their own box on narrow screens instead of widening the page.
        return `<div class="table-scroll">${Renderer.prototype.table.call(this, token)}</div>\n`;
      },
      link(this: Renderer, token: Tokens.Link): string | false {
        if (isSafeUrl(token.href)) return false;
        return this.parser.parseInline(token.tokens);
      },
      image(token: Tokens.Image): string | false {
        if (isSafeUrl(token.href) && !/^https?:/i.test(token.href.trim())) return false;
        // Remote images would break "one self-contained file"; show the alt text instead.
        return escapeHtml(token.text);
      },
    },
  });
  return marked;
}

const markdownRenderer = createMarked();

/** The Markdown body as HTML (chart placeholders become empty chart boxes). */
export function markdownToHtml(markdown: string): string {
  return markdownRenderer.parse(markdown, { async: false }) as string;
}

let plotlySource: string | undefined;

/**
 * plotly.js-dist-min's bundle, resolved from the project's node_modules (`cwd`, then process.cwd()).
 * Checked to contain no `<script`/`</script` so that it cannot end its inline <script> element early.
 */
export function plotlyBundle(cwd = process.cwd()): string {
  if (plotlySource !== undefined) return plotlySource;
  let file: string | undefined;
  let lastError: unknown;
  for (const root of [...new Set([path.resolve(cwd), process.cwd()])]) {
    try {
      file = createRequire(path.join(root, 'package.json')).resolve('plotly.js-dist-min');
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (file === undefined) {
    throw new InputError('cannot find the npm package plotly.js-dist-min; run `npm install` in the project root', { file: cwd }, { cause: lastError });
  }
  const source = readFileSync(file, 'utf8');
  if (/<\/?script/i.test(source)) throw new InputError('plotly.js bundle contains "<script" and cannot be inlined safely', { file });
  plotlySource = source;
  return source;
}

/** JSON that is safe inside a <script> element: no `<`, `>`, `&` or line separators survive literally. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Draws every chart once plotly has loaded; a chart that fails shows its error in its box. */
const CHART_SCRIPT = `(function () {
  var specs = JSON.parse(document.getElementById('hanlab-charts').textContent);
  specs.forEach(function (spec, index) {
    var box = document.getElementById('hanlab-chart-' + index);
    if (!box) return;
    Plotly.newPlot(box, spec.data, spec.layout, { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud'] });
  });
})();`;

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

export interface PageOptions {
  title: string;
  markdown: string;
  charts: Figure[];
  templatesDir: string;
  /** Page template in templatesDir (default `_page.html.njk`). */
  pageTemplate?: string;
  cwd?: string;
}

/** Assembles the self-contained page. Same inputs → same bytes. */
export function renderPage(options: PageOptions): string {
  const body = markdownToHtml(options.markdown);
  const css = readFileSync(path.join(options.templatesDir, 'report.css'), 'utf8');
  const plotly = options.charts.length > 0 ? plotlyBundle(options.cwd) : '';
  const scripts = options.charts.length > 0 ? [plotly, CHART_SCRIPT] : [];
  // Only our own inline scripts may run (by hash); no request may leave the page.
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map((s) => `'sha256-${sha256Base64(s)}'`).join(' ') || "'none'"}`,
    "style-src 'unsafe-inline'",
    'img-src data: blob:',
    'font-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const env = createHtmlEnvironment(options.templatesDir);
  const nunjucksSafe = (text: string) => env.getFilter('safe')(text);
  return env.render(options.pageTemplate ?? '_page.html.njk', {
    title: options.title,
    csp,
    css: nunjucksSafe(css),
    body: nunjucksSafe(body),
    plotly: nunjucksSafe(plotly),
    chartScript: nunjucksSafe(scripts.length ? CHART_SCRIPT : ''),
    chartsJson: nunjucksSafe(scriptSafeJson(options.charts.map((chart) => ({ data: chart.data, layout: chart.layout })))),
    hasCharts: options.charts.length > 0,
  });
}
