/**
 * The results channel between notebooks and reports.
 *
 * A notebook calls `emit(name, value)` (lib/notebook/display.ts), which displays a mime bundle holding
 * `{ name, value }` under RESULT_MIME next to a `text/plain` summary; the hanlab kernel adds the kind it
 * decided (`kind`, `kindVersion`) and its HTML. The executed notebook keeps these outputs;
 * `readNamedResults` gets them back for the report generator (`readResults`, values only, for anyone
 * else). The bundle is stored as a JSON object (nbformat's rule for `+json` mime types); JSON text is
 * accepted too, since some senders (tslab's public `display.raw`) can only send strings.
 */
import { InputError } from '../errors.js';
import { RESULT_MIME, type ResultBundle } from './mime.js';
import { isSecondValue } from './one-value-per-name.js';
import { boundResult } from './bounds.js';
import { resultOfBundle, type NamedResult } from './kinds.js';

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
      entries.push({ ...decodeBundle(output.data[RESULT_MIME], where), cellIndex, cellId: cell.id, outputIndex });
    });
  });
  return entries;
}

/** The notebook's results by name, values only (see `readResultBundles`). */
export function readResults(notebook: NotebookOutputs, file?: string): Record<string, unknown> {
  const bundles = readResultBundles(notebook, file);
  const results = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(bundles)) results[name] = bundles[name].value;
  return results;
}

/**
 * The notebook's results as the report's templates see them, one per name: a result past a depth or
 * size bound becomes a notice (bounds.ts, checked first: the value is untrusted), every other one has
 * the kind its bundle carries, checked against its value (kinds.ts `resultOfBundle`), or decided from
 * the value where the bundle carries none.
 */
export function readNamedResults(notebook: NotebookOutputs, file?: string): NamedResult[] {
  const bundles = readResultBundles(notebook, file);
  return Object.keys(bundles).map((name) => {
    const entry = bundles[name];
    return boundResult(name, entry.value) ?? resultOfBundle(entry, file, `cells[${entry.cellIndex}] outputs[${entry.outputIndex}] ${RESULT_MIME}`);
  });
}

/**
 * The notebook's result bundles by name (a null-prototype object: names are untrusted text), each the
 * one that gives the name its value. A name emitted twice is an InputError naming both cells, unless
 * the later emit said `{ replace: true }`: then the later bundle wins. A report must never pick one of
 * two values silently.
 */
export function readResultBundles(notebook: NotebookOutputs, file?: string): Record<string, ResultEntry> {
  const results = Object.create(null) as Record<string, ResultEntry>;
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
    results[entry.name] = entry;
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
  // The kind stamp is read as it is here; whether it is a kind that agrees with the value is
  // kinds.ts `resultOfBundle`'s to check. Its types are checked now, as the other fields are.
  if (bundle.kind !== undefined && typeof bundle.kind !== 'string') throw new InputError(`result "${bundle.name}": "kind" must be a string`, where());
  if (bundle.kindVersion !== undefined && !Number.isInteger(bundle.kindVersion)) throw new InputError(`result "${bundle.name}": "kindVersion" must be a whole number`, where());
  return {
    name: bundle.name,
    value: bundle.value,
    ...(bundle.replace === true ? { replace: true as const } : {}),
    ...(bundle.kind !== undefined ? { kind: bundle.kind as string } : {}),
    ...(bundle.kindVersion !== undefined ? { kindVersion: bundle.kindVersion as number } : {}),
  };
}
