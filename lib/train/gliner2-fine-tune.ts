/**
 * GLiNER2's entity fine-tuning with LoRA (study 000: r 16, alpha 32, dropout 0.1, targets encoder,
 * span_rep, classifier, 10 epochs, batch 4, lr 5e-4), as GLiNER2's trainer runs it: only the LoRA
 * matrices train, AdamW (weight decay 0.01) at the task learning rate with a linear schedule after a
 * 10 % warm-up, gradients clipped to norm 1, the entity loss summed over the batch (dropout on, half
 * the negative spans left out at random, both from the seed). Gold spans become (label, first word,
 * width) by GLiNER2's rule: every occurrence of the mention's words among the text's words.
 *
 * Writes `<outputDir>/adapter/` (PEFT layout), `<outputDir>/merged/` (GLiNER2 layout) and
 * `<outputDir>/history.json` (loss per epoch).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { writeGliner2Adapter, writeGliner2Merged } from '../models/gliner2-export.js';
import { encodeEntityInputs, normaliseText, splitWords, type Gliner2Sample } from '../models/gliner2-input.js';
import { Gliner2Model } from '../models/gliner2.js';
import { formatTrainableParameters, type LoraSettings } from '../models/lora.js';
import { globalNorm } from './gradients.js';
import { AdamW } from './optimizer.js';
import { withProductThreads } from '../tensor/blas.js';
import { readConcatenated } from '../tensor/ops/scratch.js';
import { SeededRandom } from '../tensor/rng.js';
import { learningRateAt } from './schedule.js';

export interface EntityExample {
  text: string;
  entities: readonly { label: string; start: number; end: number }[];
}

export interface FineTuneGliner2Options {
  modelDir: string;
  train: readonly EntityExample[];
  labels: readonly string[];
  lora: LoraSettings;
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  outputDir?: string;
  /** Called after each epoch with its mean batch loss. */
  onEpoch?: (epoch: number, loss: number) => void;
  log?: (line: string) => void;
}

export interface FineTunedGliner2 {
  model: Gliner2Model;
  /** Mean batch loss per epoch (GLiNER2 logs the batch sum; the mean over an epoch's batches). */
  epochLosses: number[];
  samplesPerSecond: number;
}

/** Gold (label index, first word, width) of one example, by GLiNER2's sub-list match of the mention's words. */
export function goldSpans(example: EntityExample, labels: readonly string[]): [number, number, number][] {
  const words = splitWords(normaliseText(example.text)).map((w) => w.text);
  const gold: [number, number, number][] = [];
  const seen = new Set<string>();
  for (const entity of example.entities) {
    const label = labels.indexOf(entity.label);
    if (label < 0) continue;
    const mention = splitWords(example.text.slice(entity.start, entity.end)).map((w) => w.text);
    if (mention.length === 0) continue;
    for (let i = 0; i + mention.length <= words.length; i++) {
      if (!mention.every((m, j) => words[i + j] === m)) continue;
      const key = `${label}:${i}:${mention.length - 1}`;
      if (!seen.has(key)) gold.push([label, i, mention.length - 1]), seen.add(key);
    }
  }
  return gold;
}

/**
 * One update of the LoRA matrices: the gradient of `loss`, clipped to global norm 1 as GLiNER2's
 * trainer does, then AdamW at `lr`. Returns the loss, or NaN when an updated weight is not finite.
 */
export async function trainingStep(model: Gliner2Model, optimizer: AdamW, loss: () => tf.Scalar, lr: number): Promise<number> {
  const variables = model.parameters.variables;
  const { value, grads } = tf.variableGrads(loss, variables);
  // Matrices the loss does not reach (the classifier's LoRA for entities) have no gradient entry:
  // zeros. The loss and the gradient come back in one read, as in the trainer's device form
  // (accumulateGradientsOnDevice): asynchronous, as webgpu has no synchronous read in Node.
  const gradients = variables.map((variable) => grads[variable.name] ?? tf.zerosLike(variable));
  let values: Float32Array;
  try {
    values = await readConcatenated([value, ...gradients]);
  } finally {
    tf.dispose([value, ...gradients]);
  }
  const result = values[0];
  const flat = values.subarray(1);
  const norm = globalNorm(flat);
  const weights = await readConcatenated(variables);
  const finite = optimizer.apply(weights, flat, lr, norm > 1 ? 1 / (norm + 1e-6) : 1);
  model.parameters.write(weights);
  return finite ? result : NaN;
}

export async function fineTuneGliner2(options: FineTuneGliner2Options): Promise<FineTunedGliner2> {
  const log = options.log ?? (() => {});
  const model = await Gliner2Model.load(options.modelDir, { lora: options.lora, seed: options.seed });
  log(formatTrainableParameters(model.trainableCount, model.totalCount));
  const samples = await encodeEntityInputs(model.tokenizer, options.train.map((e) => e.text), options.labels, model.maxTokens);
  const gold = options.train.map((e) => goldSpans(e, options.labels));
  const rng = new SeededRandom(options.seed >>> 0);
  const batchesPerEpoch = Math.ceil(samples.length / options.batchSize);
  const totalSteps = batchesPerEpoch * options.epochs;
  const schedule = { peak: options.learningRate, warmupSteps: Math.floor(0.1 * totalSteps), totalSteps, decay: 'linear' as const };
  const optimizer = new AdamW(model.parameters, { weightDecay: 0.01 });
  const epochLosses: number[] = [];
  const started = performance.now();
  let step = 0;
  // One loop computes here (no gradient workers): OpenBLAS may use every core for each product.
  await withProductThreads(availableParallelism(), async () => {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = samples.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      let sum = 0;
      for (let from = 0; from < order.length; from += options.batchSize) {
        const picked = order.slice(from, from + options.batchSize);
        const batch: Gliner2Sample[] = picked.map((i) => samples[i]);
        const loss = await trainingStep(model, optimizer, () => model.entityLoss(batch, picked.map((i) => gold[i]), { training: true, rng }, rng), learningRateAt(schedule, step));
        if (!Number.isFinite(loss)) throw new Error(`GLiNER2 fine-tuning diverged at step ${step + 1} (a weight is not finite)`);
        sum += loss;
        step++;
      }
      epochLosses.push(sum / batchesPerEpoch);
      options.onEpoch?.(epoch + 1, sum / batchesPerEpoch);
      log(`epoch ${epoch + 1}/${options.epochs}: loss ${(sum / batchesPerEpoch).toFixed(4)}`);
    }
  });
  const samplesPerSecond = (samples.length * options.epochs) / ((performance.now() - started) / 1000);
  if (options.outputDir) {
    mkdirSync(options.outputDir, { recursive: true });
    await writeGliner2Adapter(model, path.join(options.outputDir, 'adapter'));
    await writeGliner2Merged(model, path.join(options.outputDir, 'merged'));
    writeFileSync(path.join(options.outputDir, 'history.json'), JSON.stringify({ epochLosses, samplesPerSecond }, null, 2) + '\n');
  }
  return { model, epochLosses, samplesPerSecond };
}
