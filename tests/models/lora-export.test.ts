/**
 * LoRA fine-tuning and its export: the adapter in PEFT's layout and the merged model in HF's layout
 * both reproduce our logits when the PyTorch reference loads them (the adapter with PEFT's tensor
 * naming and LoRA forward, injected by adapter_config.json's target_modules), and the trainable
 * parameter line reads like PEFT's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../lib/backend/index.js';
import { SafetensorsArchive } from '../../lib/models/safetensors.js';
import { fineTuneEncoder, loadFineTunedEncoder, saveFineTunedEncoder } from '../../lib/train/fine-tune.js';
import { makeBatch } from '../../lib/train/batching.js';
import { encodeSentencesForEncoder, encodeTextsForEncoder } from '../../lib/train/encoder-data.js';
import type { EncoderModel } from '../../lib/train/encoder-model.js';
import type { LoraSettings } from '../../lib/models/lora.js';
import type { TinyArchitecture } from '../../scripts/make-tiny-checkpoint.js';
import { klueSentences, nsmcRows } from '../train/helpers.js';
import { cleanup, flat, skipWithoutTorch, maxAbsDifference, runReference, tempDir, tinyCheckpoint } from './helpers.js';

const skip = skipWithoutTorch();

before(async () => {
  await initBackend();
});
after(cleanup);

interface Case {
  arch: TinyArchitecture;
  task: 'sequence-classification' | 'token-classification';
  lora: LoraSettings;
  expectedTargets: string[];
}

const CASES: Case[] = [
  { arch: 'bert', task: 'sequence-classification', lora: { r: 4, alpha: 8, dropout: 0.1, targetModules: ['query', 'value'] }, expectedTargets: ['query', 'value'] },
  { arch: 'roberta', task: 'token-classification', lora: { r: 2, alpha: 16, dropout: 0, targetModules: ['query', 'key', 'value'] }, expectedTargets: ['query', 'key', 'value'] },
  { arch: 'electra', task: 'sequence-classification', lora: { r: 4, alpha: 4, dropout: 0.05, targetModules: 'all-linear' }, expectedTargets: ['embeddings_project', 'query', 'key', 'value', 'dense'] },
  // DeBERTa: PEFT's default names (query, value) map to its query_proj / value_proj.
  { arch: 'deberta-v2', task: 'sequence-classification', lora: { r: 4, alpha: 8, dropout: 0.1, targetModules: ['query', 'value'] }, expectedTargets: ['query_proj', 'value_proj'] },
  { arch: 'deberta-v2', task: 'token-classification', lora: { r: 3, alpha: 6, dropout: 0.1, targetModules: 'all-linear' }, expectedTargets: ['query_proj', 'key_proj', 'value_proj', 'dense'] },
];

const TEXTS = ['삼성전자 주가가 올랐다', '영화가 정말 재밌어요!! 최고 ㅋㅋ', '오늘 서울 날씨는 맑고 기온은 영상 십도 안팎'];

async function referenceInputs(model: EncoderModel, task: Case['task']): Promise<{ input_ids: number[][]; attention_mask: number[][]; labels: number[] | number[][]; ours: Float32Array }> {
  const tokenizer = model.encoder.tokenizer;
  const examples =
    task === 'sequence-classification'
      ? await encodeTextsForEncoder(tokenizer, TEXTS, 64, [0, 1, 0])
      : (await encodeSentencesForEncoder(tokenizer, klueSentences(3), 64, model.labels)).examples;
  const batch = makeBatch(examples, examples.map((_, i) => i));
  const inputs = model.inputs(batch);
  const input_ids = inputs.lengths.map((_, r) => Array.from(inputs.ids.subarray(r * inputs.length, (r + 1) * inputs.length)));
  const attention_mask = inputs.lengths.map((n) => Array.from({ length: inputs.length }, (_, t) => (t < n ? 1 : 0)));
  const tags = batch.tags;
  const labels = task === 'sequence-classification' ? [0, 1, 0] : input_ids.map((row, r) => row.map((_, t) => (tags && t < inputs.lengths[r] && tags[r * inputs.length + t] >= 0 ? tags[r * inputs.length + t] : -100)));
  const logits = model.logits(batch, { training: false });
  const ours = logits.dataSync() as Float32Array;
  logits.dispose();
  return { input_ids, attention_mask, labels, ours };
}

describe('LoRA adapters round-trip through the PyTorch reference', { skip }, () => {
  for (const c of CASES) {
    test(`${c.arch} ${c.task}, LoRA on ${c.lora.targetModules === 'all-linear' ? 'all-linear' : c.lora.targetModules.join(',')}`, async () => {
      const base = tinyCheckpoint({ arch: c.arch, seed: 5, extras: true });
      const training = { epochs: 1, batchSize: 8, learningRate: 2e-2, seed: 9, progress: 'none' as const, maxSteps: 3, warmupRatio: 0 };
      const lines: string[] = [];
      const tuned =
        c.task === 'sequence-classification'
          ? await fineTuneEncoder({ modelDir: base, task: c.task, train: nsmcRows(24), lora: c.lora, maxLength: 48, training, log: (l) => lines.push(l) })
          : await fineTuneEncoder({ modelDir: base, task: c.task, train: klueSentences(24), lora: c.lora, maxLength: 64, training, log: (l) => lines.push(l) });
      const { model } = tuned;
      try {
        assert.match(tuned.trainableParameters.line, /^trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/);
        assert.ok(lines.includes(tuned.trainableParameters.line), 'the line is printed');
        const { encoder } = model;
        const expectedLora = encoder.loraTargets.reduce((n, t) => n + c.lora.r * (t.inputs + t.outputs), 0);
        const head = encoder.specs.filter((s) => s.head).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
        assert.equal(tuned.trainableParameters.trainable, expectedLora + head, 'trainable = LoRA matrices + head');
        assert.deepEqual([...encoder.loraTargetModules].sort(), [...c.expectedTargets].sort());
        const out = tempDir();
        const saved = await saveFineTunedEncoder(model, out, { maxLength: 64 });
        assert.equal(saved.adapterDir, path.join(out, 'adapter'));
        const adapterConfig = JSON.parse(readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
        assert.equal(adapterConfig.peft_type, 'LORA');
        assert.equal(adapterConfig.r, c.lora.r);
        assert.equal(adapterConfig.lora_alpha, c.lora.alpha);
        assert.equal(adapterConfig.task_type, c.task === 'sequence-classification' ? 'SEQ_CLS' : 'TOKEN_CLS');
        assert.deepEqual([...adapterConfig.target_modules].sort(), [...c.expectedTargets].sort());
        const archive = SafetensorsArchive.open(path.join(out, 'adapter', 'adapter_model.safetensors'));
        assert.equal(archive.metadata.format, 'pt');
        const names = archive.names();
        assert.ok(names.every((n) => n.startsWith('base_model.model.')), names.join(', '));
        const loraB = names.filter((n) => n.endsWith('.lora_B.weight'));
        assert.equal(loraB.length, encoder.loraTargets.length);
        assert.ok(loraB.some((n) => archive.read(n).values.some((v) => v !== 0)), 'training moved lora_B away from its zero start');
        for (const t of encoder.loraTargets) {
          assert.deepEqual(archive.info(`base_model.model.${t.module}.lora_A.weight`)?.shape, [c.lora.r, t.inputs]);
          assert.deepEqual(archive.info(`base_model.model.${t.module}.lora_B.weight`)?.shape, [t.outputs, c.lora.r]);
        }
        const { input_ids, attention_mask, labels, ours } = await referenceInputs(model, c.task);
        const refTask = c.task === 'sequence-classification' ? 'seq' : 'tok';
        const viaAdapter = runReference(base, refTask, { input_ids, attention_mask, labels }, { adapter: saved.adapterDir as string, numLabels: model.labels.length });
        const dAdapter = maxAbsDifference(ours, flat(viaAdapter.logits));
        assert.ok(dAdapter < 1e-4, `adapter logits: max |Δ| ${dAdapter}`);
        const viaMerged = runReference(saved.mergedDir, refTask, { input_ids, attention_mask, labels });
        const dMerged = maxAbsDifference(ours, flat(viaMerged.logits));
        assert.ok(dMerged < 1e-4, `merged logits: max |Δ| ${dMerged}`);
        // Our own reload of both folders predicts the same.
        for (const dir of [saved.adapterDir as string, saved.mergedDir]) {
          const reloaded = await loadFineTunedEncoder(dir);
          try {
            const again = await referenceInputs(reloaded.model, c.task);
            assert.ok(maxAbsDifference(ours, again.ours) < 1e-5, `reloaded ${path.basename(dir)}`);
          } finally {
            reloaded.model.dispose();
          }
        }
        console.log(`# ${c.arch} ${c.task}: ${tuned.trainableParameters.line}; adapter Δ ${dAdapter.toExponential(2)}, merged Δ ${dMerged.toExponential(2)}`);
      } finally {
        model.dispose();
      }
    });
  }
});
