/**
 * lib/models against the PyTorch reference (tests/models/reference/hf_reference.py, written after
 * transformers' modeling code): hidden states of every layer and logits within 1e-4, and the
 * gradients of one training step (mean cross-entropy, dropout off) within 1e-3, for BERT, RoBERTa,
 * ELECTRA and DeBERTa-v2 (v3 settings, and the v2 options), sequence and token classification, on the
 * wasm and cpu backends.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../lib/backend/index.js';
import { PretrainedEncoder } from '../../lib/models/pretrained.js';
import { relativePosition } from '../../lib/models/deberta-v2.js';
import { parseEncoderConfig } from '../../lib/models/config.js';
import { PYTHON, REFERENCE_SCRIPT, type TinyArchitecture } from '../../scripts/make-tiny-checkpoint.js';
import { batchOf, cleanup, flat, skipWithoutTorch, maxAbsDifference, runReference, tinyCheckpoint, values, type ReferenceOutput } from './helpers.js';

const skip = skipWithoutTorch();
const ARCHS: TinyArchitecture[] = ['bert', 'roberta', 'electra', 'deberta-v2', 'deberta-v2-classic'];
const BACKENDS = ['wasm', 'cpu'] as const;
// Lengths from 5 to ~40 tokens: padding, DeBERTa's log buckets (beyond ±4) and clamping (beyond ±6).
const TEXTS = [
  '삼성전자 주가가 올랐다',
  '영화가 정말 재밌어요!! 최고 ㅋㅋ',
  '오늘 서울 날씨는 맑고 기온은 영상 십도 안팎으로 어제보다 조금 높겠으며 오후에는 구름이 많아지겠습니다',
  'a',
];
const SEQ_LABELS = [0, 2, 1, 2];
const HIDDEN_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE = 1e-3;

after(cleanup);

interface Case {
  arch: TinyArchitecture;
  task: 'seq' | 'tok';
  dir: string;
  reference: ReferenceOutput;
  tokenLabels?: number[][];
}

const cases: Case[] = [];

async function prepare(): Promise<void> {
  if (cases.length) return;
  await initBackend({ prefer: 'cpu' });
  for (const arch of ARCHS) {
    for (const task of ['seq', 'tok'] as const) {
      const dir = tinyCheckpoint({ arch, seed: 11, head: task === 'seq' ? 'seq:3' : 'tok:5', extras: true, shards: arch === 'electra' ? 3 : 1 });
      const model = await PretrainedEncoder.load(dir, { task: task === 'seq' ? 'sequence-classification' : 'token-classification', labels: task === 'seq' ? ['a', 'b', 'c'] : ['O', 'B-X', 'I-X', 'B-Y', 'I-Y'], lora: null, seed: 1 });
      const { inputs, lists } = await batchOf(model.tokenizer, TEXTS);
      // Token labels: a pattern over real tokens, -100 on specials and padding (ignored, as in transformers).
      const tokenLabels = lists.input_ids.map((row, r) => row.map((_, t) => (t === 0 || t >= inputs.lengths[r] - 1 ? -100 : (r + t) % 5)));
      model.dispose();
      const reference = runReference(dir, task, { ...lists, labels: task === 'seq' ? SEQ_LABELS : tokenLabels }, { grads: true });
      cases.push({ arch, task, dir, reference, tokenLabels });
    }
  }
}

function meanCrossEntropy(logits: tf.Tensor2D, labels: number[]): tf.Scalar {
  const kept = labels.map((l): number => (l >= 0 ? 1 : 0));
  const safe = labels.map((l) => Math.max(l, 0));
  const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(safe, 'int32'), logits.shape[1])), 1);
  const mask = tf.tensor1d(kept, 'float32');
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), kept.reduce((a, b) => a + b, 0)) as tf.Scalar;
}

describe('tiny checkpoints vs the PyTorch reference', { skip }, () => {
  for (const backend of BACKENDS) {
    for (const arch of ARCHS) {
      for (const task of ['seq', 'tok'] as const) {
        test(`${arch} ${task === 'seq' ? 'sequence' : 'token'} classification on ${backend}: hidden states, logits, loss and gradients`, async () => {
          await prepare();
          await initBackend({ prefer: backend });
          const c = cases.find((x) => x.arch === arch && x.task === task) as Case;
          const model = await PretrainedEncoder.load(c.dir, { task: task === 'seq' ? 'sequence-classification' : 'token-classification', labels: task === 'seq' ? ['a', 'b', 'c'] : ['O', 'B-X', 'I-X', 'B-Y', 'I-Y'], lora: null, seed: 1 });
          try {
            assert.ok(!model.notes.some((n) => n.startsWith('newly')), `the checkpoint's head is used: ${model.notes.join('; ')}`);
            const { inputs } = await batchOf(model.tokenizer, TEXTS);
            const out = model.forward(inputs, { training: false }, true);
            assert.equal(out.states.length, c.reference.hidden_states.length);
            out.states.forEach((state, layer) => {
              const d = maxAbsDifference(values(state), flat(c.reference.hidden_states[layer]));
              assert.ok(d < HIDDEN_TOLERANCE, `${arch} layer ${layer}: max |Δ| ${d}`);
            });
            const logitDiff = maxAbsDifference(values(out.logits!), flat(c.reference.logits));
            assert.ok(logitDiff < HIDDEN_TOLERANCE, `${arch} logits: max |Δ| ${logitDiff}`);
            tf.dispose([...out.states, out.logits!]);
            const labels = task === 'seq' ? SEQ_LABELS : (c.tokenLabels as number[][]).flat();
            const { value, grads } = tf.variableGrads(() => meanCrossEntropy(model.forward(inputs, { training: false }).logits!, labels), model.parameters.variables);
            assert.ok(Math.abs(value.dataSync()[0] - (c.reference.loss as number)) < HIDDEN_TOLERANCE, `loss ${value.dataSync()[0]} vs ${c.reference.loss}`);
            let worst = 0;
            let compared = 0;
            model.parameters.specs.forEach((spec, i) => {
              const expected = c.reference.grads?.[spec.name];
              assert.ok(expected, `the reference has a gradient for ${spec.name}`);
              const ours = model.toCheckpointLayout(spec.name, values(grads[model.parameters.variables[i].name])).values;
              const d = maxAbsDifference(ours, expected);
              assert.ok(d < GRADIENT_TOLERANCE, `${arch} gradient of ${spec.name}: max |Δ| ${d}`);
              worst = Math.max(worst, d);
              compared++;
            });
            assert.equal(compared, Object.keys(c.reference.grads ?? {}).length, 'every reference gradient compared');
            tf.dispose([value, ...Object.values(grads)]);
            console.log(`# ${backend} ${arch} ${task}: max |Δ| logits ${logitDiff.toExponential(2)}, gradients ${worst.toExponential(2)} over ${compared} tensors`);
          } finally {
            model.dispose();
          }
        });
      }
    }
  }
});

test('DeBERTa log-bucketed relative positions equal transformers’ for v3 settings (buckets 256, 512 positions)', { skip }, () => {
  const size = 700;
  const run = spawnSync(PYTHON, [REFERENCE_SCRIPT, 'buckets', '--size', String(size), '--buckets', '256', '--max-position', '512'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  const table = JSON.parse(run.stdout) as number[][];
  const config = parseEncoderConfig({ model_type: 'deberta-v2', vocab_size: 10, relative_attention: true, position_buckets: 256, max_relative_positions: -1, max_position_embeddings: 512, pos_att_type: ['p2c', 'c2p'] }, 'config.json');
  for (let distance = -(size - 1); distance < size; distance++) {
    const expected = distance >= 0 ? table[distance][0] : table[0][-distance];
    assert.equal(relativePosition(distance, config), expected, `distance ${distance}`);
  }
});
