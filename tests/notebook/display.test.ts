import { describe, test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as dfd from 'danfojs-node';
import { MAX_JSON_DEPTH, clearOutput, emit, escapeHtml, inKernel, showPlot, showTable, toJsonValue } from '../../lib/notebook/display.js';

/** Runs `fn` with console.log captured (outside a kernel every helper prints its text/plain form). */
function printed(fn: () => void): string {
  const log = mock.method(console, 'log', () => undefined);
  try {
    fn();
    return log.mock.calls.map((call) => call.arguments.join(' ')).join('\n');
  } finally {
    log.mock.restore();
  }
}

describe('display helpers outside a kernel', () => {
  test('there is no kernel here, and emit prints the summary', () => {
    assert.equal(inKernel(), false);
    assert.equal(printed(() => emit('f1', 0.5, 'F1 = 0.50')), 'F1 = 0.50');
    assert.equal(printed(() => emit('scores', { f1: 0.5, n: [1, 2] })), 'scores = {"f1":0.5,"n":[1,2]}');
  });

  test('emit refuses values JSON would change, naming where they are', () => {
    assert.throws(() => emit('m', { f1: Number.NaN }), /m\.f1 is NaN/);
    assert.throws(() => emit('m', { a: [1, undefined] }), /m\.a\[1\] is undefined/);
    assert.throws(() => emit('m', new Map([['a', 1]])), /m is a Map/);
    assert.throws(() => emit('m', { f: () => 1 }), /m\.f is a function/);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => emit('m', cycle), /m\.self refers back to itself/);
    assert.throws(() => emit('', 1), /name must be a non-empty string/);
  });

  test('a value nested 5,000 deep is a TypeError naming the depth limit, not a stack overflow; 100 levels still go through', () => {
    const nest = (depth: number) => {
      let value: unknown = 1;
      for (let level = 0; level < depth; level++) value = { a: value };
      return value;
    };
    for (const depth of [MAX_JSON_DEPTH + 1, 5_000, 200_000]) {
      assert.throws(() => emit('deep', nest(depth)), (error: Error) => {
        assert.ok(error instanceof TypeError && !(error instanceof RangeError), String(error));
        assert.match(error.message, /^deep\.a\.a.*…(\.a)+ is nested more than 100 levels deep, deeper than a report can show .*; flatten it before emitting$/);
        return true;
      });
    }
    assert.equal(MAX_JSON_DEPTH, 100);
    assert.doesNotThrow(() => printed(() => emit('deep', nest(MAX_JSON_DEPTH))));
    let list: unknown = [];
    for (let level = 0; level < 5_000; level++) list = [list];
    assert.throws(() => emit('list', list), /^TypeError: list(\[0\])+…(\[0\])+ is nested more than 100 levels deep/);
  });

  test('toJsonValue converts Dates and typed arrays, keeps "__proto__" as a key, and shared (non-cyclic) objects', () => {
    const shared = { x: 1 };
    const value = toJsonValue({ when: new Date(Date.UTC(2024, 0, 2)), v: new Float32Array([0.5, 1]), a: shared, b: shared, ...JSON.parse('{"__proto__": 7}') }, 'v', new Set());
    assert.deepEqual(JSON.parse(JSON.stringify(value)), JSON.parse('{"when": "2024-01-02T00:00:00.000Z", "v": [0.5, 1], "a": {"x": 1}, "b": {"x": 1}, "__proto__": 7}'));
    assert.equal(Object.hasOwn(value as object, '__proto__'), true);
  });

  test('toJsonValue is the identity on JSON values (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const canonical = JSON.parse(JSON.stringify(value));
      assert.deepEqual(JSON.parse(JSON.stringify(toJsonValue(canonical, 'v', new Set()))), canonical);
    }));
  });

  test('showTable: aligned text with Korean widths, rows capped, HTML escaped', () => {
    const text = printed(() => showTable([{ 유형: 'PS', f1: 0.8125 }, { 유형: '<b>OG</b>', f1: 1 }, { 유형: 'LC', extra: 'x' }], { maxRows: 2, caption: '표' }));
    assert.equal(text, ['표', '유형       f1', '---------  ------', 'PS         0.8125', '<b>OG</b>  1', '… 1 more rows (3 in all)'].join('\n').replace('유형       f1', '유형       f1      extra').replace('---------  ------', '---------  ------  -----'));
  });

  test('showTable takes a real danfojs-node DataFrame (type and values) and a Series; the index shows when it is not 0..n-1', () => {
    const frame = new dfd.DataFrame({ label: ['PS', 'OG'], count: [3, 1] });
    assert.equal(printed(() => showTable(frame)), 'label  count\n-----  -----\nPS     3\nOG     1');
    assert.equal(printed(() => showTable(frame.column('count'))), 'count\n-----\n3\n1');
    const indexed = new dfd.DataFrame({ f1: [0.5] }, { index: ['PS'] });
    assert.equal(printed(() => showTable(indexed)), '    f1\n--  ------\nPS  0.5000');
  });

  test('emit takes a summary or options; clearOutput outside a kernel does nothing', () => {
    assert.equal(printed(() => emit('f1', 0.5, { summary: 'F1 = 0.50', replace: true })), 'F1 = 0.50');
    assert.equal(printed(() => clearOutput()), '');
  });

  test('showTable takes a danfojs-like DataFrame and checks column names', () => {
    const frame = { columns: ['label', 'count'], values: [['PS', 3], ['OG', 1]] };
    assert.equal(printed(() => showTable(frame, { columns: ['count'] })), 'count\n-----\n3\n1');
    assert.throws(() => showTable(frame, { columns: ['nope'] }), /no column "nope"/);
  });

  test('showPlot prints a text fallback; bad figures are refused', () => {
    assert.equal(printed(() => showPlot({ data: [{ type: 'bar', x: [1], y: [2] }], layout: { title: { text: 'F1' } } })), '[plotly figure: F1, 1 trace]');
    assert.throws(() => showPlot({ data: 'x' } as never), /figure\.data must be an array/);
  });

  test('escapeHtml escapes the five HTML metacharacters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});
