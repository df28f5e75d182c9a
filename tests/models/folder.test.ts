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

  test('num_hidden_layers far beyond the checkpoint fails at once, naming config.json (no layer is built first)', async () => {
    const dir = copy();
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 10_000_000 }));
    await assert.rejects(
      PretrainedEncoder.load(dir, SETUP),
      (e: unknown) => e instanceof InputError && e.file === path.join(dir, 'config.json') && e.field === 'num_hidden_layers' && /is 10000000, but model\.safetensors holds layers 0…1 \(2\)/.test(e.message),
    );
  });

  test('a token id beyond vocab_size names tokenizer.json and the token: added tokens without resized embeddings, or a foreign vocabulary', async () => {
    const dir = copy();
    const file = path.join(dir, 'tokenizer.json');
    const tokenizer = JSON.parse(readFileSync(file, 'utf8'));
    const { vocab_size: vocabSize } = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    // tokenizer.add_tokens() then save, without model.resize_token_embeddings(): the library numbers added tokens after the vocabulary.
    const added = Array.from({ length: vocabSize - Object.keys(tokenizer.model.vocab).length + 1 }, (_, i) => `[NEW${i}]`);
    tokenizer.added_tokens.push(...added.map((content, i) => ({ id: 1_000_000 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })));
    writeFileSync(file, JSON.stringify(tokenizer));
    const last = added.at(-1) as string;
    await assert.rejects(
      PretrainedEncoder.load(dir, SETUP),
      (e: unknown) => e instanceof InputError && e.file === file && e.field === last && new RegExp(`token "\\[${last.slice(1, -1)}\\]" has id ${vocabSize}, beyond config\\.json's vocab_size ${vocabSize}`).test(e.message) && /resize_token_embeddings/.test(e.message),
    );
    // The fuzzed case: a vocabulary entry with id 1000000 (GatherV2 "index 1000000 is not in [0, …]" before).
    tokenizer.added_tokens = tokenizer.added_tokens.filter((t: { content: string }) => !added.includes(t.content));
    tokenizer.model.vocab['가나다'] = 1_000_000;
    writeFileSync(file, JSON.stringify(tokenizer));
    await assert.rejects(
      PretrainedEncoder.load(dir, SETUP),
      (e: unknown) => e instanceof InputError && e.file === file && /reaches id 1000000 \(token "가나다"\) but config\.json's vocab_size/.test(e.message),
    );
  });

  test('an empty WordPiece vocabulary (tokenizer.json or vocab.txt) is one clear line naming the file', async () => {
    const dir = copy();
    const file = path.join(dir, 'tokenizer.json');
    const tokenizer = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...tokenizer, added_tokens: [], model: { ...tokenizer.model, vocab: {} } }));
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.file === file && e.field === 'model.vocab' && /empty WordPiece vocabulary/.test(e.message));
    rmSync(file);
    writeFileSync(path.join(dir, 'vocab.txt'), '');
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.file === path.join(dir, 'vocab.txt') && /empty WordPiece vocabulary/.test(e.message));
  });

  test('a tokenizer.json the library cannot read keeps the separator in its message', async () => {
    const dir = copy();
    writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": 5}');
    await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && /Error loading from file: invalid type/.test(e.message));
  });

  for (const bad of [Number.NaN, Infinity, -Infinity]) {
    test(`${bad} in the weights is found when loading, naming the tensor`, async () => {
      const dir = copy();
      const name = 'bert.encoder.layer.1.attention.self.key.weight';
      rewrite(path.join(dir, 'model.safetensors'), (t) => {
        const values = Float32Array.from((t.get(name) as TensorToWrite).values);
        values[7] = bad;
        t.set(name, { shape: [32, 32], values });
      });
      await assert.rejects(PretrainedEncoder.load(dir, SETUP), (e: unknown) => e instanceof InputError && e.file === path.join(dir, 'model.safetensors') && e.field === name && new RegExp(`holds ${bad} at element 7`).test(e.message));
    });
  }

  test('NaN in a PEFT adapter is found when loading it, naming the adapter tensor', async () => {
    const encoder = await PretrainedEncoder.load(bert, { ...SETUP, lora: { r: 2, alpha: 4, dropout: 0, targetModules: ['query', 'value'] } });
    try {
      const tensors = await encoder.adapterWeights();
      const name = 'base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight';
      const tensor = tensors.get(name);
      assert.ok(tensor, [...tensors.keys()].join(', '));
      tensor.values[3] = Number.NaN;
      assert.throws(() => encoder.loadAdapterWeights(tensors, 'adapter_model.safetensors'), (e: unknown) => e instanceof InputError && e.file === 'adapter_model.safetensors' && e.field === name && /holds NaN at element 3/.test(e.message));
    } finally {
      encoder.dispose();
    }
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
