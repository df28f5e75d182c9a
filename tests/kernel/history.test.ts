import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { History, globToRegExp } from '../../lib/kernel/history.js';

describe('History', () => {
  const history = new History();
  ['a = 1', 'print(a)', 'a = 1', 'b = 2'].forEach((input, index) => history.add(index + 1, input));
  history.setOutput(4, '2');

  test('tail, with and without outputs', () => {
    assert.deepEqual(history.query({ hist_access_type: 'tail', n: 2 }), [[1, 3, 'a = 1'], [1, 4, 'b = 2']]);
    assert.deepEqual(history.query({ hist_access_type: 'tail', n: 1, output: true }), [[1, 4, ['b = 2', '2']]]);
    assert.deepEqual(history.query({ hist_access_type: 'tail', n: 1, output: true, raw: true } as never), [[1, 4, ['b = 2', '2']]]);
  });

  test('range is [start, stop) of the current session (0 means current); another session has nothing', () => {
    assert.deepEqual(history.query({ hist_access_type: 'range', session: 0, start: 2, stop: 4 }), [[1, 2, 'print(a)'], [1, 3, 'a = 1']]);
    assert.deepEqual(history.query({ hist_access_type: 'range', session: 7, start: 1, stop: 9 }), []);
  });

  test('search: glob, unique keeps the latest of each input, n the last n', () => {
    assert.deepEqual(history.query({ hist_access_type: 'search', pattern: 'a = ?' }), [[1, 1, 'a = 1'], [1, 3, 'a = 1']]);
    assert.deepEqual(history.query({ hist_access_type: 'search', pattern: '*', unique: true }), [[1, 2, 'print(a)'], [1, 3, 'a = 1'], [1, 4, 'b = 2']]);
    assert.deepEqual(history.query({ hist_access_type: 'search', pattern: '*', n: 1 }), [[1, 4, 'b = 2']]);
  });

  test('globToRegExp matches like fnmatch on the whole text; other characters are literal (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        assert.ok(globToRegExp(text.replace(/[*?]/g, '')).test(text.replace(/[*?]/g, '')));
        assert.ok(globToRegExp('*').test(text));
      }),
    );
    assert.equal(globToRegExp('a.c').test('abc'), false);
    assert.equal(globToRegExp('1 + ?*').test('1 + 2 + 3'), true);
  });
});
