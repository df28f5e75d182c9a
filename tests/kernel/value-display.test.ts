import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import * as dfd from 'danfojs-node';
import { isTensor, valueBundle } from '../../lib/kernel/value-display.js';

describe('valueBundle: a cell\'s value as Jupyter shows it', () => {
  test('plain values print as Node\'s REPL does', () => {
    assert.deepEqual(valueBundle(6), { 'text/plain': '6' });
    assert.deepEqual(valueBundle('텍스트'), { 'text/plain': "'텍스트'" });
    assert.deepEqual(valueBundle([1, 4, 9]), { 'text/plain': '[ 1, 4, 9 ]' });
    assert.deepEqual(valueBundle(new Map([['a', 1]])), { 'text/plain': "Map(1) { 'a' => 1 }" });
  });

  test('a real TensorFlow.js tensor: its own text, and an escaped HTML table with shape and dtype (rank ≤ 2)', () => {
    const matrix = tf.tensor2d([[1, 2.5], [3, 4]]);
    assert.ok(isTensor(matrix));
    const bundle = valueBundle(matrix);
    assert.equal(bundle['text/plain'], matrix.toString());
    assert.equal(bundle['text/html'], '<table class="hanlab-table"><caption>Tensor [2, 2] float32</caption><thead><tr><th></th><th>0</th><th>1</th></tr></thead><tbody><tr><td>0</td><td>1</td><td>2.5000</td></tr><tr><td>1</td><td>3</td><td>4</td></tr></tbody></table>');
    const scalar = valueBundle(tf.scalar(7, 'int32'));
    assert.match(String(scalar['text/html']), /<caption>Tensor \[\] int32<\/caption>.*<td>0<\/td><td>7<\/td>/);
    const cube = valueBundle(tf.zeros([2, 2, 2]));
    assert.deepEqual(Object.keys(cube), ['text/plain'], 'rank 3: text only');
    const big = valueBundle(tf.zeros([60, 40]));
    assert.match(String(big['text/html']), /<caption>Tensor \[60, 40\] float32, first 30 of 40 columns<\/caption>/);
    assert.match(String(big['text/html']), /<p>… 10 more rows \(60 in all\)<\/p>$/);
    const disposed = tf.tensor1d([1]);
    disposed.dispose();
    assert.deepEqual(valueBundle(disposed), { 'text/plain': 'Tensor [1] float32 (disposed)' });
  });

  test('a real danfojs DataFrame and Series: danfo\'s own text, an HTML table with the index when it is not 0..n-1', () => {
    const frame = new dfd.DataFrame({ label: ['PS', '<b>OG</b>'], f1: [0.8, 0.5] });
    const bundle = valueBundle(frame);
    assert.equal(bundle['text/plain'], frame.toString());
    assert.equal(
      bundle['text/html'],
      '<table class="hanlab-table"><caption>DataFrame [2 × 2]</caption><thead><tr><th>label</th><th>f1</th></tr></thead><tbody><tr><td>PS</td><td>0.8000</td></tr><tr><td>&#60;b&#62;OG&#60;/b&#62;</td><td>0.5000</td></tr></tbody></table>',
    );
    const indexed = valueBundle(new dfd.DataFrame({ f1: [0.8, 0.5] }, { index: ['PS', 'OG'] }));
    assert.match(String(indexed['text/html']), /<thead><tr><th><\/th><th>f1<\/th><\/tr><\/thead><tbody><tr><td>PS<\/td><td>0\.8000<\/td><\/tr>/);
    const series = valueBundle(frame['f1']);
    assert.match(String(series['text/html']), /^<table class="hanlab-table"><caption>Series \[2 × 1\]<\/caption><thead><tr><th>f1<\/th><\/tr><\/thead><tbody><tr><td>0\.8000<\/td><\/tr>/);
  });
});
