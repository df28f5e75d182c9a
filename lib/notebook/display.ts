/**
 * Rich output from inside notebooks: results for the report (`emit`), tables, plotly figures, and
 * clearing a cell's output.
 *
 * Under the hanlab kernel each call sends one `display_data` message carrying several mime types at
 * once through the kernel's display channel (lib/kernel/display-channel.ts, found on globalThis, so
 * this module imports no kernel code); the kernel adds the HTML forms (the report's own rendering of a
 * result, plotly figures that draw offline). Under a stock tslab kernel we fall back to tslab's own
 * display sender (`lastWriteDisplayData` in tslab/dist/jupyter.js, the function `display.raw` calls),
 * found in Node's module cache. Outside a kernel (a script, a test) every helper prints its
 * text/plain form, so the same code runs anywhere.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { MAX_JSON_DEPTH, resultMimeBundle, toJsonValue, type EmitOptions } from '../results/emit.js';
import { KERNEL_DISPLAY_KEY, PLOTLY_MIME, RESULT_MIME, type DisplayContent, type KernelDisplayChannel } from '../results/mime.js';
import { columnWidths, formatTextRow } from '../text-columns.js';

export { MAX_JSON_DEPTH, PLOTLY_MIME, RESULT_MIME, toJsonValue, type EmitOptions };

/** mime type -> data, as in nbformat. */
export type MimeBundle = Record<string, unknown>;

type DisplaySender = (content: DisplayContent, update: boolean) => void;

/** The hanlab kernel's display channel, when this code runs in one. */
function hanlabChannel(): KernelDisplayChannel | undefined {
  const channel = (globalThis as Record<symbol, unknown>)[Symbol.for(KERNEL_DISPLAY_KEY)];
  return channel && typeof (channel as KernelDisplayChannel).display === 'function' ? (channel as KernelDisplayChannel) : undefined;
}

/** A stock tslab kernel's display sender, or undefined outside one (or before its first cell). */
function tslabSender(): DisplaySender | undefined {
  const cache = createRequire(path.join(process.cwd(), 'package.json')).cache;
  for (const key of Object.keys(cache)) {
    if (!key.endsWith(`${path.sep}tslab${path.sep}dist${path.sep}jupyter.js`)) continue;
    const sender = (cache[key]?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof sender === 'function') return sender as DisplaySender;
  }
  return undefined;
}

function kernelSender(): DisplaySender | undefined {
  const channel = hanlabChannel();
  return channel ? (content, update) => channel.display(content, update) : tslabSender();
}

/** Whether rich output goes to a Jupyter front end (true inside a hanlab or tslab kernel). */
export function inKernel(): boolean {
  return kernelSender() !== undefined;
}

export interface DisplayOptions {
  /** Names this output so that a later `displayBundle(..., { displayId, update: true })` replaces it in place. */
  displayId?: string;
  /** Replace the output shown under `displayId` instead of adding one. */
  update?: boolean;
}

/** Displays a mime bundle; outside a kernel prints its text/plain part. */
export function displayBundle(data: MimeBundle, metadata: Record<string, unknown> = {}, options: DisplayOptions = {}): void {
  const sender = kernelSender();
  if (sender) {
    if (options.update && !options.displayId) throw new TypeError('displayBundle: update needs the displayId of the output to replace');
    sender({ data, metadata, transient: options.displayId ? { display_id: options.displayId } : {} }, options.update === true);
    return;
  }
  const text = data['text/plain'];
  if (typeof text === 'string') console.log(text);
}

/**
 * Clears the running cell's output (Jupyter's clear_output). With `wait`, the front end clears only
 * when the next output arrives, so a progress display that redraws itself does not flicker. Outside
 * a kernel, and under a stock tslab kernel (which cannot send it), does nothing.
 */
export function clearOutput(wait = false): void {
  hanlabChannel()?.clearOutput(wait);
}

/**
 * Publishes a named result for the report: a RESULT_MIME bundle `{ name, value }` and a short text for
 * people (the hanlab kernel adds the report's own HTML rendering of it). `value` must be plain JSON
 * (objects, arrays, strings, finite numbers, booleans, null; Dates become ISO strings, typed arrays
 * plain arrays); anything JSON would silently change (NaN, undefined, Map, functions, cycles) is a
 * TypeError naming where it is, because a report must never show a value the notebook did not
 * compute. Returns nothing, so that the kernel does not print the value again when emit() is a
 * cell's last expression.
 */
export function emit(name: string, value: unknown, summaryOrOptions?: string | EmitOptions): void {
  displayBundle(resultMimeBundle(name, value, summaryOrOptions));
}

export interface TableOptions {
  /** Columns to show, in order; default: every key of the rows, in first-seen order. */
  columns?: string[];
  /** Show at most this many rows (the text says how many were left out); default 50. */
  maxRows?: number;
  caption?: string;
  /** Digits after the point for non-integer numbers; default 4. */
  digits?: number;
}

/**
 * A danfojs DataFrame (or Series), as far as showTable needs it: no import, danfojs is heavy and
 * optional here. A real `danfojs-node` DataFrame fits (its `values` type is "1-D or 2-D array").
 */
export interface DataFrameLike {
  readonly columns: readonly string[];
  readonly values: readonly unknown[];
  readonly index?: readonly unknown[];
}

/** Displays rows (objects) or a danfojs DataFrame/Series as an HTML table (every cell escaped) with a text fallback. */
export function showTable(rowsOrFrame: readonly Record<string, unknown>[] | DataFrameLike, options: TableOptions = {}): void {
  const { columns, rows } = tableData(rowsOrFrame, options.columns);
  displayBundle(tableBundle(columns, rows, options));
}

/**
 * The mime bundle of a table: HTML (every cell escaped) and aligned text, at most `maxRows` rows.
 * Also what the kernel shows for a DataFrame, Series or tensor that is a cell's value.
 */
export function tableBundle(columns: readonly string[], rows: readonly (readonly unknown[])[], options: Omit<TableOptions, 'columns'> & { totalRows?: number } = {}): MimeBundle {
  const maxRows = options.maxRows ?? 50;
  const shown = rows.slice(0, maxRows);
  const digits = options.digits ?? 4;
  const cell = (value: unknown) => formatCell(value, digits);
  // `totalRows`: the caller passed only the first rows of a bigger table.
  const total = Math.max(options.totalRows ?? rows.length, rows.length);
  const hidden = total - shown.length;
  const note = hidden > 0 ? `… ${hidden} more rows (${total} in all)` : '';

  const html = [
    '<table class="hanlab-table">',
    options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : '',
    '<thead><tr>' + columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('') + '</tr></thead>',
    '<tbody>',
    ...shown.map((row) => '<tr>' + row.map((value) => `<td>${escapeHtml(cell(value))}</td>`).join('') + '</tr>'),
    '</tbody>',
    '</table>',
    note ? `<p>${escapeHtml(note)}</p>` : '',
  ].join('');

  const textRows = [[...columns], ...shown.map((row) => row.map(cell))];
  const widths = columnWidths(textRows).slice(0, columns.length);
  const line = (row: string[]) => formatTextRow(row, widths);
  const text = [options.caption ?? '', line([...columns]), widths.map((width) => '-'.repeat(width)).join('  '), ...textRows.slice(1).map(line), note]
    .filter((part) => part !== '')
    .join('\n');
  return { 'text/html': html, 'text/plain': text };
}

/** A plotly figure: data traces and layout, as plotly.newPlot takes them. */
export interface PlotlyFigure {
  data: unknown[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/**
 * Displays a plotly figure in the notebook (JupyterLab draws the plotly mime type; the hanlab kernel adds
 * HTML that draws it offline) with a text fallback. Reports do not show it: emit a result for them.
 */
export function showPlot(figure: PlotlyFigure, summary?: string): void {
  if (!figure || !Array.isArray(figure.data)) throw new TypeError('showPlot(figure): figure.data must be an array of traces');
  const json = toJsonValue({ data: figure.data, layout: figure.layout ?? {}, ...(figure.config ? { config: figure.config } : {}) }, 'figure', new Set());
  const title = plotTitle(figure.layout);
  const text = summary ?? `[plotly figure${title ? `: ${title}` : ''}, ${figure.data.length} trace${figure.data.length === 1 ? '' : 's'}]`;
  displayBundle({ [PLOTLY_MIME]: json, 'text/plain': text });
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function plotTitle(layout: Record<string, unknown> | undefined): string | undefined {
  const title = layout?.title;
  if (typeof title === 'string') return title;
  if (title && typeof title === 'object' && typeof (title as { text?: unknown }).text === 'string') return (title as { text: string }).text;
  return undefined;
}

function isDataFrameLike(value: unknown): value is DataFrameLike {
  return typeof value === 'object' && value !== null && Array.isArray((value as DataFrameLike).columns) && Array.isArray((value as DataFrameLike).values);
}

/** Columns and rows of a danfojs DataFrame or Series; the index is a first, unnamed column unless it is 0, 1, 2, ... */
export function frameTable(frame: DataFrameLike, wanted?: readonly string[]): { columns: string[]; rows: unknown[][] } {
  const all = frame.columns.map(String);
  // A Series holds one value per row; a DataFrame one array per row.
  const matrix = frame.values.map((row) => (Array.isArray(row) ? row : [row]));
  const columns = wanted ? [...wanted] : all;
  const indices = columns.map((column) => {
    const index = all.indexOf(column);
    if (index < 0) throw new TypeError(`showTable: the DataFrame has no column "${column}"`);
    return index;
  });
  const rows = matrix.map((row) => indices.map((index) => row[index]));
  const index = frame.index;
  if (!index || index.length !== rows.length || index.every((label, position) => label === position)) return { columns, rows };
  return { columns: ['', ...columns], rows: rows.map((row, position) => [index[position], ...row]) };
}

function tableData(rowsOrFrame: readonly Record<string, unknown>[] | DataFrameLike, wanted?: string[]): { columns: string[]; rows: unknown[][] } {
  if (isDataFrameLike(rowsOrFrame)) return frameTable(rowsOrFrame, wanted);
  if (!Array.isArray(rowsOrFrame)) throw new TypeError('showTable: expected an array of row objects or a danfojs DataFrame');
  let columns = wanted;
  if (!columns) {
    const seen = new Set<string>();
    for (const row of rowsOrFrame) for (const key of Object.keys(row)) seen.add(key);
    columns = [...seen];
  }
  const keys = columns;
  return { columns: keys, rows: rowsOrFrame.map((row) => keys.map((key) => (Object.hasOwn(row, key) ? row[key] : undefined))) };
}

function formatCell(value: unknown, digits: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value) ?? String(value);
}


