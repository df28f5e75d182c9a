import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { InputError } from '../../lib/errors.js';
import { parseNotebook, readNotebook, serializeNotebook, sourceText, toLines, writeNotebook } from '../../lib/notebook/nbformat.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-nbformat-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('nbformat', () => {
  test('reads a fixture and keeps authored metadata through a write', () => {
    const notebook = readNotebook('tests/fixtures/notebooks/success.ipynb');
    assert.equal(notebook.nbformat, 4);
    assert.deepEqual(notebook.metadata.hanlab?.report, { template: 'ner', name: 'success', title: '성공 노트북' });
    const file = path.join(work, 'copy.ipynb');
    writeNotebook(file, notebook);
    assert.deepEqual(readNotebook(file), notebook);
    assert.ok(readFileSync(file, 'utf8').endsWith('\n'));
  });

  test('missing outputs / execution_count / metadata are filled, unknown fields kept', () => {
    const notebook = parseNotebook(JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { custom: 1 }, cells: [{ cell_type: 'code', source: 'x', extra: true }] }));
    const cell = notebook.cells[0] as unknown as Record<string, unknown>;
    assert.deepEqual(cell.outputs, []);
    assert.equal(cell.execution_count, null);
    assert.deepEqual(cell.metadata, {});
    assert.equal(cell.extra, true);
    assert.equal(notebook.metadata.custom, 1);
  });

  test('bad notebooks are InputErrors naming the file and the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ nbformat: 3, nbformat_minor: 0, metadata: {}, cells: [] }, /bad\.ipynb, field "nbformat": only nbformat 4/],
      [{ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'python', source: '' }] }, /field "cells\[0\]\.cell_type"/],
      [{ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: 3 }] }, /field "cells\[0\]\.source"/],
      [{ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: '', metadata: { tags: 'parameters' } }] }, /cells\[0\]\.metadata\.tags/],
      [{ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: '', outputs: [{ output_type: 'error', ename: 'E' }] }] }, /cells\[0\]\.outputs\[0\]/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(() => parseNotebook(JSON.stringify(raw), 'bad.ipynb'), (error: unknown) => error instanceof InputError && message.test(error.message));
    }
    assert.throws(() => parseNotebook('{', 'broken.ipynb'), /broken\.ipynb:1: not valid JSON at the end/);
    const missing = path.join(work, 'missing.ipynb');
    assert.throws(() => readNotebook(missing), /missing\.ipynb: cannot read notebook \(ENOENT\)/);
  });

  test('toLines splits like Jupyter and joins back to the same text (property)', () => {
    assert.deepEqual(toLines('a\nb\n'), ['a\n', 'b\n']);
    assert.deepEqual(toLines('a\n\nb'), ['a\n', '\n', 'b']);
    assert.deepEqual(toLines(''), []);
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', '\n', '한', ' ') }), (text) => sourceText(toLines(text)) === text));
  });

  test('serialisation is Jupyter-like: sorted keys, one-space indent, non-ASCII kept, "__proto__" a plain key', () => {
    const odd = serializeNotebook({ nbformat: 4, nbformat_minor: 5, metadata: JSON.parse('{"__proto__": {"x": 1}}'), cells: [] });
    assert.deepEqual(JSON.parse(odd).metadata, JSON.parse('{"__proto__": {"x": 1}}'));
    assert.match(odd, /"__proto__": \{/);
    const text = serializeNotebook({ nbformat: 4, nbformat_minor: 5, metadata: { title: '한국어' }, cells: [] });
    assert.match(text, /^\{\n "cells": \[\],\n "metadata": \{\n  "title": "한국어"\n \},\n "nbformat": 4,/);
    assert.match(text, /"한국어"/);
  });

  test('a write replaces the file atomically (no temp file left)', () => {
    const file = path.join(work, 'atomic.ipynb');
    writeFileSync(file, 'old');
    writeNotebook(file, { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] });
    assert.equal(readNotebook(file).cells.length, 0);
    assert.deepEqual(readdirSync(work).filter((name) => name.endsWith('.tmp')), []);
  });
});
