/**
 * A plotly figure as HTML that draws offline in any front end that runs the scripts of trusted HTML
 * output (Notebook 6, JupyterLab without the plotly extension, nbviewer): a box and a script calling
 * Plotly.newPlot. The plotly.js bundle (npm's plotly.js-dist-min, never a CDN) rides in the first
 * figure of a kernel session only, so a notebook carries it once; later figures find window.Plotly.
 *
 * The bundle runs inside a function whose `define`, `module` and `exports` are undefined: its
 * universal-module header then sets window.Plotly instead of registering with Notebook 6's require.js.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface PlotlyFigureSpec {
  data: unknown[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

let bundle: string | undefined;

/** plotly.js-dist-min from the project's node_modules, checked to hold no `<script`/`</script` (it is inlined). */
export function plotlyBundle(root: string): string {
  if (bundle !== undefined) return bundle;
  const file = createRequire(path.join(root, 'package.json')).resolve('plotly.js-dist-min');
  const source = readFileSync(file, 'utf8');
  if (/<\/?script/i.test(source)) throw new Error(`${file} contains "<script" and cannot be inlined safely`);
  bundle = source;
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

/** `<script>` that defines window.Plotly (once per page, even if sent again after a kernel restart). */
export function plotlyLoaderHtml(root: string): string {
  return `<script type="text/javascript">if (!window.Plotly) { (function (define, module, exports) {\n${plotlyBundle(root)}\n}).call(window); }</script>`;
}

/**
 * The figure's box and drawing script; says in the box what to do when plotly.js is not in the page.
 * Deterministic (the same figure gives the same HTML, so executed notebooks compare): the script finds
 * its box as the first not yet drawn box of this figure's content hash, since notebook front ends run
 * an output's scripts right after inserting its HTML (Notebook 6 evaluates them without
 * document.currentScript, so a script cannot find its own place).
 */
export function plotlyFigureHtml(figure: PlotlyFigureSpec): string {
  const spec = scriptSafeJson({ data: figure.data, layout: figure.layout ?? {}, config: figure.config ?? {} });
  const key = createHash('sha256').update(spec).digest('hex').slice(0, 16);
  return (
    `<div class="hanlab-plot" data-figure="${key}"></div>` +
    '<script type="text/javascript">(function () {' +
    `var box = document.querySelector('div.hanlab-plot[data-figure="${key}"]:not([data-state])'); if (!box) return; var figure = ${spec};` +
    "if (!window.Plotly) { box.setAttribute('data-state', 'no-plotly'); box.textContent = 'plotly.js is not loaded in this page: it comes with the first chart of a kernel session; run that cell again.'; return; }" +
    "box.setAttribute('data-state', 'drawn');" +
    'window.Plotly.newPlot(box, figure.data, figure.layout, Object.assign({ displaylogo: false, responsive: true }, figure.config));' +
    '})();</script>'
  );
}
