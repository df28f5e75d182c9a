import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run as train, resolveModelKind } from '../../cli/commands/train.js';
import { run as predict, formatKlueSentence } from '../../cli/commands/predict.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { parseKlueNer } from '../../lib/data/klue-ner.js';
import { klueSentences, nsmcRows, quietly, setupBackend } from './helpers.js';

before(setupBackend);

function config(dir: string, modelName: string, trainFile: string, numLabels: number, extra = ''): string {
  const file = path.join(dir, 'config.ini');
  writeFileSync(
    file,
    `[Path]\nmodel_name = ${modelName}\ntrain_file = ${trainFile}\nvalid_file =\noutput_dir = ./out\ncheckpoint_dir = ./ckpt\n\n` +
      `[Hyperparameters]\nnum_labels = ${numLabels}\nmax_seq_length = 64\nbatch_size = 8\nlearning_rate = 2e-3\nepochs = 1\nseed = 42\nsplit_ratio = 0.25\n${extra}`,
  );
  return file;
}

test('model kinds: names, hanlab/ prefix and the loaders’ alias; transformer ids are refused', async () => {
  assert.equal(resolveModelKind('hanlab/conv-crf'), 'conv-crf');
  assert.equal(resolveModelKind('syllable-conv'), 'conv-classifier');
  assert.equal(resolveModelKind('team-lucid/deberta-v3-base-korean'), undefined);
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-cli-'));
  try {
    writeFileSync(path.join(dir, 'train.tsv'), 'id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\t0\n');
    await assert.rejects(train(['--config', config(dir, 'team-lucid/deberta-v3-base-korean', 'train.tsv', 2)]), (e: unknown) => e instanceof UsageError && /conv-crf/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hanlab train (conv-crf tagger) then hanlab predict writes KLUE TSV that scores', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-cli-'));
  try {
    const sentences = klueSentences(24);
    const tsv = sentences.map((s) => formatKlueSentence(s.id, s.tokens, s.tags)).join('\n');
    writeFileSync(path.join(dir, 'ner.tsv'), tsv);
    assert.deepEqual(parseKlueNer(tsv).map((s) => s.annotated), sentences.map((s) => s.annotated), 'formatKlueSentence rebuilds KLUE headers');
    const tagCount = new Set(sentences.flatMap((s) => s.tags)).size;
    await assert.rejects(train(['--config', config(dir, 'conv-crf', 'ner.tsv', tagCount + 1), '--progress', 'none']), (e: unknown) => e instanceof InputError && /num_labels/.test(e.message));
    const { result, output } = await quietly(() => train(['--config', config(dir, 'conv-crf', 'ner.tsv', tagCount), '--max-steps', '2', '--progress', 'none']));
    assert.equal(result, 0);
    assert.match(output, /saved .*model\.hanlab/);
    for (const name of ['model.hanlab', 'history.json', 'metrics.json']) assert.ok(existsSync(path.join(dir, 'out', name)), name);
    assert.ok(existsSync(path.join(dir, 'ckpt', 'checkpoint.hanlab')));
    const history = JSON.parse(readFileSync(path.join(dir, 'out', 'history.json'), 'utf8'));
    assert.equal(history.totalSteps, 2);
    const out = path.join(dir, 'pred.tsv');
    const predicted = await quietly(() => predict(['--model', path.join(dir, 'out', 'model.hanlab'), '--input', path.join(dir, 'ner.tsv'), '--output', out]));
    assert.match(predicted.output, /24 sentences · seqeval micro F1 \d\.\d{4} · KLUE entity macro F1/);
    const parsed = parseKlueNer(readFileSync(out, 'utf8'));
    assert.deepEqual(parsed.map((s) => s.tokens), sentences.map((s) => s.tokens));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hanlab train (classifier) on NSMC rows, predict with a seeded sample', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-cli-'));
  try {
    const rows = nsmcRows(40);
    writeFileSync(path.join(dir, 'train.tsv'), 'id\tdocument\tlabel\n' + rows.texts.map((t, i) => `${i}\t${t}\t${rows.labels[i]}`).join('\n') + '\n');
    const { result } = await quietly(() => train(['--config', config(dir, 'syllable-conv', 'train.tsv', 2), '--max-steps', '2', '--progress', 'none']));
    assert.equal(result, 0);
    const model = path.join(dir, 'out', 'model.hanlab');
    const out = path.join(dir, 'pred.tsv');
    const predicted = await quietly(() => predict(['--model', model, '--input', path.join(dir, 'train.tsv'), '--sample', '10', '--seed', '3', '--output', out]));
    assert.match(predicted.output, /10 texts · accuracy \d\.\d{4} · macro F1/);
    const first = readFileSync(out, 'utf8');
    const table = first.split('\n').filter((line) => /^\d+\t[01]\t/.test(line));
    assert.equal(table.length, 10);
    await quietly(() => predict(['--model', model, '--input', path.join(dir, 'train.tsv'), '--sample', '10', '--seed', '3', '--output', out]));
    assert.equal(readFileSync(out, 'utf8'), first, 'the same seed picks the same rows');
    await quietly(() => predict(['--model', model, '--text', '정말 재밌어요', '--output', out]));
    assert.match(readFileSync(out, 'utf8'), /^row\tprediction\tp_0\tp_1\n1\t[01]\t0\.\d{6}\t0\.\d{6}\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown or incomplete options are usage errors that name the option, not crashes', async () => {
  await assert.rejects(train(['--config', 'x.ini', '--epoch', '3']), (e: unknown) => e instanceof UsageError && /--epoch/.test(e.message) && /Usage: hanlab train/.test(e.message));
  await assert.rejects(predict(['--model']), (e: unknown) => e instanceof UsageError && /--model/.test(e.message) && /Usage: hanlab predict/.test(e.message));
  assert.equal(await train(['--help']), 0);
  assert.equal(await predict(['-h']), 0);
});
