import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../../lib/errors.js';
import type { Notebook, Output } from '../../lib/notebook/nbformat.js';
import { RESULT_MIME, readNamedResults, readResultEntries, readResults } from '../../lib/results/read.js';
import { RESULT_KINDS_VERSION } from '../../lib/results/kinds.js';
import { MAX_RESULT_DEPTH } from '../../lib/results/bounds.js';

function notebookWith(...cellsOutputs: Output[][]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: cellsOutputs.map((outputs, index) => ({ cell_type: 'code', id: `cell-${index}`, source: [`// cell ${index}\n`, 'emit()'], metadata: {}, execution_count: index + 1, outputs })),
  };
}

const display = (data: Record<string, unknown>): Output => ({ output_type: 'display_data', data, metadata: {} });

describe('readResults', () => {
  test('reads JSON-object bundles and JSON-text bundles (string or list of lines)', () => {
    const notebook = notebookWith(
      [display({ [RESULT_MIME]: { name: 'f1', value: 0.5 }, 'text/plain': 'f1 = 0.5' })],
      [display({ [RESULT_MIME]: '{"name": "labels", "value": ["PS", "LC"]}' }), { output_type: 'stream', name: 'stdout', text: 'x' }],
      [display({ [RESULT_MIME]: ['{"name": "table",', ' "value": {"rows": []}}'] })],
    );
    assert.deepEqual({ ...readResults(notebook) }, { f1: 0.5, labels: ['PS', 'LC'], table: { rows: [] } });
  });

  test('a name emitted twice is an error naming both cells, unless the later emit replaces it explicitly', () => {
    const twice = notebookWith([display({ [RESULT_MIME]: { name: 'f1', value: 0.1 } })], [display({ [RESULT_MIME]: { name: 'f1', value: 0.9 } })]);
    assert.throws(
      () => readResults(twice, 'study.ipynb'),
      (error: unknown) => error instanceof InputError && /^study\.ipynb, field "cells\[1\] outputs\[0\] .*": result "f1" is emitted twice, by cell 1 \(id cell-0\) and by cell 2 \(id cell-1\); rename one, or emit the later one with \{ replace: true \}$/.test(error.message),
    );
    const replaced = notebookWith([display({ [RESULT_MIME]: { name: 'f1', value: 0.1 } })], [display({ [RESULT_MIME]: { name: 'f1', value: 0.9, replace: true } })]);
    assert.equal(readResults(replaced).f1, 0.9);
    const entries = readResultEntries(replaced);
    assert.deepEqual(entries.map((entry) => [entry.cellIndex, entry.cellId, entry.outputIndex, entry.value, entry.replace]), [[0, 'cell-0', 0, 0.1, undefined], [1, 'cell-1', 0, 0.9, true]]);
  });

  test('names are untrusted: a null-prototype record, "__proto__" is a plain key', () => {
    const notebook = notebookWith([display({ [RESULT_MIME]: '{"name": "__proto__", "value": {"polluted": true}}' }), display({ [RESULT_MIME]: { name: 'constructor', value: 1 } })]);
    const results = readResults(notebook);
    assert.equal(Object.getPrototypeOf(results), null);
    assert.deepEqual(Object.keys(results), ['__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('execute_result outputs count too; other mime types and cells are ignored', () => {
    const notebook = notebookWith([{ output_type: 'execute_result', execution_count: 1, data: { [RESULT_MIME]: { name: 'n', value: 3 } }, metadata: {} }, display({ 'text/plain': 'x' })]);
    notebook.cells.push({ cell_type: 'markdown', source: 'text', metadata: {} });
    assert.deepEqual({ ...readResults(notebook) }, { n: 3 });
  });

  test('malformed bundles are InputErrors naming the file, cell, its first line and the output', () => {
    const bad: unknown[] = ['{not json', 42, { value: 1 }, { name: '', value: 1 }, { name: 'x' }, ['a', 'b']];
    for (const data of bad) {
      const notebook = notebookWith([], [display({ 'text/plain': 'ok' }), display({ [RESULT_MIME]: data })]);
      assert.throws(
        () => readResults(notebook, 'study.ipynb'),
        (error: unknown) => error instanceof InputError && /^study\.ipynb, field "cells\[1\] \(id cell-1\) "\/\/ cell 1" outputs\[1\]/.test(error.message),
        `bundle ${JSON.stringify(data)}`,
      );
    }
  });

  test('a kind stamp of the wrong type is an InputError naming the output', () => {
    for (const data of [{ name: 'x', value: 1, kind: 3 }, { name: 'x', value: 1, kind: 'value', kindVersion: '1' }, { name: 'x', value: 1, kind: 'value', kindVersion: 1.5 }]) {
      const notebook = notebookWith([display({ [RESULT_MIME]: data })]);
      assert.throws(() => readResults(notebook, 'study.ipynb'), (error: unknown) => error instanceof InputError && /^study\.ipynb, field "cells\[0\] \(id cell-0\) .*": result "x": "kind(Version)?" must be/.test(error.message), JSON.stringify(data));
    }
  });

  test('any JSON value survives the bundle in both encodings (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.jsonValue(), (name, value) => {
        const canonical = JSON.parse(JSON.stringify(value));
        const asObject = readResults(notebookWith([display({ [RESULT_MIME]: { name, value: canonical } })]));
        const asText = readResults(notebookWith([display({ [RESULT_MIME]: JSON.stringify({ name, value: canonical }) })]));
        assert.deepEqual(asObject[name], canonical);
        assert.deepEqual(asText[name], canonical);
      }),
      { numRuns: 200 },
    );
  });
});

describe('readNamedResults', () => {
  const table = { kind: 'table', columns: ['a'], rows: [[1]] };
  const stamp = (name: string, value: unknown, kind: string, replace = false) =>
    display({ [RESULT_MIME]: { name, value, kind, kindVersion: RESULT_KINDS_VERSION, ...(replace ? { replace: true } : {}) } });

  test('each result has the kind its bundle carries, in the order names were first emitted; unstamped bundles are decided from their value', () => {
    const notebook = notebookWith(
      [stamp('t', table, 'table'), display({ [RESULT_MIME]: { name: 'old', value: { ...table, title: '옛 표' } } })],
      [stamp('n', 3, 'value'), stamp('t', { ...table, rows: [[2]] }, 'table', true)],
    );
    assert.deepEqual(readNamedResults(notebook, 'study.ipynb'), [
      { name: 't', kind: 'table', value: { ...table, rows: [[2]] } },
      { name: 'old', kind: 'table', value: { ...table, title: '옛 표' } },
      { name: 'n', kind: 'value', value: 3 },
    ]);
  });

  test('a stamp that disagrees with its value is an InputError naming the bundle\'s kind', () => {
    const notebook = notebookWith([stamp('t', table, 'value')]);
    assert.throws(
      () => readNamedResults(notebook, 'study.ipynb'),
      (error: unknown) => error instanceof InputError && error.file === 'study.ipynb' && error.field === `cells[0] outputs[0] ${RESULT_MIME}.kind` && /the bundle says kind "value" but its value is of kind "table"/.test(error.message),
    );
  });

  test('bounds come before the stamp: a value nested past the bound is a notice, whatever it claims', () => {
    let deep: unknown = 1;
    for (let i = 0; i <= MAX_RESULT_DEPTH; i++) deep = [deep];
    const [result] = readNamedResults(notebookWith([stamp('deep', deep, 'table')]));
    assert.equal(result.kind, 'omitted');
  });
});
