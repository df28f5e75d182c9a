/**
 * `hanlab train --backend webgpu` and `hanlab predict --backend webgpu` on a software adapter
 * (SwiftShader, with HANLAB_ALLOW_SOFTWARE_GPU=1): the shipped NSMC and KLUE NER configs, on samples of
 * their data (SwiftShader computes on the CPU, slowly), train to the same loss curve as `--backend
 * wasm` within 1e-4 relative, and a saved model predicts the same labels on both backends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run as train } from '../../cli/commands/train.js';
import { run as predict, formatKlueSentence } from '../../cli/commands/predict.js';
import { loadKluePartition } from '../../lib/data/klue-partition.js';
import type { TrainHistory } from '../../lib/train/trainer.js';
import { relativeDifference, webgpuSkipReason } from '../tensor/webgpu-helpers.js';
import { klueSentences, quietly } from './helpers.js';

let skip: string | null = null;
const dirs: string[] = [];
const saved = { backend: process.env.HANLAB_BACKEND, software: process.env.HANLAB_ALLOW_SOFTWARE_GPU };
before(async () => {
  skip = await webgpuSkipReason();
  process.env.HANLAB_ALLOW_SOFTWARE_GPU = '1';
});
after(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const [name, value] of [['HANLAB_BACKEND', saved.backend], ['HANLAB_ALLOW_SOFTWARE_GPU', saved.software]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-webgpu-cli-'));
  dirs.push(dir);
  return dir;
}

/** A shipped config with its train file and output folders replaced (everything else as shipped). */
function configFrom(shipped: string, dir: string, trainFile: string, validFile?: string): string {
  let text = readFileSync(shipped, 'utf8')
    .replace(/^train_file\s*=.*$/m, `train_file = ${trainFile}`)
    .replace(/^output_dir\s*=.*$/m, 'output_dir = ./out/model')
    .replace(/^checkpoint_dir\s*=.*$/m, 'checkpoint_dir =');
  if (validFile) text = text.replace(/^valid_file\s*=.*$/m, `valid_file = ${validFile}`);
  const file = path.join(dir, 'config.ini');
  writeFileSync(file, text);
  return file;
}

async function trainOn(backend: string, config: string, extra: string[]): Promise<{ history: TrainHistory; output: string; model: string }> {
  const { result, output } = await quietly(() => train(['--config', config, '--backend', backend, '--max-steps', '3', '--progress', 'none', ...extra]));
  assert.equal(result, 0, output);
  const out = path.join(path.dirname(config), 'out', 'model');
  const history = JSON.parse(readFileSync(path.join(out, 'history.json'), 'utf8')) as TrainHistory;
  return { history, output, model: path.join(out, 'model.hanlab') };
}

async function predictOn(backend: string, model: string, input: string): Promise<string> {
  const { result, output } = await quietly(() => predict(['--model', model, '--input', input, '--backend', backend]));
  assert.equal(result, 0, output);
  return output;
}

async function assertSameCurve(config: string, extra: string[] = []): Promise<string> {
  const wasm = await trainOn('wasm', config, extra);
  const webgpu = await trainOn('webgpu', config, extra);
  assert.match(webgpu.output, /^backend: webgpu/m);
  assert.match(webgpu.output, /gradient worker threads \(--workers auto\) are for CPU backends and do not apply/);
  assert.equal(webgpu.history.backend, 'webgpu');
  assert.equal(webgpu.history.steps.length, 3);
  const curve = (history: TrainHistory) => history.steps.map((step) => step.loss);
  const difference = relativeDifference(curve(webgpu.history), curve(wasm.history));
  assert.ok(difference < 1e-4, `loss curves ${curve(wasm.history).join(', ')} (wasm) vs ${curve(webgpu.history).join(', ')} (webgpu): relative ${difference}`);
  return webgpu.model;
}

test('hanlab train --backend webgpu: data/nsmc/config.ini on a sample trains to the loss curve of wasm; its model predicts the same labels on both', async (t) => {
  if (skip) return t.skip(skip);
  const dir = tempDir();
  const rows = readFileSync('data/nsmc/ratings_train.first14274.txt', 'utf8').split('\n');
  writeFileSync(path.join(dir, 'train.txt'), rows.slice(0, 61).join('\n') + '\n');
  writeFileSync(path.join(dir, 'test.txt'), [rows[0], ...rows.slice(200, 224)].join('\n') + '\n');
  const model = await assertSameCurve(configFrom('data/nsmc/config.ini', dir, './train.txt'));
  const onWasm = await predictOn('wasm', model, path.join(dir, 'test.txt'));
  const onWebgpu = await predictOn('webgpu', model, path.join(dir, 'test.txt'));
  const labels = (printed: string) => printed.split('\n').filter((line) => line.includes('\t')).map((line) => line.split('\t')[1]);
  assert.equal(labels(onWasm).length, 24);
  assert.deepEqual(labels(onWebgpu), labels(onWasm));
});

test('hanlab train --backend webgpu: data/klue-ner/config.ini --klue-partition on a sample of the partition trains to the loss curve of wasm; the same tags on both', async (t) => {
  if (skip) return t.skip(skip);
  const dir = tempDir();
  const partition = loadKluePartition();
  const wanted = (ids: string[], count: number) => ids.slice(0, count);
  const sample = { ...partition, train: wanted(partition.train, 24), validation: wanted(partition.validation, 6), test: wanted(partition.test, 6) };
  const ids = new Set([...sample.train, ...sample.validation, ...sample.test]);
  const sentences = klueSentences(5000).filter((s) => ids.has(s.id));
  writeFileSync(path.join(dir, 'partition.json'), JSON.stringify(sample));
  writeFileSync(path.join(dir, 'ner.tsv'), sentences.map((s) => formatKlueSentence(s.id, s.tokens, s.tags)).join('\n'));
  const test = sentences.filter((s) => sample.test.includes(s.id));
  writeFileSync(path.join(dir, 'test.tsv'), test.map((s) => formatKlueSentence(s.id, s.tokens, s.tags)).join('\n'));
  const config = configFrom('data/klue-ner/config.ini', dir, './ner.tsv', './ner.tsv');
  const model = await assertSameCurve(config, ['--klue-partition', '--partition-file', path.join(dir, 'partition.json')]);
  const onWasm = await predictOn('wasm', model, path.join(dir, 'test.tsv'));
  const onWebgpu = await predictOn('webgpu', model, path.join(dir, 'test.tsv'));
  const tags = (printed: string) => printed.split('\n').filter((line) => /\t/.test(line) && !line.startsWith('##'));
  assert.ok(tags(onWasm).length > 20, onWasm);
  assert.deepEqual(tags(onWebgpu), tags(onWasm));
});

test('--backend names a backend lib/backend knows, or exits 2 with the list', async () => {
  await assert.rejects(train(['--config', 'data/nsmc/config.ini', '--backend', 'vulkan']), /--backend="vulkan" is not a backend; use one of webgpu, /);
});
