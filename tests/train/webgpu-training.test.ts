/**
 * A few training steps of each model kind on the webgpu backend (SwiftShader, a software adapter)
 * equal the wasm backend's: the loss and gradient norm of every update and the weights after them,
 * within 1e-4 relative. Shapes and steps are small: SwiftShader computes on the CPU, slowly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { collectTags } from '../../lib/data/klue-ner.js';
import { encodeTaggedSentences, encodeTexts } from '../../lib/train/examples.js';
import { fineTuneEncoder } from '../../lib/train/fine-tune.js';
import { trainingStep } from '../../lib/train/gliner2-fine-tune.js';
import { AdamW } from '../../lib/train/optimizer.js';
import { Gliner2Model } from '../../lib/models/gliner2.js';
import { encodeEntityInputs } from '../../lib/models/gliner2-input.js';
import { extractEntities } from '../../lib/models/gliner2-entities.js';
import { TextClassifier, DEFAULT_CLASSIFIER_CONFIG } from '../../lib/train/models/classifier.js';
import { SequenceTagger, DEFAULT_TAGGER_CONFIG, type TaggerConfig } from '../../lib/train/models/tagger.js';
import type { TrainableModel } from '../../lib/train/saved-model.js';
import { trainModel, type StepRecord, type TrainOptions } from '../../lib/train/trainer.js';
import { Vocabulary } from '../../lib/train/vocabulary.js';
import { readConcatenated } from '../../lib/tensor/ops/scratch.js';
import type { BackendChoice } from '../../lib/backend/index.js';
import { onBackend, relativeDifference, webgpuSkipReason } from '../tensor/webgpu-helpers.js';
import { cleanup, skipWithoutTorch, tinyCheckpoint } from '../models/helpers.js';
import { klueSentences, nsmcRows } from './helpers.js';

let skip: string | null = null;
before(async () => {
  skip = await webgpuSkipReason();
});
after(cleanup);

// Short sentences: SwiftShader compiles a kernel per shape and runs it on the CPU.
const sentences = klueSentences(80).filter((s) => s.tokens.length <= 24).slice(0, 12);
const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
const tags = collectTags(sentences);
const tagged = encodeTaggedSentences(sentences, vocabulary, tags, { checkIob2: true });
const base: TrainOptions = { epochs: 1, batchSize: 4, microBatchSize: 2, learningRate: 5e-3, seed: 7, progress: 'none', warmupRatio: 0, maxSteps: 3 };

interface Run {
  steps: StepRecord[];
  weights: Float32Array;
  log: string[];
}

async function trainOn(backend: BackendChoice, build: () => TrainableModel | Promise<TrainableModel>, train: (model: TrainableModel, log: string[]) => Promise<StepRecord[]>): Promise<Run> {
  return onBackend(backend, async () => {
    const model = await build();
    try {
      const log: string[] = [];
      const steps = await train(model, log);
      return { steps, weights: await readConcatenated(model.parameters.variables), log };
    } finally {
      model.dispose();
    }
  });
}

async function assertSameTraining(t: { skip: (reason: string) => void }, build: () => TrainableModel | Promise<TrainableModel>, train: (model: TrainableModel, log: string[]) => Promise<StepRecord[]>): Promise<Run | undefined> {
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const wasm = await trainOn('wasm', build, train);
  const webgpu = await trainOn('webgpu', build, train);
  assert.equal(webgpu.steps.length, wasm.steps.length);
  const losses = relativeDifference(webgpu.steps.map((s) => s.loss), wasm.steps.map((s) => s.loss));
  const norms = relativeDifference(webgpu.steps.map((s) => s.gradNorm), wasm.steps.map((s) => s.gradNorm));
  const weights = relativeDifference(webgpu.weights, wasm.weights);
  assert.ok(losses < 1e-4, `losses ${wasm.steps.map((s) => s.loss).join(', ')} vs ${webgpu.steps.map((s) => s.loss).join(', ')}: relative ${losses}`);
  assert.ok(norms < 1e-4, `gradient norms: relative ${norms}`);
  assert.ok(weights < 1e-4, `weights after training: relative ${weights}`);
  return webgpu;
}

const trainSyllables = (examples: typeof tagged) => (model: TrainableModel, log: string[]) =>
  trainModel(model, examples, null, { ...base, workers: 'auto', log: (line) => log.push(line) }).then((result) => result.history.steps);

test('conv + CRF tagger: three updates on webgpu equal wasm (dropout, micro-batches); the log says workers do not apply', async (t) => {
  const config: TaggerConfig = { ...DEFAULT_TAGGER_CONFIG, encoder: 'conv', embeddingDim: 8, hiddenDim: 8, dilations: [1, 2], dropout: 0.2 };
  const webgpu = await assertSameTraining(t, () => new SequenceTagger(config, vocabulary, tags, 11), trainSyllables(tagged));
  if (webgpu) assert.ok(webgpu.log.some((line) => /gradients: one process on the GPU \(webgpu\); gradient worker threads \(--workers auto\) are for CPU backends and do not apply/.test(line)), webgpu.log.join('\n'));
});

test('BiLSTM + CRF tagger: three updates on webgpu equal wasm', async (t) => {
  const config: TaggerConfig = { ...DEFAULT_TAGGER_CONFIG, encoder: 'bilstm', embeddingDim: 8, hiddenDim: 6, dropout: 0.1 };
  await assertSameTraining(t, () => new SequenceTagger(config, vocabulary, tags, 12), trainSyllables(tagged));
});

test('conv classifier: three updates on webgpu equal wasm', async (t) => {
  const rows = nsmcRows(12);
  const texts = Vocabulary.build(rows.texts.map((text) => [...text]));
  const examples = encodeTexts(rows.texts, texts, rows.labels);
  const config = { ...DEFAULT_CLASSIFIER_CONFIG, embeddingDim: 8, hiddenDim: 8, dilations: [1, 2], dropout: 0.2 };
  await assertSameTraining(t, () => new TextClassifier(config, texts, rows.labelNames, 13), trainSyllables(examples));
});

const torchSkip = skipWithoutTorch();
test('pretrained encoder with LoRA (tiny DeBERTa-v2, sequence classification): the updates on webgpu equal wasm (two updates)', { skip: torchSkip }, async (t) => {
  const folder = tinyCheckpoint({ arch: 'deberta-v2', seed: 3, extras: true });
  const rows = nsmcRows(8);
  const train = (backend: BackendChoice) =>
    onBackend(backend, async () => {
      const tuned = await fineTuneEncoder({
        modelDir: folder,
        task: 'sequence-classification',
        train: rows,
        lora: { r: 4, alpha: 8, dropout: 0.1, targetModules: ['query', 'value'] },
        maxLength: 16,
        training: { ...base, maxSteps: 2, log: () => undefined },
        log: () => undefined,
      });
      try {
        return { steps: tuned.history.steps, weights: await readConcatenated(tuned.model.parameters.variables) };
      } finally {
        tuned.model.dispose();
      }
    });
  if (skip) return t.skip(skip);
  const wasm = await train('wasm');
  const webgpu = await train('webgpu');
  const losses = relativeDifference(webgpu.steps.map((s) => s.loss), wasm.steps.map((s) => s.loss));
  assert.ok(losses < 1e-4, `losses ${wasm.steps.map((s) => s.loss).join(', ')} vs ${webgpu.steps.map((s) => s.loss).join(', ')}: relative ${losses}`);
  const weights = relativeDifference(webgpu.weights, wasm.weights);
  assert.ok(weights < 1e-4, `LoRA and head weights after training: relative ${weights}`);
  assert.equal(tf.getBackend(), 'wasm');
});

test('GLiNER2 with LoRA (tiny random model): LoRA updates on webgpu equal wasm, and extraction finds the same spans with the same scores', { skip: torchSkip }, async (t) => {
  const folder = tinyCheckpoint({ arch: 'gliner2', seed: 5 });
  const labels = ['Disease', 'Body', 'Treatment'];
  const texts = ['당뇨병 환자의 혈당을 인슐린으로 조절했다', '위암 수술 후 복통이 있었다.'];
  // (label, start word, width) per text.
  const gold: [number, number, number][][] = [[[0, 0, 0], [2, 4, 1]], [[0, 0, 0], [1, 3, 0]]];
  const train = (backend: BackendChoice) =>
    onBackend(backend, async () => {
      assert.equal(tf.getBackend(), backend);
      const model = await Gliner2Model.load(folder, { lora: { r: 4, alpha: 8, dropout: 0, targetModules: ['encoder', 'span_rep', 'classifier'] }, seed: 3 });
      try {
        const samples = await encodeEntityInputs(model.tokenizer, texts, labels, model.maxTokens);
        const optimizer = new AdamW(model.parameters, { weightDecay: 0.01 });
        const losses: number[] = [];
        for (let step = 0; step < 2; step++) losses.push(await trainingStep(model, optimizer, () => model.entityLoss(samples, gold, { training: false }), 5e-3));
        const found = await extractEntities(model, texts, labels, { threshold: 0 });
        return { losses, weights: await readConcatenated(model.parameters.variables), found };
      } finally {
        model.dispose();
      }
    });
  if (skip) return t.skip(skip);
  const wasm = await train('wasm');
  const webgpu = await train('webgpu');
  const losses = relativeDifference(webgpu.losses, wasm.losses);
  assert.ok(losses < 1e-4, `losses ${wasm.losses.join(', ')} vs ${webgpu.losses.join(', ')}: relative ${losses}`);
  assert.ok(relativeDifference(webgpu.weights, wasm.weights) < 1e-4, 'LoRA weights after two updates');
  const spans = (found: typeof wasm.found) => found.map((entities) => entities.map((e) => `${e.label}:${e.start}-${e.end}`));
  assert.deepEqual(spans(webgpu.found), spans(wasm.found));
  assert.ok(wasm.found.flat().length > 0, 'threshold 0 keeps spans to compare');
  const scores = relativeDifference(webgpu.found.flat().map((e) => e.score), wasm.found.flat().map((e) => e.score));
  assert.ok(scores < 1e-4, `span scores: relative ${scores}`);
  assert.equal(tf.getBackend(), 'wasm');
});
