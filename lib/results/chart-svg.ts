/// <reference path="./vega-lite-node10.d.ts" />
/**
 * Vega-Lite spec → static SVG text, in Node, without a browser: vega-lite compiles the spec, vega
 * lays it out and its SVG string renderer writes the markup. The Markdown report links each chart as
 * an SVG file beside itself; the HTML report inlines the same SVG.
 *
 * Deterministic, so a fresh machine's `npm start` writes the same bytes:
 *  - Text width comes from our own measure (East Asian width × font size), never from a canvas
 *    package that may or may not be installed: Vega uses text width for layout.
 *  - The SVG definition ids (clip paths, gradients) are reset before every chart; Vega numbers them
 *    with module-wide counters otherwise, so the ids would depend on what was drawn before.
 *  - Synchronous: with inline data the dataflow runs to completion in `run()`; the same renderer
 *    `View.toSVG()` uses then writes the scene (tests/results/chart-svg.test.ts checks both agree).
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import stringWidth from 'string-width';
import { InputError } from '../errors.js';

/** Width of one East-Asian-narrow column in em; a Hangul syllable is two columns (1 em). */
const NARROW_EM = 0.52;

interface TextItem {
  text?: unknown;
  fontSize?: number | string | null;
}

/** Text width for layout: Noto Sans CJK draws Hangul about 1 em wide and Latin about half that. */
function measure(item: TextItem, line?: unknown): number {
  const value = line ?? item.text;
  const text = value === undefined || value === null ? '' : String(value).trim();
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  return stringWidth(text) * NARROW_EM * size;
}

let configured = false;
function configureVega(): void {
  if (configured) return;
  (vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } }).textMetrics.width = measure;
  configured = true;
}

interface HeadlessView {
  run(): unknown;
  padding(): { left: number; right: number; top: number; bottom: number };
  background(): unknown;
  loader(): unknown;
  scenegraph(): { root: unknown };
  _viewWidth: number;
  _viewHeight: number;
  _origin: [number, number];
}

interface StringRenderer {
  initialize(el: null, width: number, height: number, origin: [number, number], scale: number): StringRenderer;
  background(color: unknown): StringRenderer;
  render(scene: unknown): StringRenderer;
  svg(): string | null;
}

/** The SVG for a Vega-Lite spec. Same spec → same bytes. */
export function renderSvg(spec: Record<string, unknown>): string {
  configureVega();
  const vegaSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' }) as unknown as HeadlessView;
  view.run();
  const padding = view.padding();
  const width = Math.max(0, view._viewWidth + padding.left + padding.right);
  const height = Math.max(0, view._viewHeight + padding.top + padding.bottom);
  const origin: [number, number] = [padding.left + view._origin[0], padding.top + view._origin[1]];
  (vega as unknown as { resetSVGDefIds(): void }).resetSVGDefIds();
  const Renderer = ((vega as unknown as { renderModule(name: string): { headless: new (loader: unknown) => StringRenderer } }).renderModule('svg')).headless;
  const svg = new Renderer(view.loader()).initialize(null, width, height, origin, 1).background(view.background()).render(view.scenegraph().root).svg();
  (view as unknown as { finalize(): void }).finalize();
  if (!svg) throw new InputError('the chart could not be drawn (the renderer returned nothing)', { field: 'chart' });
  return svg;
}
