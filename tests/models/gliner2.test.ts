/**
 * GLiNER2 in lib/models against the PyTorch re-statement (tests/models/reference/gliner2_reference.py)
 * on a tiny random GLiNER2 folder in the real layout: span logits and count logits within 1e-4, the
 * entity loss and its LoRA gradients within 1e-4, on the wasm and cpu backends; a few LoRA AdamW steps
 * give the reference's loss curve within 1e-4; the PEFT adapter round-trips; the folder errors are one
 * clear line; the word splitter and decoding behave as GLiNER2's.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../../lib/backend/index.js';
import { InputError } from '../../lib/errors.js';
import { Gliner2Model, gliner2WeightSpecs, openGliner2Folder, resolveGliner2LoraTargets } from '../../lib/models/gliner2.js';
import { parseEncoderConfig } from '../../lib/models/config.js';
import { decodeEntities, extractEntities } from '../../lib/models/gliner2-entities.js';
import { encodeEntityInputs, splitWords, type Gliner2Sample } from '../../lib/models/gliner2-input.js';
import { loadGliner2WithAdapter, writeGliner2Adapter, writeGliner2Merged } from '../../lib/models/gliner2-export.js';
import { AdamW } from '../../lib/train/optimizer.js';
import { SeededRandom } from '../../lib/tensor/rng.js';
import { trainingStep } from '../../lib/train/gliner2-fine-tune.js';
import { GLINER2_REFERENCE_SCRIPT, PYTHON } from '../../scripts/make-tiny-checkpoint.js';
import { cleanup, flat, maxAbsDifference, skipWithoutTorch, tempDir, tinyCheckpoint } from './helpers.js';

const skip = skipWithoutTorch();
const LABELS = ['Disease', 'Body', 'Treatment'];
const TEXTS = ['당뇨병 환자의 혈당을 인슐린으로 조절했다', '위암 수술 후 복통이 있었다.', '고혈압'];
const TOLERANCE = 1e-4;
const LORA = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['encoder', 'span_rep', 'classifier'] };

after(cleanup);

function runReference(command: 'forward' | 'train', model: string, inputs: unknown, extra: string[]): Record<string, unknown> {
  const dir = tempDir('hanlab-g2ref-');
  writeFileSync(path.join(dir, 'in.json'), JSON.stringify(inputs));
  const args = [GLINER2_REFERENCE_SCRIPT, command, '--model', model, '--inputs', path.join(dir, 'in.json'), '--out', path.join(dir, 'out.json'), ...extra];
  const run = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8'));
}

function referenceInputs(samples: readonly Gliner2Sample[], padId: number, gold: number[][][]) {
  const length = Math.max(...samples.map((s) => s.ids.length));
  return {
    input_ids: samples.map((s) => [...s.ids, ...new Array(length - s.ids.length).fill(padId)]),
    attention_mask: samples.map((s) => Array.from({ length }, (_, t) => (t < s.ids.length ? 1 : 0))),
    samples: samples.map((s, b) => ({ words: s.wordStarts, prompt: s.prompt, fields: s.fields, gold: gold[b] })),
  };
}

// Gold (label, start word, width) per text: a few spans, one width past max_width's reach is not used.
const GOLD: [number, number, number][][] = [[[0, 0, 0], [2, 4, 1]], [[0, 0, 0], [1, 3, 0]], []];

/** Random LoRA B (PEFT starts B at 0, which would leave A's gradients 0). */
function randomiseLora(model: Gliner2Model, seed: number): void {
  const values = model.parameters.read();
  let state = seed;
  for (let i = 0; i < values.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    if (values[i] === 0) values[i] = ((state / 2 ** 32) * 2 - 1) * 0.05;
  }
  model.parameters.write(values);
}

describe('GLiNER2 vs the PyTorch re-statement', { skip }, () => {
  let dir = '';
  const prepare = () => {
    if (!dir) dir = tinyCheckpoint({ arch: 'gliner2', seed: 5 });
    return dir;
  };

  for (const backend of ['wasm', 'cpu'] as const) {
    test(`span scores, count logits, entity loss and LoRA gradients on ${backend}`, async () => {
      await initBackend({ prefer: backend });
      const folder = prepare();
      const model = await Gliner2Model.load(folder, { lora: LORA, seed: 3 });
      try {
        randomiseLora(model, 7);
        const adapter = path.join(tempDir(), 'adapter');
        await writeGliner2Adapter(model, adapter);
        const samples = await encodeEntityInputs(model.tokenizer, TEXTS, LABELS, model.maxTokens);
        const reference = runReference('forward', folder, referenceInputs(samples, model.tokenizer.padId, GOLD), ['--adapter', adapter, '--grads']) as {
          span_logits: number[][][][];
          count_logits: number[][];
          loss: number;
          grads: Record<string, number[]>;
        };
        const out = model.forward(samples, { training: false });
        let worstSpan = 0;
        out.spanLogits.forEach((logits, b) => {
          const ours = logits.dataSync() as Float32Array;
          const valid = out.validSpans[b];
          const expected = flat(reference.span_logits[b]);
          assert.equal(ours.length, expected.length);
          for (let i = 0; i < ours.length; i++) if (valid[i % valid.length]) worstSpan = Math.max(worstSpan, Math.abs(ours[i] - expected[i]));
        });
        assert.ok(worstSpan < TOLERANCE, `span logits: max |Δ| ${worstSpan}`);
        const countDiff = maxAbsDifference(out.countLogits.dataSync(), flat(reference.count_logits));
        assert.ok(countDiff < TOLERANCE, `count logits: max |Δ| ${countDiff}`);
        const { value, grads } = tf.variableGrads(() => model.entityLoss(samples, GOLD, { training: false }), model.parameters.variables);
        assert.ok(Math.abs(value.dataSync()[0] - reference.loss) < TOLERANCE * Math.max(1, Math.abs(reference.loss)), `loss ${value.dataSync()[0]} vs ${reference.loss}`);
        let worstGrad = 0;
        let compared = 0;
        model.parameters.specs.forEach((spec, i) => {
          // Variables the loss does not reach (the classifier's LoRA for entities) have no gradient entry.
          const g = grads[model.parameters.variables[i].name];
          const ours = model.toCheckpointLayout(spec.name, g ? (g.dataSync() as Float32Array) : new Float32Array(model.parameters.variables[i].size));
          const expected = reference.grads[spec.name] ?? new Array(ours.length).fill(0);
          worstGrad = Math.max(worstGrad, maxAbsDifference(ours, expected));
          compared++;
        });
        assert.ok(worstGrad < TOLERANCE, `LoRA gradients: max |Δ| ${worstGrad}`);
        assert.ok(compared > 0 && Object.keys(reference.grads).filter((name) => name.includes('.lora_')).every((name) => model.parameters.has(name)), 'every LoRA matrix of the reference is one of hanlab\'s');
        console.log(`# ${backend}: span logits ${worstSpan.toExponential(2)}, count ${countDiff.toExponential(2)}, gradients ${worstGrad.toExponential(2)} over ${compared} tensors`);
      } finally {
        model.dispose();
      }
    });
  }

  test('a few LoRA AdamW steps give the reference loss curve; the adapter and merged model round-trip', async () => {
    await initBackend({ prefer: 'cpu' });
    const folder = prepare();
    const model = await Gliner2Model.load(folder, { lora: LORA, seed: 3 });
    try {
      const adapter = path.join(tempDir(), 'initial-adapter');
      await writeGliner2Adapter(model, adapter);
      const samples = await encodeEntityInputs(model.tokenizer, TEXTS, LABELS, model.maxTokens);
      const batches = [referenceInputs(samples.slice(0, 2), model.tokenizer.padId, GOLD.slice(0, 2)), referenceInputs(samples.slice(2), model.tokenizer.padId, GOLD.slice(2))];
      const steps = 4;
      const lr = 5e-3;
      const reference = runReference('train', folder, { batches }, ['--adapter', adapter, '--steps', String(steps), '--lr', String(lr)]) as { losses: number[] };
      const optimizer = new AdamW(model.parameters, { weightDecay: 0.01 });
      const ours: number[] = [];
      for (let step = 0; step < steps; step++) {
        const part = step % 2 === 0 ? [samples.slice(0, 2), GOLD.slice(0, 2)] : [samples.slice(2), GOLD.slice(2)];
        ours.push(await trainingStep(model, optimizer, () => model.entityLoss(part[0] as Gliner2Sample[], part[1] as [number, number, number][][], { training: false }), lr));
      }
      const worst = maxAbsDifference(ours, reference.losses);
      assert.ok(worst < TOLERANCE * Math.max(1, ...reference.losses.map(Math.abs)), `losses ${ours.join(', ')} vs ${reference.losses.join(', ')}`);
      assert.ok(ours[2] < ours[0], `training lowers the loss of the same batch: ${ours.join(', ')}`);
      console.log(`# LoRA loss curve: ${ours.map((l) => l.toFixed(4)).join(', ')} (reference ${reference.losses.map((l) => l.toFixed(4)).join(', ')})`);

      const trained = path.join(tempDir(), 'adapter');
      await writeGliner2Adapter(model, trained);
      const reloaded = await loadGliner2WithAdapter(folder, trained);
      const merged = path.join(tempDir(), 'merged');
      await writeGliner2Merged(model, merged);
      const mergedModel = await Gliner2Model.load(merged, { lora: null, seed: 0 });
      try {
        assert.deepEqual(reloaded.parameters.read(), model.parameters.read(), 'the adapter holds the trained LoRA matrices exactly');
        const a = model.forward(samples, { training: false }).spanLogits.map((t) => t.dataSync() as Float32Array);
        const b = reloaded.forward(samples, { training: false }).spanLogits.map((t) => t.dataSync() as Float32Array);
        const c = mergedModel.forward(samples, { training: false }).spanLogits.map((t) => t.dataSync() as Float32Array);
        a.forEach((x, i) => {
          assert.ok(maxAbsDifference(x, b[i]) < 1e-6, 'adapter reload gives the same scores');
          assert.ok(maxAbsDifference(x, c[i]) < TOLERANCE, `merged model gives the same scores: ${maxAbsDifference(x, c[i])}`);
        });
      } finally {
        reloaded.dispose();
        mergedModel.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  test('training with each encoder layer recomputed in the backward pass (checkpointing, dropout on) gives the same loss and LoRA gradients', async () => {
    await initBackend({ prefer: 'wasm' });
    const run = async (checkpointLayers: boolean) => {
      const model = await Gliner2Model.load(prepare(), { lora: LORA, seed: 4, checkpointLayers });
      try {
        randomiseLora(model, 11);
        const samples = await encodeEntityInputs(model.tokenizer, TEXTS, LABELS, model.maxTokens);
        const { value, grads } = tf.variableGrads(() => model.entityLoss(samples, GOLD, { training: true, rng: new SeededRandom(21) }, new SeededRandom(22)), model.parameters.variables);
        const flatGrads = model.parameters.variables.map((v) => (grads[v.name] ? [...(grads[v.name].dataSync() as Float32Array)] : []));
        const result = { loss: value.dataSync()[0], grads: flatGrads, tensors: 0 };
        tf.dispose([value, ...Object.values(grads)]);
        return result;
      } finally {
        model.dispose();
      }
    };
    const before = tf.memory().numTensors;
    const kept = await run(false);
    const recomputed = await run(true);
    assert.equal(tf.memory().numTensors, before, 'no tensor outlives the step');
    assert.ok(Math.abs(kept.loss - recomputed.loss) < 1e-6 * Math.max(1, Math.abs(kept.loss)), `loss ${recomputed.loss} vs ${kept.loss}`);
    let worst = 0;
    let encoderGrads = 0;
    kept.grads.forEach((g, i) => {
      assert.equal(recomputed.grads[i].length, g.length);
      worst = Math.max(worst, maxAbsDifference(recomputed.grads[i], g));
      if (g.length && g.some((x) => x !== 0)) encoderGrads++;
    });
    assert.ok(encoderGrads > 0);
    assert.ok(worst < 1e-6, `LoRA gradients differ by ${worst}`);
  });

  test('extractEntities returns character offsets whose slice is the entity text', async () => {
    await initBackend({ prefer: 'cpu' });
    const model = await Gliner2Model.load(prepare(), { lora: null, seed: 0 });
    try {
      const results = await extractEntities(model, TEXTS, LABELS, { threshold: 0 });
      assert.equal(results.length, TEXTS.length);
      for (const [i, entities] of results.entries()) {
        for (const e of entities) {
          assert.equal(TEXTS[i].slice(e.start, e.end), e.text);
          assert.ok(LABELS.includes(e.label) && e.score >= 0 && e.score <= 1);
        }
      }
    } finally {
      model.dispose();
    }
  });
});

describe('GLiNER2 folder errors', { skip }, () => {
  test('a plain encoder folder, a missing encoder config and pickle weights each get one clear line', () => {
    const deberta = tinyCheckpoint({ arch: 'deberta-v2', seed: 1 });
    assert.throws(() => openGliner2Folder(deberta), (e: unknown) => e instanceof InputError && /model_type is "deberta-v2", GLiNER2 writes "extractor"/.test(e.message) && !e.message.includes('\n'));
    const g2 = tinyCheckpoint({ arch: 'gliner2', seed: 1 });
    const noEncoder = path.join(tempDir(), 'no-encoder');
    cpSync(g2, noEncoder, { recursive: true });
    rmSync(path.join(noEncoder, 'encoder_config'), { recursive: true });
    assert.throws(() => openGliner2Folder(noEncoder), /encoder_config\/config\.json \(the encoder's config\) is missing/);
    const pickle = path.join(tempDir(), 'pickle');
    mkdirSync(pickle);
    cpSync(g2, pickle, { recursive: true });
    copyFileSync(path.join(pickle, 'model.safetensors'), path.join(pickle, 'pytorch_model.bin'));
    rmSync(path.join(pickle, 'model.safetensors'));
    assert.throws(() => openGliner2Folder(pickle), (e: unknown) => e instanceof InputError && /holds pytorch_model\.bin.*save_file\(torch\.load/.test(e.message));
    assert.throws(() => openGliner2Folder(path.join(tempDir(), 'absent')), /no GLiNER2 model folder/);
  });

  test("a folder without GLiNER2's config.json, or with a config hanlab cannot run, gets one line naming the file and field", () => {
    const g2 = tinyCheckpoint({ arch: 'gliner2', seed: 1 });
    const oneLine = (pattern: RegExp, field?: string) => (e: unknown) => e instanceof InputError && pattern.test(e.message) && !e.message.includes('\n') && (field === undefined || e.field === field);
    const noConfig = path.join(tempDir(), 'no-config');
    cpSync(g2, noConfig, { recursive: true });
    rmSync(path.join(noConfig, 'config.json'));
    assert.throws(() => openGliner2Folder(noConfig), oneLine(/is not a GLiNER2 model folder: config\.json is missing/));
    const edited = (name: string, change: Record<string, unknown>) => {
      const dir = path.join(tempDir(), name);
      cpSync(g2, dir, { recursive: true });
      const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...change }));
      return dir;
    };
    assert.throws(() => openGliner2Folder(edited('width', { max_width: 0 })), oneLine(/config\.json.*must be a positive integer, got 0/, 'max_width'));
    assert.throws(() => openGliner2Folder(edited('counting', { counting_layer: 'count_mlp' })), oneLine(/counting layer "count_mlp" is not supported/, 'counting_layer'));
    const broken = path.join(tempDir(), 'broken');
    cpSync(g2, broken, { recursive: true });
    writeFileSync(path.join(broken, 'config.json'), '{"model_type": "extractor",');
    assert.throws(() => openGliner2Folder(broken), oneLine(/config\.json.*cannot read/));
  });
});

test('the word splitter: GLiNER2 pattern, lower-cased words, offsets into the text', () => {
  const text = 'Visit https://x.org/a?b=1 or mail Kim.Lee@Example.com, @han_lab 당뇨병-합병증 3.5mg!';
  const words = splitWords(text);
  assert.deepEqual(
    words.map((w) => w.text),
    ['visit', 'https://x.org/a?b=1', 'or', 'mail', 'kim.lee@example.com', ',', '@han_lab', '당뇨병-합병증', '3', '.', '5mg', '!'],
  );
  for (const w of words) assert.equal(text.slice(w.start, w.end).toLowerCase(), w.text);
});

test('decoding: threshold, no overlap within a label (best first), overlap across labels allowed', () => {
  const text = '가 나 다.';
  const sample: Gliner2Sample = { text, words: splitWords(text), ids: new Int32Array(), prompt: 0, fields: [0, 0], wordStarts: [] };
  const width = 2;
  const words = sample.words.length; // 가 나 다 .
  const scores = new Float32Array(2 * words * width);
  scores[0 * words * width + 0 * width + 1] = 0.9; // A: "가 나"
  scores[0 * words * width + 1 * width + 0] = 0.95; // A: "나" beats the overlapping "가 나"
  scores[0 * words * width + 2 * width + 0] = 0.4; // A: "다" under the threshold
  scores[1 * words * width + 0 * width + 1] = 0.8; // B: "가 나", overlapping A's "나" is fine
  const found = decodeEntities(sample, ['A', 'B'], scores, width, 0.5);
  assert.deepEqual(
    found.map((e) => [e.label, e.text]),
    [
      ['B', '가 나'],
      ['A', '나'],
    ],
  );
});

test("study 000's LoRA (r 16 on encoder, span_rep, classifier) over gliner2-base-v1's shapes is its 3,096,592 parameters", () => {
  // fastino/gliner2-base-v1: DeBERTa-v3-base (its vocabulary plus GLiNER2's ten markers), max_width 8, count_lstm.
  const encoder = parseEncoderConfig(
    { model_type: 'deberta-v2', vocab_size: 128011, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, max_position_embeddings: 512, relative_attention: true, position_buckets: 256, norm_rel_ebd: 'layer_norm', share_att_key: true, pos_att_type: 'p2c|c2p', position_biased_input: false, type_vocab_size: 0 },
    'encoder_config/config.json',
  );
  const targets = resolveGliner2LoraTargets(gliner2WeightSpecs(encoder), ['encoder', 'span_rep', 'classifier']);
  assert.equal(targets.reduce((n, t) => n + 16 * (t.inputs + t.outputs), 0), 3_096_592);
  assert.ok(targets.some((t) => t.module === 'encoder.encoder.layer.11.output.dense'));
  assert.ok(!targets.some((t) => t.module.startsWith('count_')));
  assert.throws(() => resolveGliner2LoraTargets(gliner2WeightSpecs(encoder), ['query']), /"query" is not a GLiNER2 LoRA target/);
});
