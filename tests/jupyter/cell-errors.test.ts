import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorFromStderr, parseThrown, removeTrailingStderr } from '../../lib/jupyter/cell-errors.js';
import type { Output } from '../../lib/notebook/nbformat.js';

// What tslab 1.0.22 on Node 20 prints (captured from a real kernel).
const THROWN = [
  'evalmachine.<anonymous>:8',
  `throw new DataError('klue-ner.tsv:12: 태그 "B-XX"를 알 수 없음');`,
  '^',
  '',
  'DataError: klue-ner.tsv:12: 태그 "B-XX"를 알 수 없음',
  '    at evalmachine.<anonymous>:8:7',
  '    at evalmachine.<anonymous>:10:3',
  '    at sigintHandlersWrap (node:vm:280:12)',
  '    at Script.runInThisContext (node:vm:135:14)',
  '    at Object.execute (/work/main/node_modules/tslab/dist/executor.js:160:38)',
  '    at async ZmqServer.handleExecute (/work/main/node_modules/tslab/dist/jupyter.js:406:25)',
  '',
].join('\n');

describe('error outputs from tslab stderr', () => {
  test('a thrown Error: ename and evalue from the header, tslab/vm frames dropped', () => {
    const error = parseThrown(THROWN);
    assert.equal(error.ename, 'DataError');
    assert.equal(error.evalue, 'klue-ner.tsv:12: 태그 "B-XX"를 알 수 없음');
    assert.deepEqual(error.traceback.slice(0, 7), THROWN.split('\n').slice(0, 7));
    assert.equal(error.traceback.some((line) => /tslab[\\/]dist|node:vm/.test(line)), false);
  });

  test('multi-line messages, error codes and errors printed with extra properties', () => {
    const multi = parseThrown('RangeError: first line\nsecond: line\n    at f (x.ts:1:1)\n');
    assert.deepEqual([multi.ename, multi.evalue], ['RangeError', 'first line\nsecond: line']);
    const coded = parseThrown("Error [ERR_X]: bad thing\n    at f (x.ts:1:1) {\n  code: 'ERR_X'\n}\n");
    assert.deepEqual([coded.ename, coded.evalue], ['Error', 'bad thing']);
    const bare = parseThrown('TypeError\n    at f (x.ts:1:1)\n');
    assert.deepEqual([bare.ename, bare.evalue], ['TypeError', '']);
  });

  test('non-Error throws: the printed value is the message', () => {
    assert.deepEqual([parseThrown('plain\n').ename, parseThrown('plain\n').evalue], ['Error', 'plain']);
    assert.equal(parseThrown("{ code: 3, why: 'x: y' }\n").evalue, "{ code: 3, why: 'x: y' }");
  });

  test('TypeScript diagnostics become one CompileError with every line', () => {
    const { error, consumed } = errorFromStderr([
      { name: 'stderr', text: 'warning printed by the cell\n' },
      { name: 'stderr', text: "1:7 - Type 'number' is not assignable to type 'string'.\n" },
      { name: 'stderr', text: "lib/x.ts 3:1 - Cannot find name 'y'.\n" },
    ]);
    assert.equal(error.ename, 'CompileError');
    assert.equal(error.evalue, "1:7 - Type 'number' is not assignable to type 'string'.\nlib/x.ts 3:1 - Cannot find name 'y'.");
    assert.equal(consumed, "1:7 - Type 'number' is not assignable to type 'string'.\nlib/x.ts 3:1 - Cannot find name 'y'.\n");
  });

  test('only the last stderr write is the thrown error; earlier stderr stays a stream', () => {
    const chunks = [
      { name: 'stderr' as const, text: 'Note: small sample\n' },
      { name: 'stdout' as const, text: 'progress\n' },
      { name: 'stderr' as const, text: THROWN },
    ];
    const { error, consumed } = errorFromStderr(chunks);
    assert.equal(error.ename, 'DataError');
    const outputs: Output[] = [
      { output_type: 'stream', name: 'stderr', text: 'Note: small sample\n' },
      { output_type: 'stream', name: 'stdout', text: 'progress\n' },
      { output_type: 'stream', name: 'stderr', text: THROWN },
    ];
    assert.deepEqual(removeTrailingStderr(outputs, consumed), outputs.slice(0, 2));
    const merged: Output[] = [{ output_type: 'stream', name: 'stderr', text: 'Note\n' + THROWN }];
    assert.deepEqual(removeTrailingStderr(merged, consumed), [{ output_type: 'stream', name: 'stderr', text: 'Note\n' }]);
    // Text that does not end the stream is never cut.
    assert.deepEqual(removeTrailingStderr([{ output_type: 'stream', name: 'stderr', text: 'other' }], consumed), [{ output_type: 'stream', name: 'stderr', text: 'other' }]);
  });

  test('an error status with no stderr still yields an error output', () => {
    assert.match(errorFromStderr([{ name: 'stdout', text: 'x' }]).error.evalue, /without printing it/);
  });
});
