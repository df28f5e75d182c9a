import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decimal, gainArrow, josa, metric, NOT_A_NUMBER, percent, pointDelta, ratio, relativeGain, signedDelta, thousands } from '../../lib/results/filters.js';

const unformat = (text: string) => Number(text.replace(/[,%+]/g, '').replace(/^▴ |^▾ /, ''));

test('the studies\' figures print as the studies print them', () => {
  assert.equal(percent(0.918), '91.8%');
  assert.equal(percent(0.973), '97.3%');
  assert.equal(percent(0.3839, 2), '38.39%');
  assert.equal(ratio(135, 147), '135/147');
  assert.equal(ratio(3401, 12000), '3,401/12,000');
  assert.equal(thousands(3096592), '3,096,592');
  assert.equal(thousands(-1234.5, 1), '-1,234.5');
  assert.equal(signedDelta(0.0455), '+0.0455');
  assert.equal(signedDelta(-0.0833), '-0.0833');
  assert.equal(signedDelta(1, 0), '+1');
  assert.equal(signedDelta(-1, 0), '-1');
  assert.equal(gainArrow(0.3839, 0.331), '▴ 15.98%');
  assert.equal(gainArrow(0.5103, 0.4886), '▴ 4.44%');
  assert.equal(gainArrow(0.979, 1), '▾ 2.10%');
  assert.equal(decimal(0.0833), '0.0833');
  assert.equal(pointDelta(0.0529), '+5.29%p');
  assert.equal(metric(0.918, 'percent'), '91.8%');
  assert.equal(metric(3096592, 'count'), '3,096,592');
  assert.equal(metric(0.5), '0.5000');
});

test('a change that rounds to zero has no sign and no arrow', () => {
  assert.equal(signedDelta(0), '0.0000');
  assert.equal(signedDelta(-0.00001), '0.0000');
  assert.equal(signedDelta(-0), '0.0000');
  assert.equal(gainArrow(0.5, 0.5), '0.00%');
  assert.equal(gainArrow(0.500001, 0.5), '0.00%');
});

test('base = 0: relative gain is undefined; the arrow still tells the direction', () => {
  assert.equal(relativeGain(0.5, 0), undefined);
  assert.equal(gainArrow(0.5, 0), '▴ 기준값 0');
  assert.equal(gainArrow(-0.5, 0), '▾ 기준값 0');
  assert.equal(gainArrow(0, 0), '0.00%');
  // A negative base measures against its size, so getting less negative is a gain.
  assert.equal(relativeGain(-1, -2), 0.5);
});

test('missing or non-finite numbers print a dash, never "NaN"', () => {
  for (const bad of [undefined, null, NaN, Infinity, '0.5']) {
    assert.equal(percent(bad), NOT_A_NUMBER);
    assert.equal(thousands(bad), NOT_A_NUMBER);
    assert.equal(signedDelta(bad), NOT_A_NUMBER);
    assert.equal(gainArrow(bad, 1), NOT_A_NUMBER);
    assert.equal(ratio(bad, 3), NOT_A_NUMBER);
  }
  assert.throws(() => percent(0.5, -1), RangeError);
});

test('property: thousands keeps the integer and groups every three digits', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1e15, max: 1e15 }), (n) => {
      const text = thousands(n);
      assert.equal(Number(text.replace(/,/g, '')), n);
      assert.match(text, /^-?\d{1,3}(,\d{3})*$/);
    }),
  );
});

test('property: percent and decimal round to the digits asked for', () => {
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 6 }), (x, digits) => {
      const p = percent(x, digits);
      assert.match(p, digits === 0 ? /^-?[\d,]+%$/ : new RegExp(`^-?[\\d,]+\\.\\d{${digits}}%$`));
      assert.ok(Math.abs(unformat(p) - x * 100) <= 0.5 * 10 ** -digits + 1e-9 * Math.abs(x * 100));
      const d = decimal(x, digits);
      assert.ok(Math.abs(unformat(d) - x) <= 0.5 * 10 ** -digits + 1e-9 * Math.abs(x));
    }),
  );
});

test('property: a delta carries "+" exactly when it rounds above zero, and reads back', () => {
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 6 }), (delta, digits) => {
      const text = signedDelta(delta, digits);
      const rounded = Number(delta.toFixed(digits));
      assert.equal(text.startsWith('+'), rounded > 0);
      assert.equal(text.startsWith('-'), rounded < 0);
      assert.ok(Math.abs(unformat(text) - delta) <= 0.5 * 10 ** -digits + 1e-9 * Math.abs(delta));
    }),
  );
});

test('property: the gain arrow points the way the value moved, and its size is |new − base| / |base|', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -1e4, max: 1e4, noNaN: true }),
      // Report figures: bases are not denormal (a gain over 5e-324 is not a figure anyone reads).
      fc.double({ min: -1e4, max: 1e4, noNaN: true }).filter((b) => Math.abs(b) >= 1e-6),
      (next, base) => {
        const text = gainArrow(next, base);
        const gain = (next - base) / Math.abs(base);
        const size = Math.abs(gain) * 100;
        if (Number(size.toFixed(2)) === 0) return assert.equal(text, '0.00%');
        assert.equal(text.startsWith('▴ '), next > base);
        assert.equal(text.startsWith('▾ '), next < base);
        assert.ok(Math.abs(unformat(text) - size) <= 0.005 + 1e-9 * size);
      },
    ),
  );
});

test('josa picks the particle from the last sound', () => {
  assert.equal(josa('애매', '을/를'), '애매를');
  assert.equal(josa('높음', '을/를'), '높음을');
  assert.equal(josa('높음', '으로/로'), '높음으로');
  assert.equal(josa('긍정', '으로/로'), '긍정으로');
  assert.equal(josa('서울', '으로/로'), '서울로');
  assert.equal(josa('"중립"', '을/를'), '"중립"을');
  assert.equal(josa('F1', '은/는'), 'F1은');
  assert.equal(josa('0.0000', '으로/로'), '0.0000으로');
  assert.equal(josa('0.4388', '으로/로'), '0.4388로');
  assert.equal(josa('JSON', '으로/로'), 'JSON으로');
  assert.equal(josa('label', '을/를'), 'label을(를)');
  assert.throws(() => josa('x', '을'), RangeError);
});
