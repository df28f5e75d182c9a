import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../lib/errors.js';
import fc from 'fast-check';
import { RESULT_KINDS, RESULT_KINDS_VERSION, classifyResult, kindOf, predictedByGold, resultOfBundle, type ConfusionResult } from '../../lib/results/kinds.js';

const fails = (value: unknown, field: string) =>
  assert.throws(() => classifyResult('r', value, 'n.ipynb'), (e: unknown) => e instanceof InputError && e.file === 'n.ipynb' && e.field === field && /result "r"/.test(e.message), field);

test('values without a known kind are plain values', () => {
  for (const value of [3, 'x', null, [1, 2], { a: 1 }, { kind: 'unknown-kind' }]) assert.equal(classifyResult('r', value).kind, 'value');
});

test('each kind checks the fields its macro reads and names the wrong one', () => {
  fails({ kind: 'metrics', rows: [{ label: 'a' }] }, 'rows[0]');
  fails({ kind: 'metrics', rows: [{ label: 'a', value: NaN }] }, 'rows[0].value');
  fails({ kind: 'comparison', base: { f1: 0.1 }, tuned: {} }, 'metrics[0]');
  fails({ kind: 'comparison', base: { f1: '0.1' }, tuned: { f1: 0.2 } }, 'base.f1');
  fails({ kind: 'confusion', labels: ['a', 'b'], matrix: [[1, 2]] }, 'matrix');
  fails({ kind: 'confusion', labels: ['a', 'b'], matrix: [[1, 2], [3, 0.5]] }, 'matrix[1][1]');
  fails({ kind: 'confusion', labels: ['a'], matrix: [[1]], rows: 'sideways' }, 'rows');
  fails({ kind: 'loss', epochs: [{ epoch: 1, trainLoss: 'x' }] }, 'epochs[0].trainLoss');
  fails({ kind: 'errors', rows: [{ input: 'a', predicted: 1, gold: 'b' }] }, 'rows[0].predicted');
  fails({ kind: 'parse', total: 10, failed: 11 }, 'failed');
  fails({ kind: 'config' }, 'values');
  fails({ kind: 'headline', figures: [{ label: 'x' }] }, 'figures[0].value');
  fails({ kind: 'table', columns: ['a', 'b'], rows: [[1]] }, 'rows[0]');
  fails({ kind: 'per-label', rows: [{ label: 'PS', precision: 1, recall: 1, f1: 1 }] }, 'rows[0].support');
});

test('the confusion matrix turns to rows = predicted, columns = gold', () => {
  const gold: ConfusionResult = { kind: 'confusion', labels: ['a', 'b'], matrix: [[5, 1], [2, 7]] };
  assert.deepEqual(predictedByGold(gold), [[5, 2], [1, 7]]);
  assert.deepEqual(predictedByGold({ ...gold, rows: 'predicted' }), [[5, 1], [2, 7]]);
});

test('kindOf decides: an object whose kind is a result kind has it, anything else is a plain value', () => {
  for (const kind of RESULT_KINDS) assert.equal(kindOf({ kind }), kind);
  for (const value of [3, 'table', null, [{ kind: 'table' }], { a: 1 }, { kind: 'unknown-kind' }, { kind: 7 }]) assert.equal(kindOf(value), 'value');
});

describe('resultOfBundle', () => {
  const table = { kind: 'table', columns: ['a'], rows: [[1]] };
  const field = 'cells[2] outputs[0] application/vnd.hanlab.result+json';
  const refused = (bundle: Parameters<typeof resultOfBundle>[0], message: RegExp, wrongField = `${field}.kind`) =>
    assert.throws(() => resultOfBundle(bundle, 'n.ipynb', field), (e: unknown) => e instanceof InputError && e.file === 'n.ipynb' && e.field === wrongField && message.test(e.message), String(message));

  test('takes the stamped kind of this version, checked', () => {
    assert.deepEqual(resultOfBundle({ name: 't', value: table, kind: 'table', kindVersion: RESULT_KINDS_VERSION }), { name: 't', kind: 'table', value: table });
    assert.deepEqual(resultOfBundle({ name: 'n', value: 3, kind: 'value', kindVersion: RESULT_KINDS_VERSION }), { name: 'n', kind: 'value', value: 3 });
    // The stamp is checked, not believed: a kind this contract does not have, or one the value does not carry.
    refused({ name: 't', value: table, kind: 'chart', kindVersion: RESULT_KINDS_VERSION }, /result "t": the bundle's kind "chart" is not a result kind of version 1/);
    refused({ name: 't', value: table, kind: 'value', kindVersion: RESULT_KINDS_VERSION }, /the bundle says kind "value" but its value is of kind "table"/);
    refused({ name: 'n', value: { rows: [] }, kind: 'table', kindVersion: RESULT_KINDS_VERSION }, /the bundle says kind "table" but its value is not a kinded result/);
    // And the value must have what its kind's macro reads.
    refused({ name: 't', value: { ...table, rows: [[1, 2]] }, kind: 'table', kindVersion: RESULT_KINDS_VERSION }, /has 2 cells for 1 columns/, 'rows[0]');
  });

  test('decides from the value where the bundle has no stamp, or one of another version', () => {
    assert.equal(resultOfBundle({ name: 't', value: table }).kind, 'table');
    assert.equal(resultOfBundle({ name: 't', value: table, kind: 'chart', kindVersion: RESULT_KINDS_VERSION + 1 }).kind, 'table');
    assert.equal(resultOfBundle({ name: 't', value: table, kind: 'value', kindVersion: 0 }).kind, 'table');
    refused({ name: 'c', value: { kind: 'confusion', labels: ['a'], matrix: 'x' } }, /must be an array/, 'matrix');
  });

  test('a bundle stamped by kindOf reads as the value classified (property)', () => {
    const kinded = fc.oneof(
      fc.jsonValue(),
      fc.record({ kind: fc.constantFrom(...RESULT_KINDS), title: fc.option(fc.string(), { nil: undefined }), rows: fc.array(fc.array(fc.integer(), { maxLength: 2 }), { maxLength: 3 }), columns: fc.constant(['a', 'b']) }, { requiredKeys: ['kind'] }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), kinded, (name, raw) => {
        const value = JSON.parse(JSON.stringify(raw ?? null));
        const outcome = (read: () => unknown) => {
          try {
            return { ok: read() };
          } catch (error) {
            return { error: error instanceof InputError ? [error.field, error.message] : String(error) };
          }
        };
        const stamped = outcome(() => resultOfBundle({ name, value, kind: kindOf(value), kindVersion: RESULT_KINDS_VERSION }));
        assert.deepEqual(stamped, outcome(() => classifyResult(name, value)));
      }),
      { numRuns: 300 },
    );
  });
});
