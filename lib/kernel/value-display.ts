/**
 * A cell's value → the mime bundle of its `execute_result` (IPython's display formatter): `text/plain`
 * as Node's REPL prints it, and a table in `text/html` for a TensorFlow.js Tensor or a danfojs
 * DataFrame/Series, whose inspect() output is their internals. Recognised by shape, not by import:
 * the notebook's copy of tfjs or danfojs is not ours.
 */
import { inspect } from 'node:util';
import { frameTable, tableBundle, type DataFrameLike } from '../notebook/display.js';
import type { MimeBundle } from '../notebook/nbformat.js';

/** Rows and columns a table shows at most; the text says what was left out. */
const MAX_ROWS = 50;
const MAX_COLUMNS = 30;

interface TensorLike {
  shape: number[];
  dtype: string;
  rank: number;
  isDisposed?: boolean;
  dataSync(): ArrayLike<number | string | boolean>;
  toString(verbose?: boolean): string;
}

export function isTensor(value: unknown): value is TensorLike {
  const candidate = value as Partial<TensorLike> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.dataSync === 'function' && Array.isArray(candidate.shape) && typeof candidate.dtype === 'string' && typeof candidate.rank === 'number';
}

function isFrame(value: unknown): value is DataFrameLike & { index: readonly unknown[]; constructor: { name: string } } {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<DataFrameLike>;
  const kind = (value as { constructor?: { name?: string } }).constructor?.name;
  return (kind === 'DataFrame' || kind === 'Series') && Array.isArray(candidate.columns) && Array.isArray(candidate.values) && Array.isArray(candidate.index);
}

export function valueBundle(value: unknown): MimeBundle {
  if (isTensor(value)) return tensorBundle(value);
  if (isFrame(value)) return frameBundle(value);
  return { 'text/plain': inspect(value, { depth: 4, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 100 }) };
}

function tensorBundle(tensor: TensorLike): MimeBundle {
  const shape = `[${tensor.shape.join(', ')}]`;
  if (tensor.isDisposed) return { 'text/plain': `Tensor ${shape} ${tensor.dtype} (disposed)` };
  const text = tensor.toString();
  if (tensor.rank > 2) return { 'text/plain': text };
  const values = tensor.dataSync();
  const rows = tensor.rank === 2 ? tensor.shape[0] : 1;
  const columns = tensor.rank === 0 ? 1 : tensor.shape[tensor.rank - 1];
  const shownColumns = Math.min(columns, MAX_COLUMNS);
  const table: unknown[][] = [];
  for (let row = 0; row < Math.min(rows, MAX_ROWS); row++) {
    const cells: unknown[] = [row];
    for (let column = 0; column < shownColumns; column++) cells.push(values[row * columns + column]);
    table.push(cells);
  }
  const header = ['', ...Array.from({ length: shownColumns }, (_, column) => String(column))];
  const leftOut = columns > shownColumns ? `, first ${shownColumns} of ${columns} columns` : '';
  const caption = `Tensor ${shape} ${tensor.dtype}${leftOut}`;
  return { ...tableBundle(header, table, { caption, maxRows: MAX_ROWS, totalRows: rows }), 'text/plain': text };
}

function frameBundle(frame: DataFrameLike & { index: readonly unknown[]; constructor: { name: string } }): MimeBundle {
  const all = frameTable({ columns: frame.columns, values: frame.values.slice(0, MAX_ROWS), index: frame.index.slice(0, MAX_ROWS) });
  const shape = (frame as { shape?: number[] }).shape;
  const caption = `${frame.constructor.name}${Array.isArray(shape) ? ` [${shape.join(' × ')}]` : ''}`;
  const bundle = tableBundle(all.columns, all.rows, { caption, maxRows: MAX_ROWS, totalRows: frame.values.length });
  let text: string;
  try {
    // danfojs prints a boxed table itself.
    text = String((frame as { toString(): string }).toString());
  } catch {
    text = String(bundle['text/plain']);
  }
  return { ...bundle, 'text/plain': text };
}
