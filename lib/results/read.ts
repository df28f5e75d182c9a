/**
 * The results channel between notebooks and reports.
 *
 * A notebook calls `emit(name, value)` (display.ts), which displays a mime bundle holding
 * `{ name, value }` under RESULT_MIME next to a `text/plain` summary. The executed notebook keeps these
 * outputs; `readResults` gets them back for the report generator. The bundle is stored as a JSON object
 * (nbformat's rule for `+json` mime types); JSON text is accepted too, since some senders (tslab's
 * public `display.raw`) can only send strings.
 */
import { InputError } from '../errors.js';
import { RESULT_MIME, type ResultBundle } from './mime.js';
import { isSecondValue } from './one-value-per-name.js';

export { RESULT_MIME, type ResultBundle };

/**
 * What reading results needs of an nbformat notebook (lib/notebook/nbformat.ts `Notebook` is one):
 * the cells, and the display outputs of code cells.
 */
export interface NotebookOutputs {
  readonly cells: ReadonlyArray<{
    readonly cell_type: string;
    readonly id?: string;
    readonly source: string | readonly string[];
    readonly outputs?: ReadonlyArray<{ readonly output_type: string; readonly data?: Readonly<Record<string, unknown>> }>;
  }>;
}

/** One emitted result and where it came from. */
export interface ResultEntry extends ResultBundle {
  /** 0-based index of the cell in notebook.cells. */
  cellIndex: number;
  cellId?: string;
  /** 0-based index of the output in that cell. */
  outputIndex: number;
}

/**
 * Every result bundle in the notebook, in output order. Throws InputError naming the cell (index,
 * id and the first line of its source) when a bundle is malformed.
 */
export function readResultEntries(notebook: NotebookOutputs, file?: string): ResultEntry[] {
  const entries: ResultEntry[] = [];
  notebook.cells.forEach((cell, cellIndex) => {
    if (cell.cell_type !== 'code') return;
    (cell.outputs ?? []).forEach((output, outputIndex) => {
      if (output.output_type !== 'display_data' && output.output_type !== 'execute_result') return;
      if (!output.data || !Object.hasOwn(output.data, RESULT_MIME)) return;
      const where = () => {
        const firstLine = (typeof cell.source === 'string' ? cell.source : cell.source.join('')).split('\n')[0].slice(0, 60);
        const id = cell.id ? ` (id ${cell.id})` : '';
        return { file, field: `cells[${cellIndex}]${id} "${firstLine}" outputs[${outputIndex}] ${RESULT_MIME}` };
      };
      const bundle = decodeBundle(output.data[RESULT_MIME], where);
      entries.push({ name: bundle.name, value: bundle.value, ...(bundle.replace ? { replace: true as const } : {}), cellIndex, cellId: cell.id, outputIndex });
    });
  });
  return entries;
}

/**
 * The notebook's results by name (a null-prototype object: names are untrusted text). A name emitted
 * twice is an InputError naming both cells, unless the later emit said `{ replace: true }`: then the
 * later value wins. A report must never pick one of two values silently.
 */
export function readResults(notebook: NotebookOutputs, file?: string): Record<string, unknown> {
  const results = Object.create(null) as Record<string, unknown>;
  const first = new Map<string, ResultEntry>();
  for (const entry of readResultEntries(notebook, file)) {
    const earlier = first.get(entry.name);
    if (earlier && isSecondValue({ run: earlier.cellIndex, cell: earlier.cellIndex }, { run: entry.cellIndex, cell: entry.cellIndex }, entry.replace === true)) {
      const cell = (e: ResultEntry) => `cell ${e.cellIndex + 1}${e.cellId ? ` (id ${e.cellId})` : ''}`;
      throw new InputError(
        `result "${entry.name}" is emitted twice, by ${cell(earlier)} and by ${cell(entry)}; rename one, or emit the later one with { replace: true }`,
        { file, field: `cells[${entry.cellIndex}] outputs[${entry.outputIndex}] ${RESULT_MIME}` },
      );
    }
    if (!earlier) first.set(entry.name, entry);
    results[entry.name] = entry.value;
  }
  return results;
}

function decodeBundle(data: unknown, where: () => { file?: string; field: string }): ResultBundle {
  let parsed = data;
  if (Array.isArray(data) && data.every((part) => typeof part === 'string')) parsed = data.join('');
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed);
    } catch (error) {
      throw new InputError(`result bundle is not valid JSON (${error instanceof Error ? error.message : String(error)})`, where());
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InputError('result bundle must be an object {"name", "value"}', where());
  }
  const bundle = parsed as Record<string, unknown>;
  if (typeof bundle.name !== 'string' || bundle.name === '') throw new InputError('result bundle has no "name" string', where());
  if (!Object.hasOwn(bundle, 'value')) throw new InputError(`result "${bundle.name}" has no "value"`, where());
  return { name: bundle.name, value: bundle.value, ...(bundle.replace === true ? { replace: true as const } : {}) };
}
