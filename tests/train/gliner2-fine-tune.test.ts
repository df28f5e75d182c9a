/**
 * GLiNER2 LoRA fine-tuning from a config with study 000's settings on a KBMC-format file, through
 * `hanlab train`: the adapter (PEFT layout) and merged model are written and load again, the merged
 * model predicts through `hanlab predict --task entities`; gold spans map to words as GLiNER2 maps them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run as train } from '../../cli/commands/train.js';
import { run as predict } from '../../cli/commands/predict.js';
import { loadGliner2WithAdapter } from '../../lib/models/gliner2-export.js';
import { goldSpans } from '../../lib/train/gliner2-fine-tune.js';
import { quietly } from './helpers.js';
import { cleanup, skipWithoutTorch, tempDir, tinyCheckpoint } from '../models/helpers.js';

const skip = skipWithoutTorch();
after(cleanup);

test('gold spans: every occurrence of the mention words, as (label, first word, width)', () => {
  const text = '위암 환자 의 위암 수술';
  const gold = goldSpans({ text, entities: [{ label: 'Disease', start: 0, end: 2 }, { label: 'Treatment', start: 11, end: 13 }] }, ['Disease', 'Body', 'Treatment']);
  assert.deepEqual(gold, [
    [0, 0, 0],
    [0, 3, 0],
    [2, 4, 0],
  ]);
});

describe('hanlab train with a GLiNER2 folder', { skip }, () => {
  test('study 000 settings on KBMC: adapter and merged model written, loaded and used by hanlab predict', async () => {
    const model = tinyCheckpoint({ arch: 'gliner2', seed: 4 });
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const config = path.join(dir, 'gliner2.ini');
    writeFileSync(
      config,
      `[Path]
model_name = ${model}
train_file = ${path.resolve('tests/fixtures/kbmc/kbmc-sample.tsv')}
valid_file =
output_dir = ${out}

[Hyperparameters]
num_labels = 3
max_seq_length = 512
batch_size = 4
learning_rate = 5e-4
epochs = 10
seed = 42
split_ratio = 0.1

[LoRA]
r = 16
alpha = 32
dropout = 0.1
target_modules = encoder,span_rep,classifier
`,
    );
    const { result, output } = await quietly(() => train(['--config', config, '--epochs', '2']));
    assert.equal(result, 0, output);
    assert.match(output, /trainable params: [\d,]+ \|\| all params/);
    assert.match(output, /epoch 2\/2: loss \d/);
    const history = JSON.parse(readFileSync(path.join(out, 'history.json'), 'utf8'));
    assert.equal(history.epochLosses.length, 2);
    assert.ok(history.epochLosses.every((l: number) => Number.isFinite(l) && l > 0));
    const adapterConfig = JSON.parse(readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    assert.equal(adapterConfig.r, 16);
    assert.equal(adapterConfig.lora_alpha, 32);
    assert.ok(adapterConfig.target_modules.includes('encoder.encoder.layer.0.attention.self.query_proj'));
    assert.ok(adapterConfig.target_modules.includes('span_rep.span_rep_layer.out_project.3'));
    assert.ok(adapterConfig.target_modules.includes('classifier.2'));
    assert.ok(!adapterConfig.target_modules.some((m: string) => m.startsWith('count_')));
    const reloaded = await loadGliner2WithAdapter(model, path.join(out, 'adapter'));
    reloaded.dispose();
    const pred = path.join(dir, 'pred.jsonl');
    writeFileSync(path.join(dir, 'in.txt'), '급성 충수염 은 충수 절제술 로 치료 한다 .\n');
    assert.equal(await predict(['--model', path.join(out, 'merged'), '--task', 'entities', '--labels', 'Disease,Body,Treatment', '--input', path.join(dir, 'in.txt'), '--output', pred]), 0);
    assert.equal(JSON.parse(readFileSync(pred, 'utf8')).text, '급성 충수염 은 충수 절제술 로 치료 한다 .');
  });
});
