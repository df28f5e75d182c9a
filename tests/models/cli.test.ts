/**
 * `hanlab train` / `hanlab predict` with a pretrained encoder folder, end to end on tiny checkpoints:
 * study 004's config.ini as published (model_name pointing at a folder beside it) with a [LoRA]
 * section on a three-class news table; full fine-tuning on an NSMC sample; KLUE NER on a sample of the
 * fixed partition, scored by `hanlab eval ner`; a LoRA run killed with SIGKILL that resumes to the same
 * loss curve; the GPU kernel's requirement failing loudly where there is no GPU.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { run as train } from '../../cli/commands/train.js';
import { run as predict, formatKlueSentence } from '../../cli/commands/predict.js';
import { run as evalNer } from '../../cli/commands/eval-ner.js';
import { UsageError } from '../../lib/errors.js';
import { loadKluePartition } from '../../lib/data/klue-partition.js';
import { klueSentences, nsmcRows, quietly } from '../train/helpers.js';
import { cleanup, skipWithoutTorch, tempDir, tinyCheckpoint } from './helpers.js';

const skip = skipWithoutTorch();
after(cleanup);

/** Study 004's config.ini as published, with model_name and the data paths of this test. */
function study004Config(modelName: string, extra = '', overrides: Record<string, string> = {}): string {
  const value = (key: string, fallback: string) => overrides[key] ?? fallback;
  return `[Path]
# 1. DeBERTa/BERT 사용 시 (kobert_train.py 실행용)
model_name = ${modelName}

# 2. KoELECTRA 사용 시 (koelectra_train.py 실행용 - 주석 해제 후 사용)
# model_name = monologg/koelectra-base-v3-discriminator

# 데이터 파일 (CSV, JSON, Parquet 지원)
train_file = ${value('train_file', './dataset_dir/news_data.csv')}
valid_file =  ; 비워두면 train_file에서 자동 분할

# 결과 저장 경로
output_dir = ./models/fine_tuned_model
checkpoint_dir = ./checkpoints

[Hyperparameters]
num_labels = ${value('num_labels', '3')}          ; 긍정/부정/중립 등 라벨 개수
max_seq_length = ${value('max_seq_length', '128')}    ; 문장 최대 길이
batch_size = ${value('batch_size', '64')}         ; 목표 배치 사이즈 (스크립트가 자동으로 GPU에 맞춰 최적화함)
learning_rate = ${value('learning_rate', '2e-5')}
epochs = ${value('epochs', '3')}
seed = 42
split_ratio = 0.2       ; 검증 데이터 비율 (20%)
${extra}`;
}

/** A three-class table in study 004's news format (text, label 긍정/부정/중립) from real sentences. */
function writeNewsTable(file: string, rows: number): void {
  const nsmc = nsmcRows(rows);
  const klue = klueSentences(rows);
  const lines = ['text,label'];
  for (let i = 0; i < rows; i++) {
    const quote = (t: string) => `"${t.replace(/"/g, '""')}"`;
    lines.push(i % 3 === 2 ? `${quote(klue[i].tokens.join(''))},중립` : `${quote(nsmc.texts[i])},${nsmc.labels[i] === 1 ? '긍정' : '부정'}`);
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, lines.join('\n') + '\n');
}

describe('hanlab train / predict with a pretrained encoder folder', { skip }, () => {
  let deberta: string;
  before(() => {
    deberta = tinyCheckpoint({ arch: 'deberta-v2', seed: 3, extras: true });
  });

  test("study 004's config.ini as published, model_name = a folder beside it, [LoRA]: adapter/ and merged/ predict alike", async () => {
    const dir = tempDir();
    spawnSync('cp', ['-r', deberta, path.join(dir, 'deberta-v3-tiny')]);
    writeNewsTable(path.join(dir, 'dataset_dir', 'news_data.csv'), 45);
    writeFileSync(path.join(dir, 'config.ini'), study004Config('./deberta-v3-tiny', '\n[LoRA]\nr = 4          ; 랭크\nalpha = 8\ndropout = 0.1\ntarget_modules = query,value\n', { learning_rate: '5e-3' }));
    const { result, output } = await quietly(() => train(['--config', path.join(dir, 'config.ini'), '--progress', 'none']));
    assert.equal(result, 0);
    assert.match(output, /sequence-classification, LoRA r 4 alpha 8 dropout 0\.1 on query,value/);
    assert.match(output, /trainable params: [\d,]+ \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}/);
    assert.match(output, /labels 긍정, 부정, 중립/);
    const out = path.join(dir, 'models', 'fine_tuned_model');
    for (const file of ['adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'merged/config.json', 'merged/model.safetensors', 'merged/tokenizer.json', 'history.json', 'metrics.json']) {
      assert.ok(existsSync(path.join(out, file)), file);
    }
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    assert.equal(metrics.kind, 'encoder');
    assert.equal(metrics.lora.r, 4);
    assert.equal(metrics.device.backend, 'wasm');
    assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'merged', 'config.json'), 'utf8')).id2label, { 0: '긍정', 1: '부정', 2: '중립' });
    const predictions: string[] = [];
    for (const model of ['merged', 'adapter']) {
      const file = path.join(dir, `pred-${model}.tsv`);
      const { output: printed } = await quietly(() => predict(['--model', path.join(out, model), '--input', path.join(dir, 'dataset_dir', 'news_data.csv'), '--output', file]));
      assert.match(printed, /45 texts · accuracy \d\.\d{4} · macro F1/);
      predictions.push(readFileSync(file, 'utf8'));
    }
    assert.match(predictions[0], /^row\tprediction\tp_긍정\tp_부정\tp_중립\n/);
    assert.equal(predictions[0], predictions[1], 'the merged model and the adapter predict the same');
  });

  test('full fine-tuning (no [LoRA]) on an NSMC sample with a worker thread writes merged/ only, and its loss falls', async () => {
    const dir = tempDir();
    const rows = nsmcRows(48);
    writeFileSync(path.join(dir, 'train.tsv'), 'id\tdocument\tlabel\n' + rows.texts.map((t, i) => `${i}\t${t}\t${rows.labels[i]}`).join('\n') + '\n');
    writeFileSync(path.join(dir, 'config.ini'), study004Config(deberta, '', { train_file: './train.tsv', num_labels: '2', batch_size: '8', epochs: '4', learning_rate: '3e-3', max_seq_length: '48' }));
    const { result, output } = await quietly(() => train(['--config', path.join(dir, 'config.ini'), '--progress', 'none', '--workers', '1', '--patience', '0']));
    assert.equal(result, 0);
    assert.match(output, /full fine-tuning/);
    assert.match(output, /trainable%: 100\.0000/);
    const out = path.join(dir, 'models', 'fine_tuned_model');
    assert.ok(existsSync(path.join(out, 'merged', 'model.safetensors')));
    assert.ok(!existsSync(path.join(out, 'adapter')), 'no adapter without LoRA');
    const history = JSON.parse(readFileSync(path.join(out, 'history.json'), 'utf8'));
    const losses = history.epochs.map((e: { trainLoss: number }) => e.trainLoss);
    assert.equal(losses.length, 4);
    assert.ok(losses[3] < losses[0], `epoch losses ${losses.join(', ')}`);
  });

  test('KLUE NER on a sample of the fixed partition: syllable predictions that hanlab eval ner scores', async () => {
    const dir = tempDir();
    const partition = loadKluePartition();
    const sample = { ...partition, train: partition.train.slice(0, 40), validation: partition.validation.slice(0, 10), test: partition.test.slice(0, 10) };
    const wanted = new Set([...sample.train, ...sample.validation, ...sample.test]);
    const sentences = klueSentences(5000).filter((s) => wanted.has(s.id));
    writeFileSync(path.join(dir, 'partition.json'), JSON.stringify(sample));
    writeFileSync(path.join(dir, 'ner.tsv'), sentences.map((s) => formatKlueSentence(s.id, s.tokens, s.tags)).join('\n'));
    const test = sentences.filter((s) => sample.test.includes(s.id));
    writeFileSync(path.join(dir, 'test.tsv'), test.map((s) => formatKlueSentence(s.id, s.tokens, s.tags)).join('\n'));
    const electra = tinyCheckpoint({ arch: 'electra', seed: 4 });
    const tags = new Set(sentences.flatMap((s) => s.tags)).size;
    writeFileSync(
      path.join(dir, 'config.ini'),
      study004Config(electra, '[LoRA]\nr = 4\nalpha = 16\ntarget_modules = all-linear\n', { train_file: './ner.tsv', num_labels: String(tags), batch_size: '16', epochs: '2', learning_rate: '5e-3', max_seq_length: '128' }),
    );
    const { result, output } = await quietly(() => train(['--config', path.join(dir, 'config.ini'), '--klue-partition', '--partition-file', path.join(dir, 'partition.json'), '--progress', 'none']));
    assert.equal(result, 0);
    assert.match(output, /token-classification, LoRA r 4 alpha 16 dropout 0\.1 on all-linear/);
    assert.match(output, /40 training \/ 10 validation sentences \/ 10 test/);
    assert.match(output, /test micro F1 \d\.\d{4} · KLUE entity macro F1 [\d.]+ · KLUE char macro F1 [\d.]+/);
    const out = path.join(dir, 'models', 'fine_tuned_model');
    const predicted = path.join(dir, 'pred.tsv');
    const { output: printed } = await quietly(() => predict(['--model', path.join(out, 'adapter'), '--input', path.join(dir, 'test.tsv'), '--output', predicted]));
    assert.match(printed, /10 sentences · seqeval micro F1 \d\.\d{4} · KLUE entity macro F1/);
    const scored = await quietly(() => evalNer(['--gold', path.join(dir, 'test.tsv'), '--pred', predicted, '--klue', '--json']));
    assert.equal(scored.result, 0);
    const figures = JSON.parse(scored.output.slice(scored.output.indexOf('{')));
    // The saved adapter, reloaded by predict and scored by eval ner, gives the figures training reported.
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    assert.equal(figures.klue.entity_macro_f1, metrics.test.klue.entity_macro_f1);
    assert.equal(figures.klue.char_macro_f1, metrics.test.klue.char_macro_f1);
    assert.equal(figures['micro avg']['f1-score'], metrics.test.seqeval.micro['f1-score']);
  });

  test('a LoRA run killed with SIGKILL resumes from its checkpoint to the same loss curve', async () => {
    const rows = nsmcRows(32);
    const setup = (name: string) => {
      const dir = path.join(tempDir(), name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'train.tsv'), 'id\tdocument\tlabel\n' + rows.texts.map((t, i) => `${i}\t${t}\t${rows.labels[i]}`).join('\n') + '\n');
      writeFileSync(
        path.join(dir, 'config.ini'),
        study004Config(deberta, '[LoRA]\nr = 4\nalpha = 8\ndropout = 0.2\n', { train_file: './train.tsv', num_labels: '2', batch_size: '8', epochs: '3', learning_rate: '1e-2', max_seq_length: '48' }),
      );
      return dir;
    };
    const cli = (dir: string, extra: string[]) => [path.join('bin', 'hanlab.mjs'), 'train', '--config', path.join(dir, 'config.ini'), '--progress', 'lines', '--checkpoint-every', '1', '--patience', '0', ...extra];
    const losses = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'models', 'fine_tuned_model', 'history.json'), 'utf8')).steps.map((s: { loss: number }) => s.loss);
    const whole = setup('whole');
    const full = spawnSync(process.execPath, cli(whole, []), { encoding: 'utf8', timeout: 120_000 });
    assert.equal(full.status, 0, full.stderr);
    const expected = losses(whole);
    assert.equal(expected.length, 12, '26 training texts, batch 8, 3 epochs');
    const killed = setup('killed');
    const updates = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, cli(killed, []), { stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = 0;
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        seen += (chunk.match(/^epoch \d+\/3 \d+% loss/gm) ?? []).length;
        if (seen >= 4 && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`the run ended before it was killed (${signal})`))));
    });
    assert.ok(updates >= 4 && updates < 12, `killed after ${updates} updates`);
    assert.ok(existsSync(path.join(killed, 'checkpoints', 'checkpoint.hanlab')));
    assert.ok(!existsSync(path.join(killed, 'models', 'fine_tuned_model', 'history.json')), 'the killed run wrote no results');
    const resumed = spawnSync(process.execPath, cli(killed, ['--resume']), { encoding: 'utf8', timeout: 120_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /resumed from .*checkpoint\.hanlab at update \d/);
    assert.deepEqual(losses(killed), expected);
  });

  test('the GPU kernel (HANLAB_REQUIRE_GPU=1) fails loudly where tfjs-node-gpu cannot run', () => {
    const dir = tempDir();
    writeNewsTable(path.join(dir, 'dataset_dir', 'news_data.csv'), 12);
    writeFileSync(path.join(dir, 'config.ini'), study004Config(deberta));
    const env: NodeJS.ProcessEnv = { ...process.env, HANLAB_REQUIRE_GPU: '1' };
    delete env.HANLAB_ALLOW_CPU_FALLBACK;
    delete env.HANLAB_BACKEND;
    const run = spawnSync(process.execPath, [path.join('bin', 'hanlab.mjs'), 'train', '--config', path.join(dir, 'config.ini')], { encoding: 'utf8', env, timeout: 60_000 });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /tensorflow-gpu/);
    assert.match(run.stderr, /HANLAB_ALLOW_CPU_FALLBACK=1/);
    assert.ok(!existsSync(path.join(dir, 'models')), 'nothing trained on the CPU behind the user’s back');
  });

  test('damaged model folders end `hanlab train` with one line naming the file and field, exit 2, before any layer is built', () => {
    const dir = tempDir();
    writeNewsTable(path.join(dir, 'dataset_dir', 'news_data.csv'), 12);
    writeFileSync(path.join(dir, 'config.ini'), study004Config('./model'));
    const model = path.join(dir, 'model');
    spawnSync('cp', ['-r', deberta, model]);
    const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8'));
    const trainOnce = () => spawnSync(process.execPath, [path.join('bin', 'hanlab.mjs'), 'train', '--config', path.join(dir, 'config.ini'), '--progress', 'none'], { encoding: 'utf8', timeout: 120_000 });
    // 10^7 layers: V8 ran out of heap after 69 s before config.json was checked against the weights.
    writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 10_000_000 }));
    let run = trainOnce();
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /config\.json, field "num_hidden_layers": num_hidden_layers is 10000000, but model\.safetensors holds layers 0…1 \(2\)/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    // A tokenizer id beyond vocab_size ended in "internal error: GatherV2 …", exit 1.
    writeFileSync(path.join(model, 'config.json'), JSON.stringify(config));
    const tokenizer = JSON.parse(readFileSync(path.join(model, 'tokenizer.json'), 'utf8'));
    // tokenizer.add_tokens() and save, without model.resize_token_embeddings(): the new token's id is the vocabulary's length.
    tokenizer.added_tokens.push({ id: tokenizer.model.vocab.length, content: '[새토큰]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    writeFileSync(path.join(model, 'config.json'), JSON.stringify({ ...config, vocab_size: tokenizer.model.vocab.length }));
    writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(tokenizer));
    run = trainOnce();
    assert.equal(run.status, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /tokenizer\.json, field "\[새토큰\]": added token "\[새토큰\]" has id \d+, beyond config\.json's vocab_size \d+ .*resize_token_embeddings/);
  });

  test('model_name that is neither a model kind nor a folder says how to download it', async () => {
    const dir = tempDir();
    writeNewsTable(path.join(dir, 'dataset_dir', 'news_data.csv'), 6);
    writeFileSync(path.join(dir, 'config.ini'), study004Config('klue/bert-base'));
    await assert.rejects(train(['--config', path.join(dir, 'config.ini')]), (e: unknown) => e instanceof UsageError && /huggingface-cli download klue\/bert-base --local-dir klue-bert-base/.test(e.message) && /conv-crf/.test(e.message));
    writeFileSync(path.join(dir, 'config.ini'), study004Config('conv-classifier', '[LoRA]\nr = 4\n'));
    await assert.rejects(train(['--config', path.join(dir, 'config.ini')]), (e: unknown) => e instanceof UsageError && /\[LoRA\].*pretrained encoders/.test(e.message));
  });
});
