/**
 * Loading model folders: what each missing or mismatched piece says (file and tensor named, how to
 * get the model), the vocab.txt-only tokenizer (KoELECTRA's layout) equal to the tokenizer.json one,
 * and bare base-model checkpoints (names without the `bert.` prefix).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend/index.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { openModelFolder } from '../../lib/models/folder.js';
import { PretrainedEncoder, type EncoderSetup } from '../../lib/models/pretrained.js';
import { SafetensorsArchive, writeSafetensors, type TensorToWrite } from '../../lib/models/safetensors.js';
import { EncoderTokenizer } from '../../lib/models/tokenizer.js';
import { batchOf, cleanup, skipWithoutTorch, maxAbsDifference, tempDir, tinyCheckpoint, values } from './helpers.js';

const skip = skipWithoutTorch();
const SETUP: EncoderSetup = { task: 'sequence-classification', labels: ['0', '1'], lora: null, seed: 1 };
const TEXTS = ['삼성전자 주가가 올랐다', '영화가 정말 재밌어요!! 최고 ㅋㅋ'];

after(cleanup);

function rewrite(file: string, change: (tensors: Map<string, TensorToWrite>) => void): void {
  const archive = SafetensorsArchive.open(file);
  const tensors = new Map<string, TensorToWrite>(archive.names().filter((n) => archive.info(n)?.dtype === 'F32').map((n) => [n, archive.read(n)]));
  change(tensors);
  writeSafetensors(file, tensors);
}

describe('model folders', { skip }, () => {
  let bert: string;
  before(async () => {
    await initBackend();
    bert = tinyCheckpoint({ arch: 'bert', seed: 8, extras: true });
  });
  const copy = () => {
    const dir = path.join(tempDir(), 'model');
    cpSync(bert, dir, { recursive: true });
    return dir;
  };

  test('a missing folder says how to download the model', async () => {
    await assert.rejects(PretrainedEncoder.load(path.join(tempDir(), 'klue-bert-base'), SETUP, 'klue/bert-base'), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /no model folder at \/.*klue-bert-base/);
      assert.match(e.message, /huggingface-cli download klue\/bert-base --local-dir klue-bert-base/);
      return true;
    });
  });

  test('an unknown architecture names config.json and model_type', async () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'gpt2' }));
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.file === path.join(dir, 'config.json') && e.field === 'model_type' && /"gpt2" is not an encoder/.test(e.message));
  });

  test('a missing tensor names the weights file and the tensor', async () => {
    const dir = copy();
    rewrite(path.join(dir, 'model.safetensors'), (t) => t.delete('bert.encoder.layer.1.output.dense.weight'));
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.file === path.join(dir, 'model.safetensors') && e.field === 'bert.encoder.layer.1.output.dense.weight' && /has no tensor/.test(e.message));
  });

  test('a tensor of the wrong shape names the tensor and both shapes', async () => {
    const dir = copy();
    rewrite(path.join(dir, 'model.safetensors'), (t) => t.set('bert.encoder.layer.0.intermediate.dense.weight', { shape: [32, 64], values: new Float32Array(32 * 64) }));
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.field === 'bert.encoder.layer.0.intermediate.dense.weight' && /shape \[32, 64\] but config\.json implies \[64, 32\]/.test(e.message));
  });

  test('a tokenizer larger than the embedding table is a tokenizer/vocab mismatch', async () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const small = 100;
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: small }));
    rewrite(path.join(dir, 'model.safetensors'), (t) => t.set('bert.embeddings.word_embeddings.weight', { shape: [small, 32], values: new Float32Array(small * 32) }));
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.file === path.join(dir, 'tokenizer.json') && e.field === 'bert.embeddings.word_embeddings.weight' && /different models/.test(e.message));
  });

  test('pickle-only and tokenizer-less folders say what to fetch or convert', () => {
    const dir = copy();
    renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'pytorch_model.bin'));
    assert.throws(() => openModelFolder(dir, 'klue/bert-base'), (e: unknown) => e instanceof InputError && /pytorch_model\.bin but no model\.safetensors/.test(e.message) && /--include "\*\.safetensors"/.test(e.message));
    const other = copy();
    rmSync(path.join(other, 'tokenizer.json'));
    rmSync(path.join(other, 'vocab.txt'));
    writeFileSync(path.join(other, 'spm.model'), '');
    assert.throws(() => openModelFolder(other), /spm\.model but no tokenizer\.json/);
  });

  test('vocab.txt alone (KoELECTRA’s layout) tokenises exactly like the tokenizer.json pipeline', async () => {
    const dir = copy();
    const withJson = await EncoderTokenizer.load(openModelFolder(dir));
    rmSync(path.join(dir, 'tokenizer.json'));
    const fromVocab = await EncoderTokenizer.load(openModelFolder(dir));
    assert.match(fromVocab.file, /vocab\.txt$/);
    const texts = ['삼성전자 주가가 올랐다', 'KLUE 벤치마크 (2021) 결과… 정말?!', '   공백   여러  개 ', '漢字 섞인 문장'];
    assert.deepEqual(await fromVocab.encode(texts, 32), await withJson.encode(texts, 32));
  });

  test('LoRA target names that match no layer are usage errors listing the layers', async () => {
    await assert.rejects(PretrainedEncoder.load(bert, { ...SETUP, lora: { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj'] } }), (e: unknown) => e instanceof UsageError && /"q_proj" matches no dense layer/.test(e.message) && /query, key, value, dense/.test(e.message));
  });

  test('a bare base-model checkpoint (no "bert." prefix) loads to the same model', async () => {
    const dir = copy();
    rewrite(path.join(dir, 'model.safetensors'), (t) => {
      for (const [name, tensor] of [...t]) {
        if (!name.startsWith('bert.')) continue;
        t.delete(name);
        t.set(name.slice('bert.'.length), tensor);
      }
    });
    copyFileSync(path.join(bert, 'config.json'), path.join(dir, 'config.json'));
    const a = await PretrainedEncoder.load(bert, SETUP);
    const b = await PretrainedEncoder.load(dir, SETUP);
    try {
      const { inputs } = await batchOf(a.tokenizer, TEXTS);
      const [x, y] = [a, b].map((m) => m.forward(inputs, { training: false }));
      assert.equal(maxAbsDifference(values(x.logits!), values(y.logits!)), 0);
      tf.dispose([...x.states, ...y.states, x.logits!, y.logits!]);
      assert.ok(b.notes.some((n) => /newly initialised.*classifier\.weight/.test(n)), b.notes.join('; '));
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
