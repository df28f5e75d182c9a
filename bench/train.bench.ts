/**
 * `npm run bench:train`: training throughput of the conv+CRF and BiLSTM+CRF taggers on KLUE NER
 * (real syllables per second, one update = forward + backward + AdamW, batch 32, length-bucketed),
 * on one thread and (conv+CRF) with one gradient worker thread for the second core, the gain from
 * bucketing, and — where Debian's python3-torch is installed — the same models on the
 * same batches in PyTorch on the CPU (bench/train_reference.py) and our ratio to it.
 *
 * Last line: {"models": [{"model", "tokens_per_s", "pytorch_tokens_per_s", "ratio_vs_pytorch", ...}], ...}
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../lib/backend/index.js';
import { readKlueNer } from '../lib/data/klue-ner.js';
import { makeBatch } from '../lib/train/batching.js';
import { collectTags, encodeTaggedSentences } from '../lib/train/examples.js';
import { modelConfigFor } from '../lib/train/index.js';
import { SequenceTagger, type TaggerConfig } from '../lib/train/models/tagger.js';
import { planEpoch, trainModel, type TrainOptions } from '../lib/train/trainer.js';
import { Vocabulary } from '../lib/train/vocabulary.js';

const PYTHON = '/usr/bin/python3';
const SENTENCES = 2000;
const BATCH = 32;
const SEED = 7;

interface ModelPlan {
  name: string;
  config: TaggerConfig;
  /** Threads computing gradients: 1 = main thread only, 2 = plus one worker thread. */
  threads: number;
  warmup: number;
  steps: number;
}

const models: ModelPlan[] = [
  { name: 'conv-crf', config: modelConfigFor('conv-crf') as TaggerConfig, threads: 1, warmup: 2, steps: 8 },
  { name: 'conv-crf', config: modelConfigFor('conv-crf') as TaggerConfig, threads: 2, warmup: 2, steps: 8 },
  { name: 'bilstm-crf', config: modelConfigFor('bilstm-crf') as TaggerConfig, threads: 1, warmup: 1, steps: 4 },
];
const label = (plan: ModelPlan) => `${plan.name} (${plan.threads} thread${plan.threads > 1 ? 's' : ''})`;

function throughput(steps: { realTokens: number; tokensPerSecond: number }[]): number {
  const tokens = steps.reduce((sum, s) => sum + s.realTokens, 0);
  const seconds = steps.reduce((sum, s) => sum + s.realTokens / s.tokensPerSecond, 0);
  return tokens / seconds;
}

async function main(): Promise<void> {
  const device = await initBackend();
  console.log(`backend ${device.backend} (tf ${tf.getBackend()}), ${device.cpus} CPUs`);
  const sentences = readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv').slice(0, SENTENCES);
  const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
  const tags = collectTags(sentences);
  const examples = encodeTaggedSentences(sentences, vocabulary, tags, { checkIob2: true });
  const lengths = examples.map((e) => e.ids.length);
  const options: TrainOptions = { epochs: 1, batchSize: BATCH, learningRate: 1e-3, seed: SEED, progress: 'none', warmupRatio: 0, patience: 0 };

  const ours = new Map<ModelPlan, number>();
  let bucketingGain: number | null = null;
  let paddingEfficiency: { bucketed: number; unbucketed: number } | null = null;
  for (const plan of models) {
    const model = new SequenceTagger(plan.config, vocabulary, tags, SEED);
    const result = await trainModel(model, examples, null, { ...options, maxSteps: plan.warmup + plan.steps, workers: plan.threads - 1 });
    ours.set(plan, throughput(result.history.steps.slice(plan.warmup)));
    console.log(`${label(plan)}: ${Math.round(ours.get(plan)!)} real tokens/s (${model.parameters.count} parameters)`);
    if (plan.name === 'conv-crf' && plan.threads === 1) {
      // Same model, same number of updates, batches drawn without length bucketing.
      const plain = new SequenceTagger(plan.config, vocabulary, tags, SEED);
      const unbucketed = await trainModel(plain, examples, null, { ...options, bucketing: false, maxSteps: plan.warmup + plan.steps });
      const plainSpeed = throughput(unbucketed.history.steps.slice(plan.warmup));
      bucketingGain = ours.get(plan)! / plainSpeed;
      const padded = (steps: { realTokens: number; paddedTokens: number }[]) => steps.reduce((a, s) => a + s.realTokens, 0) / steps.reduce((a, s) => a + s.paddedTokens, 0);
      paddingEfficiency = { bucketed: padded(result.history.steps), unbucketed: padded(unbucketed.history.steps) };
      console.log(
        `  without bucketing: ${Math.round(plainSpeed)} real tokens/s → bucketing gain ×${bucketingGain.toFixed(2)} ` +
          `(real/padded positions ${paddingEfficiency.bucketed.toFixed(2)} vs ${paddingEfficiency.unbucketed.toFixed(2)})`,
      );
      plain.dispose();
    }
    model.dispose();
  }

  // The PyTorch reference gets exactly the batches our run trained on (epoch 0 of the same plan).
  const pytorch: Record<string, number> = {};
  const pytorchThreads: Record<string, number> = {};
  let pytorchNote: string | null = null;
  const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (hasTorch) {
    const plan = planEpoch(lengths, options, 0);
    const needed = Math.max(...models.map((m) => m.warmup + m.steps));
    const referenceModels = models.filter((m, i) => models.findIndex((other) => other.name === m.name) === i);
    const batches = plan.slice(0, needed).map((indices) => {
      const batch = makeBatch(examples, indices);
      return { size: batch.size, time: batch.time, ids: [...batch.ids], lengths: batch.lengths, tags: [...batch.tags!] };
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-'));
    try {
      const file = path.join(dir, 'batches.json');
      writeFileSync(
        file,
        JSON.stringify({
          vocab_size: vocabulary.size,
          tags,
          warmup: 2,
          steps: 10,
          threads: 2,
          models: referenceModels.map((m) => ({
            name: m.name,
            encoder: m.config.encoder,
            embedding_dim: m.config.embeddingDim,
            hidden_dim: m.config.hiddenDim,
            conv_width: m.config.convWidth,
            dilations: m.config.dilations,
            dropout: m.config.dropout,
            warmup: m.warmup,
            steps: m.steps,
          })),
          batches,
        }),
      );
      const run = spawnSync(PYTHON, ['bench/train_reference.py', file], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      if (run.status !== 0) throw new Error(`train_reference.py failed: ${run.stderr}`);
      const reference = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { models: { model: string; tokens_per_s: number; threads: number }[] };
      for (const entry of reference.models) {
        pytorch[entry.model] = entry.tokens_per_s;
        pytorchThreads[entry.model] = entry.threads;
        console.log(`${entry.model}: PyTorch CPU (${entry.threads} threads) ${Math.round(entry.tokens_per_s)} real tokens/s`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    pytorchNote = `${PYTHON} with torch not found (apt-get install python3-torch): no PyTorch ratio`;
    console.log(pytorchNote);
  }

  const figures = {
    backend: device.backend,
    models: models.map((m) => ({
      model: m.name,
      threads: m.threads,
      tokens_per_s: Math.round(ours.get(m)!),
      pytorch_tokens_per_s: pytorch[m.name] !== undefined ? Math.round(pytorch[m.name]) : null,
      pytorch_threads: pytorchThreads[m.name] ?? null,
      ratio_vs_pytorch: pytorch[m.name] !== undefined ? Number((ours.get(m)! / pytorch[m.name]).toFixed(3)) : null,
    })),
    bucketing_gain: bucketingGain !== null ? Number(bucketingGain.toFixed(2)) : null,
    padding_efficiency: paddingEfficiency,
    ...(pytorchNote ? { note: pytorchNote } : {}),
  };
  console.log(JSON.stringify(figures));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
