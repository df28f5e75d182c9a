/**
 * Markdown report → one self-contained HTML file: marked renders the body (with CJK-friendly emphasis),
 * our CSS styles it, and every chart is its static SVG inlined where the Markdown links the SVG file.
 * No script at all: the page needs no chart library, so it stays small and paints at once.
 *
 * Defence in depth: the Markdown is already escaped (markdown-env.ts), and on top of that the HTML
 * renderer here prints any raw HTML in the Markdown as text, drops links and images whose URL is not
 * http(s), mailto, a fragment or a relative path, never loads an image (only our own chart SVGs, which
 * Vega wrote with every label escaped, are inlined), and the page's Content-Security-Policy allows no
 * script and no network at all.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Marked, Renderer, type Tokens } from 'marked';
import { cjkFriendlyEmphasis } from './cjk-emphasis.js';
import { createHtmlEnvironment } from './markdown-env.js';

/** A chart as the HTML page inlines it: the image's file name in the Markdown, its title, its SVG. */
export interface ChartImage {
  file: string;
  title: string;
  svg: string;
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

function createMarked(charts: readonly ChartImage[]): Marked {
  const byFile = new Map(charts.map((chart) => [chart.file, chart]));
  const marked = new Marked({ gfm: true, breaks: false, async: false });
  marked.use(cjkFriendlyEmphasis());
  marked.use({
    renderer: {
      html({ text }: Tokens.HTML | Tokens.Tag): string {
        return escapeHtml(text);
      },
      paragraph(this: Renderer, token: Tokens.Paragraph): string | false {
        // A chart is an image alone in its paragraph: it becomes a figure holding the SVG itself.
        const only = token.tokens.length === 1 ? token.tokens[0] : undefined;
        const chart = only?.type === 'image' ? byFile.get((only as Tokens.Image).href) : undefined;
        if (!chart) return false;
        return `<figure class="chart" role="img" aria-label="${escapeHtml(chart.title)}">${chart.svg}</figure>\n`;
      },
      table(this: Renderer, token: Tokens.Table): string {
        // Wide tables scroll inside their own box on narrow screens instead of widening the page.
        return `<div class="table-scroll">${Renderer.prototype.table.call(this, token)}</div>\n`;
      },
      link(this: Renderer, token: Tokens.Link): string | false {
        if (isSafeUrl(token.href)) return false;
        return this.parser.parseInline(token.tokens);
      },
      image(token: Tokens.Image): string {
        // One self-contained file: no image is ever loaded; show the alt text instead.
        return escapeHtml(token.text);
      },
    },
  });
  return marked;
}

/** The Markdown body as HTML; images naming one of `charts` become that chart's inline SVG. */
export function markdownToHtml(markdown: string, charts: readonly ChartImage[] = []): string {
  return createMarked(charts).parse(markdown, { async: false }) as string;
}

export interface PageOptions {
  title: string;
  markdown: string;
  charts: readonly ChartImage[];
  templatesDir: string;
  /** Page template in templatesDir (default `_page.html.njk`). */
  pageTemplate?: string;
  /** Unused since charts are inline SVG; kept so callers need not change. */
  cwd?: string;
}

/** Assembles the self-contained page. Same inputs → same bytes. */
export function renderPage(options: PageOptions): string {
  const body = markdownToHtml(options.markdown, options.charts);
  const css = readFileSync(path.join(options.templatesDir, 'report.css'), 'utf8');
  // No script may run and no request may leave the page.
  const csp = ["default-src 'none'", "script-src 'none'", "style-src 'unsafe-inline'", 'img-src data:', 'font-src data:', "base-uri 'none'", "form-action 'none'"].join('; ');
  const env = createHtmlEnvironment(options.templatesDir);
  const nunjucksSafe = (text: string) => env.getFilter('safe')(text);
  return env.render(options.pageTemplate ?? '_page.html.njk', {
    title: options.title,
    csp,
    css: nunjucksSafe(css),
    body: nunjucksSafe(body),
  });
}
