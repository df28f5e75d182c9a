import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonErrorOffset, jsonSyntaxError } from '../../lib/data/json-errors.js';

/** True when JSON.parse accepts `text`. */
function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('jsonErrorOffset', () => {
  test('property: -1 exactly when JSON.parse accepts the text, for JSON and for JSON with a character changed, cut or added', () => {
    const json = fc.jsonValue().map((value) => JSON.stringify(value, null, 1));
    const damaged = fc.tuple(json, fc.nat(), fc.constantFrom('', '"', '{', '}', '[', ']', ',', ':', '\\', '\n', 'x', '0', '-', 'e', ' ', '가', '\u0001')).map(
      ([text, at, insert]) => {
        const i = at % (text.length + 1);
        return at % 3 === 0 ? text.slice(0, i) + insert + text.slice(i) : at % 3 === 1 ? text.slice(0, i) + insert + text.slice(i + 1) : text.slice(0, i);
      },
    );
    fc.assert(
      fc.property(fc.oneof(json, damaged), (text) => {
        assert.equal(jsonErrorOffset(text) === -1, parses(text), JSON.stringify(text));
      }),
      { numRuns: 2000 },
    );
  });

  test('the offset is where the text stops being JSON', () => {
    assert.equal(jsonErrorOffset('{"a": 1,,}'), 8);
    assert.equal(jsonErrorOffset('{"a": tru}'), 9);
    assert.equal(jsonErrorOffset('[1, 2,]'), 6);
    assert.equal(jsonErrorOffset('{"a": "x\ny"}'), 8);
    assert.equal(jsonErrorOffset('{"a": 1} x'), 9);
    assert.equal(jsonErrorOffset('{"a": "\\q"}'), 7);
    assert.equal(jsonErrorOffset('{"a": 1'), 7);
    assert.equal(jsonErrorOffset('[01]'), 2);
    // 100,000 levels: no stack overflow.
    assert.equal(jsonErrorOffset('['.repeat(100_000) + ']'.repeat(100_000)), -1);
    assert.equal(jsonErrorOffset('['.repeat(100_000)), 100_000);
  });
});

describe('jsonSyntaxError', () => {
  test('names the line and column, and keeps V8\'s reason on one line without the quoted source', () => {
    const text = '{\n "cells": [\n  {"a": 1},\n  {"a": tru},\n  {"b": 2}\n ]\n}\n';
    let caught: unknown;
    try {
      JSON.parse(text);
    } catch (error) {
      caught = error;
    }
    assert.match(String((caught as Error).message), /\n/, 'V8 quotes the source, line end included');
    const error = jsonSyntaxError(text, caught, { file: 'nb.ipynb' });
    assert.equal(error.message, "nb.ipynb:4: not valid JSON at column 12 (Unexpected token '}')");
    assert.equal(error.line, 4);
    const lines = jsonSyntaxError('{"a": 1', new SyntaxError("Expected ',' or '}' after property value in JSON at position 7"), { file: 'x.json', firstLine: 10 });
    assert.equal(lines.message, "x.json:10: not valid JSON at the end (Expected ',' or '}' after property value)");
  });
});
