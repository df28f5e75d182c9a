import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineProgress, formatDuration } from '../../lib/train/progress.js';

test('notebook progress: about one compact line per tenth of an epoch, with loss and ETA', () => {
  const lines: string[] = [];
  const progress = new LineProgress((line) => lines.push(line));
  for (let batch = 1; batch <= 95; batch++) {
    progress.update({ epoch: 2, epochs: 5, batch, batches: 95, loss: 1 / batch, learningRate: 1e-3, tokensPerSecond: 1234.4, elapsed: batch * 0.5 });
  }
  assert.equal(lines.length, 10);
  assert.equal(lines[0], 'epoch 2/5 11% loss 0.1000 1234 tok/s ETA 0:43');
  assert.match(lines.at(-1)!, /^epoch 2\/5 100% .* ETA 0:00$/);
  progress.epochEnd('epoch 2/5 loss 0.0105 f1 0.7000');
  assert.equal(lines.at(-1), 'epoch 2/5 loss 0.0105 f1 0.7000');
});

test('durations read as m:ss or h:mm:ss', () => {
  assert.equal(formatDuration(5), '0:05');
  assert.equal(formatDuration(125.4), '2:05');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(Number.NaN), '?');
});
