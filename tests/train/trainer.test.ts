import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { SequenceTagger, DEFAULT_TAGGER_CONFIG, type TaggerConfig } from '../../lib/train/models/tagger.js';
import { encodeTaggedSentences, evaluateTagger } from '../../lib/train/examples.js';
import { collectTags } from '../../lib/data/klue-ner.js';
import { detectOverfitting, isAllocationFailure, updateOverfitting, trainModel, type EpochRecord, type TrainOptions } from '../../lib/train/trainer.js';
import { Vocabulary } from '../../lib/train/vocabulary.js';
import { klueSentences, maxAbsDifference, setupBackend } from './helpers.js';

before(setupBackend);

const TINY: TaggerConfig = { ...DEFAULT_TAGGER_CONFIG, embeddingDim: 16, hiddenDim: 16, dilations: [1, 2], dropout: 0 };
const sentences = klueSentences(48);
const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
const tags = collectTags(sentences);
const examples = encodeTaggedSentences(sentences, vocabulary, tags, { checkIob2: true });
const base: TrainOptions = { epochs: 1, batchSize: 8, learningRate: 5e-3, seed: 7, progress: 'none', warmupRatio: 0 };

function tagger(config: TaggerConfig = TINY): SequenceTagger {
  return new SequenceTagger(config, vocabulary, tags, 11);
}

test('automatic micro-batching after an allocation failure gives the unsplit result (up to float error)', async () => {
  const whole = tagger();
  const split = tagger();
  // Sentences of 30–60 syllables: every batch of 8 (≥ 240 positions) fails, any 2 (≤ 120) fit.
  const midLength = encodeTaggedSentences(klueSentences(200).filter((s) => s.tokens.length >= 30 && s.tokens.length <= 60).slice(0, 24), vocabulary, tags);
  assert.equal(midLength.length, 24);
  const longest = 60;
  await trainModel(whole, midLength, null, { ...base, maxSteps: 3 });
  const logged: string[] = [];
  const result = await trainModel(split, midLength, null, {
    ...base,
    maxSteps: 3,
    simulatedMemoryLimit: { maxPaddedTokens: 2 * longest },
    log: (line) => logged.push(line),
  });
  const changes = result.history.events.filter((e) => e.kind === 'micro-batch');
  assert.ok(changes.length >= 1, 'the simulated failure halved the micro-batch');
  assert.match(changes[0].message, /allocation failed at micro-batch 4.*now 2 × 4 accumulation steps, effective batch still 8/);
  assert.equal(logged.length, changes.length);
  assert.ok(result.history.steps.every((s) => s.microBatchSize <= 2 || s.step === 0));
  const difference = maxAbsDifference(whole.parameters.read(), split.parameters.read());
  assert.ok(difference < 1e-4, `max weight difference ${difference}`);
  whole.dispose();
  split.dispose();
});

test('an allocation failure at micro-batch 1 is raised, other errors are never retried', async () => {
  const model = tagger();
  await assert.rejects(trainModel(model, examples, null, { ...base, simulatedMemoryLimit: { maxPaddedTokens: 1 } }), /simulated out of memory/);
  assert.equal(isAllocationFailure(new Error('Failed to allocate 4096 bytes')), true);
  assert.equal(isAllocationFailure(new RangeError('Array buffer allocation failed')), true);
  assert.equal(isAllocationFailure(new Error('shape mismatch')), false);
  model.dispose();
});

test('same seed, same losses (dropout included); another seed differs', async () => {
  const config = { ...TINY, dropout: 0.3 };
  const runs = [];
  for (const seed of [7, 7, 8]) {
    const model = tagger(config);
    runs.push((await trainModel(model, examples, null, { ...base, seed, maxSteps: 4 })).history.steps.map((s) => s.loss));
    model.dispose();
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.notDeepEqual(runs[0], runs[2]);
});

test('no tensor leaks: live tensors stay flat across epochs (BiLSTM + CRF, with validation)', async () => {
  const model = tagger({ ...TINY, encoder: 'bilstm', hiddenDim: 8, dropout: 0.1 });
  const before = tf.memory().numTensors;
  const validation = klueSentences(8, 100);
  const result = await trainModel(model, examples.slice(0, 16), (m) => evaluateTagger(m as SequenceTagger, validation), { ...base, epochs: 3, patience: 0 });
  const counts = result.history.epochs.map((e) => e.memory.numTensors);
  assert.equal(counts.length, 3);
  assert.equal(new Set(counts).size, 1, `numTensors per epoch: ${counts.join(', ')}`);
  assert.equal(tf.memory().numTensors, before, 'the optimizer state is released after training');
  model.dispose();
});

test('early stopping on the validation score restores the best epoch’s weights', async () => {
  const model = tagger();
  const scores = [0.5, 0.7, 0.6, 0.55, 0.9];
  let weightsAtBest: Float32Array | undefined;
  let epoch = 0;
  const result = await trainModel(
    model,
    examples,
    (m) => {
      const score = scores[epoch++];
      if (score === 0.7) weightsAtBest = m.parameters.read();
      return { score, metrics: { f1: score } };
    },
    { ...base, epochs: 5, patience: 2 },
  );
  assert.equal(result.epochsRun, 4);
  assert.equal(result.history.stoppedEarly, true);
  assert.equal(result.history.bestEpoch, 2);
  assert.deepEqual(result.history.events.map((e) => e.kind), ['early-stop', 'best-restored']);
  assert.deepEqual(model.parameters.read(), weightsAtBest);
  model.dispose();
});

test('history holds per-step and per-epoch figures; bucketing pads less', async () => {
  const model = tagger();
  const bucketed = await trainModel(model, examples, null, { ...base, epochs: 1 });
  const plain = await trainModel(model, examples, null, { ...base, epochs: 1, bucketing: false });
  const epoch = bucketed.history.epochs[0];
  assert.equal(bucketed.history.steps.length, Math.ceil(examples.length / 8));
  assert.ok(bucketed.history.steps.every((s) => s.loss > 0 && s.tokensPerSecond > 0 && s.learningRate > 0 && s.gradNorm > 0));
  assert.ok(epoch.paddingEfficiency > plain.history.epochs[0].paddingEfficiency);
  assert.ok(epoch.memory.rssBytes > 0 && epoch.seconds > 0);
  assert.equal(bucketed.history.backend, tf.getBackend());
  model.dispose();
});

/** One epoch's record for the overfitting tests: only the training loss and validation score vary. */
function epoch(n: number, trainLoss: number, score: number): EpochRecord {
  return {
    epoch: n,
    trainLoss,
    validation: { score, metrics: {} },
    seconds: 1,
    tokensPerSecond: 1,
    paddingEfficiency: 1,
    memory: { numTensors: 0, numBytes: 0, rssBytes: 0 },
  };
}

test('overfitting signal: training loss falls while validation falls for two epochs', () => {
  const rising = [epoch(1, 1, 0.6), epoch(2, 0.6, 0.8), epoch(3, 0.4, 0.78), epoch(4, 0.2, 0.74)];
  const signal = detectOverfitting(rising, 2);
  assert.ok(signal);
  assert.equal(signal.bestEpoch, 2);
  assert.ok(Math.abs(signal.validationDrop - 0.06) < 1e-9);
  assert.match(signal.message, /과적합/);
  assert.equal(detectOverfitting(rising.slice(0, 3), 2), null, 'one bad epoch is not a trend');
  const flatLoss = [epoch(1, 1, 0.6), epoch(2, 0.6, 0.8), epoch(3, 0.59, 0.78), epoch(4, 0.58, 0.74)];
  assert.equal(detectOverfitting(flatLoss, 2), null, 'validation noise without a loss collapse');
});

test('overfitting signal: withdrawn when a later epoch beats the best it was measured from, kept while that best stands', () => {
  // The KLUE run of issue 25: best at 8, falling at 9-10 (signal), then epoch 12 beats epoch 8.
  const scores = [0.5, 0.6, 0.65, 0.7, 0.72, 0.75, 0.76, 0.7733, 0.77, 0.7661, 0.772, 0.7818];
  const epochs = scores.map((score, i) => epoch(i + 1, 0.8 ** i, score));
  let signal = null;
  let best: number | null = null;
  let bestScore = -Infinity;
  const seen: Array<number | null> = [];
  for (let n = 1; n <= epochs.length; n++) {
    if (epochs[n - 1].validation!.score > bestScore) {
      bestScore = epochs[n - 1].validation!.score;
      best = n;
    }
    signal = updateOverfitting(signal, epochs.slice(0, n), best);
    seen.push(signal ? signal.epoch : null);
  }
  assert.deepEqual(seen.slice(0, 9), [null, null, null, null, null, null, null, null, null]);
  assert.equal(seen[9], 10, 'raised at epoch 10: two falling epochs after the best (8)');
  assert.equal(seen[10], 10, 'epoch 11 rose but stayed below epoch 8: the signal, measured at 10, still stands');
  assert.equal(signal, null);
  const raised = updateOverfitting(null, epochs.slice(0, 10), 8)!;
  assert.match(raised.message, /8 에폭부터 10 에폭까지/, 'the message says which epochs it covers');
});

test('a worker thread computing half of each update changes nothing: the same losses and weights, bit for bit', async () => {
  const config = { ...TINY, dropout: 0.2 };
  const single = tagger(config);
  const parallel = tagger(config);
  const one = await trainModel(single, examples, null, { ...base, maxSteps: 3, workers: 0 });
  const two = await trainModel(parallel, examples, null, { ...base, maxSteps: 3, workers: 1 });
  assert.equal(two.history.steps.length, 3);
  assert.deepEqual(two.history.steps.map((s) => s.loss), one.history.steps.map((s) => s.loss));
  assert.deepEqual(parallel.parameters.read(), single.parameters.read());
  single.dispose();
  parallel.dispose();
});

test('a process started with flags a worker thread cannot take (--single-threaded-gc) still trains with a gradient worker, to the one-thread losses', () => {
  const run = (workers: number) => {
    const child = spawnSync(process.execPath, ['--single-threaded-gc', '--import', 'tsx', 'tests/train/worker-flags-child.ts', String(workers)], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(child.status, 0, child.stderr.slice(-2000));
    return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as number[];
  };
  const withWorker = run(1);
  assert.equal(withWorker.length, 2);
  assert.deepEqual(withWorker, run(0), 'one thread or two: the same losses');
});
