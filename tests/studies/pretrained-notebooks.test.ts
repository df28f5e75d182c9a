/**
 * Issue 13 §6: notebooks 03 (study 004) and 06 (study 000) fine-tune a local Hugging Face checkpoint
 * when `model_dir` names one. A tiny random checkpoint (scripts/make-tiny-checkpoint.ts, in the real HF
 * layout) and small synthetic data sets of the notebooks' formats go in; the reports must name the model,
 * show 03's full and LoRA runs and 06's trainable% table, and every number checked here is recomputed
 * from what the run produced or from the checkpoint file itself:
 *  - parameter counts from the safetensors header (sizes of the tensors, LoRA's r·(in + out) per layer);
 *  - 03's accuracy and macro F1 from each run's confusion matrix; 06's TP / FP from the spans it lists;
 *  - data counts from the synthetic data written here.
 * 03 runs through the runner as the other study tests do, 06 through the CLI (`hanlab run -p model_dir=…`
 * then `hanlab report`), as a user would. Without model_dir both notebooks run as before; the committed
 * reports prove that (`npm run check:reports`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { makeTinyCheckpoint } from '../../scripts/make-tiny-checkpoint.js';
import { liveKernelCount } from '../../lib/jupyter/kernel-client.js';
import { runNotebook } from '../../lib/jupyter/runner.js';
import { renderDocuments } from '../../lib/report/render.js';
import { cleanup, skipWithoutTorch, tempDir } from '../models/helpers.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';
import { fileWriter, jsonl } from './files.js';
import { publishedFigures, unlabelledPublishedFigures } from './published-labels.js';

const skip = skipWithoutTorch();
const marker = newMarker();
const env = { HANLAB_TEST_MARKER: marker, HANLAB_BACKEND: 'cpu' };
let work = '';
const file = fileWriter(() => work);

before(() => {
  if (!skip) work = tempDir('hanlab-pretrained-notebooks-');
});
after(async () => {
  cleanup();
  assert.equal(liveKernelCount(), 0);
  assert.deepEqual(await waitForNoProcesses(marker), [], 'every kernel process was stopped');
});

/** Tensor shapes from a safetensors header (8-byte little-endian length, then JSON), read here without lib/. */
function checkpointShapes(dir: string): Map<string, number[]> {
  const fd = openSync(path.join(dir, 'model.safetensors'), 'r');
  try {
    const size = Buffer.alloc(8);
    readSync(fd, size, 0, 8, 0);
    const header = Buffer.alloc(Number(size.readBigUInt64LE()));
    readSync(fd, header, 0, header.length, 8);
    const entries = Object.entries(JSON.parse(header.toString('utf8')) as Record<string, { shape: number[] }>);
    return new Map(entries.filter(([name]) => name !== '__metadata__').map(([name, info]) => [name, info.shape]));
  } finally {
    closeSync(fd);
  }
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** PEFT's count for LoRA of rank r on the dense layers whose weight names match: r·(in + out) each. */
function loraCount(shapes: Map<string, number[]>, r: number, matches: (name: string) => boolean): number {
  let total = 0;
  for (const [name, shape] of shapes) if (shape.length === 2 && name.endsWith('.weight') && matches(name)) total += r * (shape[0] + shape[1]);
  return total;
}
const thousands = (n: number) => n.toLocaleString('en-US');

/** The table rows (cells) of the first Markdown table after the line that equals `heading`. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `the report has "${heading}"`);
  const rows: string[][] = [];
  let i = at + 1;
  while (i < lines.length && !lines[i].startsWith('|')) i++;
  for (; i < lines.length && lines[i].startsWith('|'); i++) rows.push(lines[i].slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  return rows.slice(2);
}
const rowNamed = (rows: string[][], name: string) => {
  const row = rows.find((r) => r[0].replace(/\*/g, '') === name);
  assert.ok(row, `a row named ${name}`);
  return row.map((c) => c.replace(/\*/g, ''));
};
const count = (cell: string) => Number(cell.replace(/,/g, ''));

/** Accuracy and macro F1 (zero division 0) of a confusion matrix with rows = predicted, columns = gold. */
function scoresOf(matrix: number[][]): { accuracy: number; f1: number; total: number } {
  const k = matrix.length;
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const diagonal = matrix.reduce((sum, row, i) => sum + row[i], 0);
  let f1 = 0;
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    const predicted = matrix[c].reduce((a, b) => a + b, 0);
    const gold = matrix.reduce((sum, row) => sum + row[c], 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = gold ? tp / gold : 0;
    f1 += precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  }
  return { accuracy: diagonal / total, f1: f1 / k, total };
}

describe('notebooks 03 and 06 fine-tune a local checkpoint (model_dir)', { concurrency: 1, timeout: 900_000, skip }, () => {
  test('03 sentiment: full fine-tuning and LoRA from one pretrained start, with the model named', async () => {
    const modelDir = path.join(work, 'tiny-klue-bert');
    makeTinyCheckpoint({ arch: 'bert', out: modelDir, seed: 3 });
    const positive = ['정말 재미있어요', '최고의 영화', '감동적이고 좋아요', '배우 연기가 훌륭해요', '또 보고 싶어요'];
    const negative = ['너무 지루해요', '최악의 영화', '돈이 아까워요', '연기가 어색해요', '다시는 안 봐요'];
    const rows = (n: number, offset: number) => Array.from({ length: n }, (_, i) => ({ text: (i % 2 ? positive : negative)[(i + offset) % 5] + ` ${i}`, label: i % 2 }));
    file('004/train.csv', ['text,label', ...rows(64, 0).map((r) => `${r.text},${r.label}`)].join('\n') + '\n');
    const testRows = rows(24, 2);
    const testFile = file('004/test.tsv', ['id\tdocument\tlabel', ...testRows.map((r, i) => `${i + 1}\t${r.text}\t${r.label}`)].join('\n') + '\n');
    const config = file('004/config.ini', `[Path]\nmodel_name = tiny-klue-bert\ntrain_file = ./train.csv\nvalid_file =\noutput_dir = ./out\ncheckpoint_dir = ./ckpt\n\n[Hyperparameters]\nnum_labels = 2\nmax_seq_length = 32\nbatch_size = 16\nlearning_rate = 5e-3\nepochs = 1\nseed = 7\nsplit_ratio = 0.25\n`);
    const result = await runNotebook('notebooks/03-sentiment.ipynb', {
      parameters: {
        config_file: config, test_file: testFile, train_limit: 0, valid_limit: 0, epochs_override: 0, learning_rate_override: 0, test_sample: 0,
        memory_budget_tokens: 48, format_samples_dir: '', model_dir: modelDir, full_learning_rate: 0.001, lora_learning_rate: 0.005,
      },
      env,
      output: path.join(work, '03.ipynb'),
    });
    assert.equal(result.ok, true, `03 ran: ${result.error?.message ?? ''}`);
    const md = renderDocuments(result.notebook, { file: '03-sentiment.ipynb' }).markdown;

    // Which model ran, from the checkpoint itself.
    assert.match(md, /이 실험의 모델은 사전학습 모델 \*\*tiny-klue-bert\*\*\(로컬 Hugging Face 체크포인트 `[^`]*tiny-klue-bert`, model_type `bert`\)입니다/);
    assert.match(md, /분류 헤드만 새로 초기화하고\(시드 7\), 전체 파인튜닝과 LoRA\(r 8, α 16, dropout 0\.1, 대상 모듈 query · value\) 두 방식으로/);
    assert.doesNotMatch(md, /처음부터 학습했습니다|무작위로 초기화된 모델/, 'the from-scratch wording is gone');

    // Parameter counts: the checkpoint's tensors, a new 2-class head, LoRA on query and value.
    const shapes = checkpointShapes(modelDir);
    const hidden = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')).hidden_size as number;
    const head = hidden * 2 + 2;
    const full = [...shapes.values()].reduce((n, s) => n + sizeOf(s), 0) + head;
    const lora = loraCount(shapes, 8, (name) => /\.(query|value)\.weight$/.test(name));
    const runs = tableAfter(md, '### 전체 파인튜닝과 LoRA (tiny-klue-bert, 테스트 24건)');
    const fullRow = rowNamed(runs, '전체 파인튜닝');
    const loraRow = rowNamed(runs, 'LoRA');
    const startRow = rowNamed(runs, '재학습 전 (사전학습 + 새 분류 헤드)');
    assert.deepEqual(fullRow.slice(1, 5), [thousands(full), thousands(full), '100.0000%', '0.001']);
    assert.deepEqual(loraRow.slice(1, 5), [thousands(lora + head), thousands(full + lora), `${((100 * (lora + head)) / (full + lora)).toFixed(4)}%`, '0.005']);
    assert.equal(startRow[2], thousands(full));
    assert.match(md, new RegExp(`# 전체 파인튜닝\\ntrainable params: ${thousands(full)} \\|\\| all params: ${thousands(full)} \\|\\| trainable%: 100\\.0000\\n# LoRA\\ntrainable params: ${thousands(lora + head)} \\|\\|`));

    // Each run's scores follow from its own confusion matrix (24 test rows), in both tables.
    const before = rowNamed(tableAfter(md, '### 재학습 전/후 성능 — 전체 파인튜닝 (테스트 24건)'), '정확도 (Accuracy)')[1];
    assert.equal(`${(100 * Number(before)).toFixed(1)}%`, startRow[6]);
    for (const [name, row] of [['전체 파인튜닝', fullRow], ['LoRA', loraRow]] as const) {
      const confusion = tableAfter(md, `### ${name} 후 혼동 행렬`).map((cells) => cells.slice(1).map(count));
      const { accuracy, f1, total } = scoresOf(confusion);
      assert.equal(total, 24, `${name}: the confusion matrix counts every test row`);
      const comparison = tableAfter(md, `### 재학습 전/후 성능 — ${name} (테스트 24건)`);
      assert.deepEqual(rowNamed(comparison, '정확도 (Accuracy)').slice(1, 3), [before, accuracy.toFixed(4)]);
      assert.equal(rowNamed(comparison, 'F1 (macro)')[2], f1.toFixed(4));
      assert.deepEqual(row.slice(6), [`${(100 * accuracy).toFixed(1)}%`, f1.toFixed(4)]);
      // One epoch of training, with its loss and validation accuracy.
      const loss = tableAfter(md, `### 에폭별 학습 손실과 검증 정확도 — ${name}`);
      assert.equal(loss.length, 1);
      assert.match(loss[0].join('|'), /^1\|\d\.\d{4}\|\d\.\d{4}$/);
    }
    // The simulated memory limit split both runs' batches: each of the two threads takes 8 of the 16 texts (~12 padded tokens each), over 48.
    const microBatches = tableAfter(md, '### 자동 마이크로 배치 (OOM 방지)');
    for (const name of ['전체 파인튜닝', 'LoRA']) {
      assert.ok(microBatches.some((r) => r[0] === name && r[2].includes('가상 메모리 한도(패딩 포함 48토큰)')), `${name} split its batch`);
    }
    assert.match(md, /\| 학습률 \| 전체 파인튜닝 0\.001, LoRA 0\.005 \(config\.ini의 0\.005는 처음부터 학습하는 모델의 값이라 쓰지 않음\) \|/);
    assert.match(md, /재학습 전 모델은 사전학습 가중치에 \*\*새로 초기화한 분류 헤드\*\*를 붙인 모델로/);
    assert.match(md, /\| 학습 \| train\.csv \| utf-8 · csv \| 48 \|/);
    assertLabelled(md, 'data/study-004/published.json');
  });

  test('06 span NER: LoRA (all-linear) on syllable BIO, the trainable% table, spans scored again', () => {
    const modelDir = path.join(work, 'tiny-klue-roberta');
    makeTinyCheckpoint({ arch: 'roberta', out: modelDir, seed: 5 });
    const disease = ['당뇨병', '고혈압', '두통', '폐렴', '위염', '천식'];
    const body = ['위', '심장', '폐', '간', '머리', '무릎'];
    const treatment = ['수술', '약물 치료', '물리 치료', '항생제', '주사', '식이 요법'];
    const sentence = (i: number) => {
      const [b, d, t] = [body[(i * 5) % 6], disease[i % 6], treatment[(i * 7) % 6]];
      const text = `환자는 ${b}에 ${d} 증상이 있어 ${t}를 받았다.`;
      const entities = (
        [
          ['Body', b],
          ['Disease', d],
          ['Treatment', t],
        ] as const
      ).map(([label, word]) => ({ label, start: text.indexOf(word), end: text.indexOf(word) + word.length, text: word }));
      return { id: `s${i}`, text, entities };
    };
    // The first training sentence also marks a label the gold file never uses: it is learnt and scored (support 0).
    const first = sentence(0);
    const symptom = { label: 'Symptom', start: first.text.indexOf('증상'), end: first.text.indexOf('증상') + 2, text: '증상' };
    const trainRows = [{ ...first, entities: [...first.entities.slice(0, 2), symptom, first.entities[2]] }, ...Array.from({ length: 23 }, (_, i) => sentence(i + 1))];
    const train = file('000/train.jsonl', jsonl(trainRows));
    const gold = file('000/gold.jsonl', jsonl(Array.from({ length: 9 }, (_, i) => sentence(100 + i))));
    const executed = path.join(work, '06.ipynb');
    const run = spawnSync(
      process.execPath,
      ['bin/hanlab.mjs', 'run', 'notebooks/06-span-ner-lora.ipynb', '-p', `model_dir=${modelDir}`, '-p', `train_file=${train}`, '-p', `gold_file=${gold}`, '-p', 'train_epochs=1', '-p', 'batch_size=8', '--out', executed],
      { encoding: 'utf8', env: { ...process.env, ...env } },
    );
    assert.equal(run.status, 0, `hanlab run: ${run.stderr}`);
    const report = spawnSync(process.execPath, ['bin/hanlab.mjs', 'report', executed, '--out', path.join(work, 'reports')], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(report.status, 0, `hanlab report: ${report.stderr}`);
    const md = readFileSync(path.join(work, 'reports', '06-span-ner-lora.md'), 'utf8');

    assert.match(md, /^# tiny-klue-roberta \+ LoRA — 스팬 NER 베이스라인 vs 파인튜닝 \(study 000 방식\)/);
    assert.match(md, /이 실행은 로컬 Hugging Face 체크포인트 \*\*tiny-klue-roberta\*\*\(`[^`]*tiny-klue-roberta`, model_type `roberta`\)에 음절 BIO 토큰 분류 헤드를 새로 붙이고, LoRA\(r 16, α 32, dropout 0\.1, 대상 모듈 all-linear\)로 학습 문장 24개를 1 에폭 학습했습니다/);
    assert.match(md, /\| Test \| 9개 문장, 정답 개체 27개 \|/);
    assert.match(md, /\| 학습 데이터 \| 24개 문장, 정답 개체 73개 \|/);
    assert.match(md, /\| 과제 \| 음절 BIO 토큰 분류 \(태그 9개: O B-Body I-Body B-Disease I-Disease B-Treatment I-Treatment B-Symptom I-Symptom\) \|/);
    assert.doesNotMatch(md, /데이터 안내 — 공개 보고서의 표에서 재구성한 기록/, 'our own gold file is not the reconstruction');

    // trainable%: LoRA on every dense layer of the encoder plus a new 9-tag head; the pooler is not used.
    const shapes = checkpointShapes(modelDir);
    const hidden = JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')).hidden_size as number;
    const head = hidden * 9 + 9;
    const lora = loraCount(shapes, 16, (name) => /\.encoder\.layer\.\d+\./.test(name));
    const base = [...shapes].filter(([name]) => !/(^|\.)pooler\./.test(name)).reduce((n, [, s]) => n + sizeOf(s), 0);
    const trainable = lora + head;
    const all = base + head + lora;
    const table = tableAfter(md, '### 학습하는 파라미터 (trainable%)');
    assert.deepEqual(rowNamed(table, '학습하는 파라미터 (LoRA + 분류 헤드)').slice(1), [thousands(trainable), '3,096,592 (LoRA params)']);
    assert.deepEqual(rowNamed(table, '전체 파라미터').slice(1, 2), [thousands(all)]);
    assert.deepEqual(rowNamed(table, 'trainable%').slice(1), [`${((100 * trainable) / all).toFixed(4)}%`, '1.46%']);
    assert.equal(rowNamed(table, 'PEFT 출력')[1], `\`trainable params: ${thousands(trainable)} \\|\\| all params: ${thousands(all)} \\|\\| trainable%: ${((100 * trainable) / all).toFixed(4)}\``);

    // TP / FP / FN follow from the spans the report lists (the predictions converted back from syllable tags).
    const spansHeading = md.includes('#### 모델이 낸 스팬') ? '#### 모델이 낸 스팬' : '';
    assert.ok(spansHeading, 'the predicted spans are listed');
    const listed = tableAfter(md, spansHeading);
    const scores = tableAfter(md, '### 3.1 정량적 결과');
    for (const [column, name] of [[1, '베이스라인'], [2, '파인튜닝 후']] as const) {
      const rows = listed.filter((r) => r[0].startsWith(`${name} s`));
      assert.ok(rows.length < 300, 'every span is listed (no cut)');
      const tp = rows.filter((r) => r[1] === 'TP').length;
      assert.equal(count(rowNamed(scores, 'TP')[column]), tp, `${name} TP`);
      assert.equal(count(rowNamed(scores, 'FP')[column]), rows.length - tp, `${name} FP`);
      assert.equal(count(rowNamed(scores, 'FN')[column]), 27 - tp, `${name} FN`);
    }
    // The loss is this run's: one epoch.
    assert.equal(rowNamed(tableAfter(md, '#### 라벨별 결과'), 'Symptom')[1], '0');
    const loss = tableAfter(md, '### 3.2 Training Loss 추이');
    assert.equal(loss.length, 1);
    assert.match(md, /- 학습 데이터 24개로 1 에폭 학습, 테스트 9문장/);
    assert.doesNotMatch(md, /학습 데이터 37개/, 'the study\'s training size is not ours');
    assertLabelled(md, 'data/study-000/published.json', [37, 22, 21]);
  });

  test('06 with model_dir but no train_file stops with a message that says what to give', async () => {
    const result = await runNotebook('notebooks/06-span-ner-lora.ipynb', { parameters: { model_dir: path.join(work, 'tiny-klue-roberta') }, env });
    assert.equal(result.ok, false);
    assert.match(`${result.failedCell?.evalue ?? ''} ${result.error?.message ?? ''}`, /model_dir is set but train_file is empty.*huggingface-cli download SungJoo\/KBMC/s);
  });
});

function assertLabelled(markdown: string, published: string, keyIntegers: number[] = []): void {
  const unlabelled = unlabelledPublishedFigures(markdown, publishedFigures(published, keyIntegers));
  assert.deepEqual(unlabelled, [], `published figures shown without the label 공개:\n${unlabelled.map((u) => `  ${u.line}: ${u.text} (${u.figures.join(', ')})`).join('\n')}`);
}
