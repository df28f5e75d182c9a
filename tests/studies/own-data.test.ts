/**
 * Issue 12 §1: a user's own records give a coherent report. Each of notebooks 01–06 runs on the
 * hanlab kernel over a synthetic data set of the shipped format, written here, and its report is
 * checked against that data:
 *  - the counts the report shows are the synthetic data's (counted here, plainly, not through lib/);
 *  - no figure of the published study appears unless the report says it is the published report's
 *    (tests/studies/published-labels.ts);
 *  - every comparison with the published report shows both sides: the published figure and this
 *    data's figure, on the same line.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { liveKernelCount } from '../../lib/jupyter/kernel-client.js';
import { runNotebook } from '../../lib/jupyter/runner.js';
import { renderDocuments } from '../../lib/report/render.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';
import { fileWriter, jsonl } from './files.js';
import { publishedFigures, unlabelledPublishedFigures } from './published-labels.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-own-data-'));
const marker = newMarker();
const env = { HANLAB_TEST_MARKER: marker, HANLAB_BACKEND: 'cpu' };
const file = fileWriter(() => work);

after(async () => {
  rmSync(work, { recursive: true, force: true });
  assert.equal(liveKernelCount(), 0);
  assert.deepEqual(await waitForNoProcesses(marker), [], 'every kernel process was stopped');
});

/** Runs a study notebook on the given parameters and renders its Markdown report. */
async function report(notebook: string, parameters: Record<string, unknown>): Promise<string> {
  const result = await runNotebook(path.join('notebooks', notebook), { parameters, env, output: path.join(work, notebook) });
  assert.equal(result.ok, true, `${notebook} ran: ${result.error?.message ?? ''}`);
  return renderDocuments(result.notebook, { file: notebook }).markdown;
}

function assertLabelled(markdown: string, published: string, keyIntegers: number[] = []): void {
  const unlabelled = unlabelledPublishedFigures(markdown, publishedFigures(published, keyIntegers));
  assert.deepEqual(unlabelled, [], `published figures shown without the label 공개:\n${unlabelled.map((u) => `  ${u.line}: ${u.text} (${u.figures.join(', ')})`).join('\n')}`);
}

const lineWith = (markdown: string, start: string) => markdown.split('\n').find((l) => l.startsWith(start)) ?? '';

/**
 * 32 KLUE-format sentences of our own (a name and a place each) and a 23/4/5 partition of them,
 * written under `dir`.
 */
function ownKlueData(dir: string): { sentences: { id: string; name: string; place: string }[]; klue: string; partition: string } {
  const sentences = Array.from({ length: 32 }, (_, i) => ({ id: `own-${String(i).padStart(3, '0')}`, name: ['김철수', '이영희', '박민수'][i % 3], place: ['서울', '부산'][i % 2] }));
  const tsv = ['## 우리 데이터', ''];
  for (const s of sentences) {
    const text = `${s.name}는 ${s.place}에 갔다.`;
    tsv.push(`## ${s.id}\t<${s.name}:PS>는 <${s.place}:LC>에 갔다.`);
    for (const [k, ch] of [...text].entries()) {
      const inName = k < s.name.length;
      const placeAt = text.indexOf(s.place);
      const inPlace = k >= placeAt && k < placeAt + s.place.length;
      tsv.push(`${ch}\t${inName ? (k === 0 ? 'B-PS' : 'I-PS') : inPlace ? (k === placeAt ? 'B-LC' : 'I-LC') : 'O'}`);
    }
    tsv.push('');
  }
  const klue = file(`${dir}/klue.tsv`, tsv.join('\n'));
  const ids = sentences.map((s) => s.id);
  const partition = file(`${dir}/partition.json`, JSON.stringify({ train: ids.slice(0, 23), validation: ids.slice(23, 27), test: ids.slice(27) }));
  return { sentences, klue, partition };
}

describe('own data gives a coherent report (notebooks 01–06 on synthetic data)', { concurrency: 1, timeout: 600_000 }, () => {
  test('01 tagger: our own KLUE-format file and partition', async () => {
    const { klue, partition } = ownKlueData('001');
    const md = await report('01-bilstm-crf-tagger.ipynb', {
      klue_file: klue, partition_file: partition, epochs: 1, embedding_dim: 8, hidden_dim: 8, batch_size: 8, metrics_out: path.join(work, '001/metrics.json'),
    });
    assert.match(md, /^# TensorFlow\.js Bi-LSTM-CRF 개체명 인식기 — klue\.tsv\n/);
    assert.match(md, /직접 학습하고 `klue\.tsv`에서 평가한 결과입니다/);
    assert.match(md, /\| train \| 23 \|/);
    assert.match(md, /\| validation \| 4 \|/);
    assert.match(md, /\| test \| 5 \|/);
    assert.match(md, /klue\.tsv`의 32문장을 고정 분할 `[^`]*partition\.json`에 따라 train \/ validation \/ test로 나눠 씁니다/);
    assert.doesNotMatch(md, /21,008|5,000문장|KLUE NER v1\.1 dev의/, 'no word of the shipped KLUE split for our own file');
    assert.match(md, /학습 23문장 × 1 에폭/);
  });

  test('04 structured JSON: 37 records of our own', async () => {
    const risk = ['높음', '애매', '낮음'];
    const match = ['대응', '판단불가', '미대응'];
    const records = Array.from({ length: 37 }, (_, i) => {
      const gold = { risk_level: risk[i % 3], components: [0, 1].map((c) => ({ component: `요소 ${c + 1}`, match: match[(i + c) % 3] })) };
      // Every 12th answer is broken; every 5th predicts the next risk class; every 7th a wrong first match.
      const predicted = { risk_level: i % 5 === 4 ? risk[(i + 1) % 3] : gold.risk_level, components: gold.components.map((c, k) => ({ ...c, match: i % 7 === 6 && k === 0 ? match[(i + 2) % 3] : c.match })) };
      return { id: i + 1, query: `우리 질의 ${i + 1}`, gold, answer: i % 12 === 11 ? '판단: 높음 (JSON 없이 답함)' : JSON.stringify(predicted) };
    });
    const broken = records.filter((r) => r.answer.startsWith('판단')).length;
    const parsed = records.length - broken;
    const riskCorrect = records.filter((r, i) => !r.answer.startsWith('판단') && i % 5 !== 4).length;
    const items = records.length * 2;
    const matchCorrect = records.reduce((n, r, i) => (r.answer.startsWith('판단') ? n : n + (i % 7 === 6 ? 1 : 2)), 0);
    const answers = file('004/answers.jsonl', jsonl(records));

    const md = await report('04-json-judgement.ipynb', { answers_file: answers });
    assert.match(md, /\| 평가 데이터 \| 37개 샘플, 정답 구성요소 74개 \|/);
    assert.match(md, new RegExp(`\\| JSON 유효성 \\| ${parsed}/37 \\|`));
    assert.match(md, new RegExp(`\\| risk_level 정확도 \\(전체 샘플 기준\\) \\| ${riskCorrect}/37 \\|`));
    assert.match(md, new RegExp(`\\| match 정확도 \\(전체 정답 항목 기준\\) \\| ${matchCorrect}/${items} \\|`));
    assert.match(md, new RegExp(`### JSON 파싱 실패 \\(${broken}건\\)`));
    assert.doesNotMatch(md, /데이터 안내 — 공개 보고서의 표에서 재구성한 기록/, 'no reconstruction note for our own data');
    assert.match(md, /데이터 안내 — 사용자가 준 파일/);
    // The comparison rows carry both sides: the published figure and ours.
    assert.match(lineWith(md, '| risk_level 정확도 | 135/147'), new RegExp(`\\| 135/147 \\(91\\.8%\\) \\| ${riskCorrect}/37 \\(`));
    assert.match(lineWith(md, '| match 정확도 | 611/643'), new RegExp(`\\| 611/643 \\(95\\.0%\\) \\| ${matchCorrect}/${items} \\(`));
    assert.match(md, /risk_level 오류 케이스: 이 평가 \d+건, 공개 보고서의 오류 표 8건/);
    assertLabelled(md, 'data/study-001/published.json');
  });

  test('05 KorMedMCQA: three subsets of our own', async () => {
    const sizes: Record<string, number> = { doctor: 23, nurse: 31, dentist: 29 };
    const letters = ['A', 'B', 'C', 'D', 'E'];
    const expected: Record<string, { base: number; tuned: number }> = {};
    for (const [subset, n] of Object.entries(sizes)) {
      const gold = Array.from({ length: n }, (_, i) => letters[(i * 3) % 5]);
      file(`002/questions/${subset}.csv`, ['question,A,B,C,D,E,answer', ...gold.map((g, i) => `우리 ${subset} 문항 ${i + 1},가,나,다,라,마,${g}`)].join('\n') + '\n');
      // Base right on every 3rd question, fine-tuned on every 2nd (and some in both).
      const base = gold.map((g, i) => (i % 3 === 0 ? g : letters[(letters.indexOf(g) + 1) % 5]));
      const tuned = gold.map((g, i) => (i % 2 === 0 ? g : letters[(letters.indexOf(g) + 2) % 5]));
      file(`002/base/${subset}.jsonl`, jsonl(base.map((a, i) => ({ id: `${subset}-${i + 1}`, answer: a }))));
      file(`002/finetuned/${subset}.jsonl`, jsonl(tuned.map((a, i) => ({ id: `${subset}-${i + 1}`, answer: `정답: ${a}` }))));
      expected[subset] = { base: base.filter((a, i) => a === gold[i]).length, tuned: tuned.filter((a, i) => a === gold[i]).length };
    }
    const md = await report('05-kormedmcqa.ipynb', {
      questions_dir: path.join(work, '002/questions'), base_dir: path.join(work, '002/base'), finetuned_dir: path.join(work, '002/finetuned'),
      subsets: Object.keys(sizes), resamples: 500,
    });
    const pct = (c: number, n: number) => `${((100 * c) / n).toFixed(2)}%`;
    for (const [subset, n] of Object.entries(sizes)) {
      const name = subset[0].toUpperCase() + subset.slice(1);
      assert.match(md, new RegExp(`\\| ${name} \\(${n}\\) \\| ${pct(expected[subset].base, n).replace('.', '\\.')} \\| ${pct(expected[subset].tuned, n).replace('.', '\\.')} \\|`));
      assert.match(md, new RegExp(`\\| ${subset} \\| ${n} \\|`), `${subset}: question count`);
    }
    assert.match(md, /세 부분집합 모두에서 파인튜닝 모델의 정확도가 베이스 모델보다 높습니다/);
    assert.match(md, /### 길이 EDA \(이 평가\)\n\n\| 부분집합 \| 건수 \| 최소 길이/, 'our own questions get a length EDA');
    assert.doesNotMatch(md.split('\n')[0], /Gemma/, 'the study\'s model is not named as the model that answered');
    assert.doesNotMatch(md, /Gemma[^\n]*파인튜닝한 모델의 답변/, 'nor in the introduction');
    assert.doesNotMatch(md, /자리표시자/, 'our own questions are not called placeholders');
    // Both sides on the comparison line.
    assert.match(lineWith(md, '| Doctor | 435 / 23 |'), /\| 33\.1% \| \d+(\.\d+)?% \|/);
    assertLabelled(md, 'data/study-002/published.json');
  });

  test('06 span NER: twelve sentences and a loss file of our own', async () => {
    const labels = ['질환', '신체'];
    const gold = Array.from({ length: 12 }, (_, i) => {
      const text = `우리 문장 ${i + 1}: 가나다 라마바`;
      return { id: `s${i + 1}`, text, entities: [{ label: labels[i % 2], start: text.indexOf('가나다'), end: text.indexOf('가나다') + 3 }, { label: labels[(i + 1) % 2], start: text.indexOf('라마바'), end: text.indexOf('라마바') + 3 }] };
    });
    // Base finds the first entity of every 3rd sentence; fine-tuned the first entity everywhere plus one wrong span in s1.
    const base = gold.map((g, i) => ({ id: g.id, entities: i % 3 === 0 ? [g.entities[0]] : [] }));
    const tuned = gold.map((g, i) => ({ id: g.id, entities: [g.entities[0], ...(i === 0 ? [{ ...g.entities[1], start: g.entities[1].start + 1 }] : [])] }));
    const md = await report('06-span-ner-lora.ipynb', {
      gold_file: file('000/gold.jsonl', jsonl(gold)), base_file: file('000/base.jsonl', jsonl(base)), finetuned_file: file('000/finetuned.jsonl', jsonl(tuned)),
      loss_file: file('000/loss.json', JSON.stringify({ epochs: [0.93, 0.71, 0.52, 0.44, 0.39].map((loss, i) => ({ epoch: i + 1, loss })) })),
    });
    assert.match(md, /\| Test \| 12개 문장, 정답 개체 24개 \|/);
    assert.match(md, /\| TP \| 4 \| 12 \| \+8 \|/);
    assert.match(md, /\| FP \| 0 \| 1 \| \+1 \|/);
    assert.match(md, /\| FN \| 20 \| 12 \| -8 \|/);
    assert.match(md, /- 5 에폭 학습\(학습 데이터 수는 모름\), 테스트 12문장/);
    assert.doesNotMatch(md, /학습 데이터 37개/, 'the study\'s training size is not ours');
    // The comparison table: both sides on each line.
    assert.match(md, /\| 베이스라인 tp \| 1 \| 4 \|/);
    assert.match(md, /\| 파인튜닝 후 fn \| 22 \| 12 \|/);
    assertLabelled(md, 'data/study-000/published.json', [37, 22, 21]);
  });

  test('02 KLUE NER: our own sentences, partition and answers', async () => {
    const { sentences, klue, partition } = ownKlueData('003');
    // Answers for 9 sentences: right, fenced, wrong type, missing the place.
    const answers = sentences.slice(0, 9).map((s, i) => ({
      id: s.id,
      source: 'synthetic',
      answer: i % 3 === 0 ? JSON.stringify({ PS: [s.name], LC: [s.place] }) : i % 3 === 1 ? '```json\n' + JSON.stringify({ PS: [s.name], LC: [s.place] }) + '\n```' : JSON.stringify({ OG: [s.name] }),
    }));
    const replay = file('003/replay.jsonl', jsonl(answers));
    const md = await report('02-klue-ner-llm.ipynb', {
      klue_file: klue, partition_file: partition, replay_files: [replay], chat_out: path.join(work, '003/chat.jsonl'), tagger_metrics_file: path.join(work, 'none.json'),
    });
    assert.match(md, /KLUE NER 분할 \(klue\.tsv 32문장을 고정 시드로 나눈 것\)/);
    assert.match(md, /\| train \| 23 \|/);
    assert.match(md, /\| test \| 5 \|/);
    assert.match(md, /\| 합계 \| 9 \| 9 \|/);
    assert.match(md, /답변 9개 중 3개가 파싱 에러입니다/);
    assert.match(md, /데이터 안내 — 사용자가 준 파일/, 'our answers are not called a replay of the study');
    assert.match(md, /변환 단계별 점수와 정답 개체 18개의 행방/);
    assert.match(md, /정답 왕복 변환 \(정답 → JSON → 태그\), klue\.tsv 32문장/);
    assert.doesNotMatch(md, /디버그 출력, "JSON Error" 목록/, 'our answers are not called the study\'s');
    assert.doesNotMatch(md, /EXAONE-3\.0-7\.8B 답변 재생/);
    assert.match(md, /## 6\. 모델별 성능 비교/, 'no gap in the numbering without fresh answers');
    assertLabelled(md, 'data/study-003/published.json', [30, 48, 53, 45, 40, 77, 55]);
  });

  test('03 sentiment: a CSV training file and a test file of our own', async () => {
    const positive = ['정말 재미있어요', '최고의 영화', '감동적이고 좋아요', '배우 연기가 훌륭해요', '또 보고 싶어요'];
    const negative = ['너무 지루해요', '최악의 영화', '돈이 아까워요', '연기가 어색해요', '다시는 안 봐요'];
    const rows = (n: number, offset: number) => Array.from({ length: n }, (_, i) => ({ text: i % 2 ? positive[(i + offset) % 5] + ` ${i}` : negative[(i + offset) % 5] + ` ${i}`, label: i % 2 }));
    const train = file('004/train.csv', ['text,label', ...rows(100, 0).map((r) => `${r.text},${r.label}`)].join('\n') + '\n');
    const testRows = rows(47, 2);
    const testFile = file('004/test.tsv', ['id\tdocument\tlabel', ...testRows.map((r, i) => `${i + 1}\t${r.text}\t${r.label}`)].join('\n') + '\n');
    const config = file('004/config.ini', `[Path]\nmodel_name = syllable-conv\ntrain_file = ./train.csv\nvalid_file =\noutput_dir = ./out\ncheckpoint_dir = ./ckpt\n\n[Hyperparameters]\nnum_labels = 2\nmax_seq_length = 32\nbatch_size = 16\nlearning_rate = 5e-3\nepochs = 1\nseed = 7\nsplit_ratio = 0.25\n`);
    const md = await report('03-sentiment.ipynb', {
      config_file: config, test_file: testFile, train_limit: 0, valid_limit: 0, epochs_override: 0, learning_rate_override: 0,
      hidden_dim: 8, embedding_dim: 8, test_sample: 0, memory_budget_tokens: 0, format_samples_dir: '',
    });
    assert.match(md, /^# 감성 분류 모델 재학습 전\/후 비교 — train\.csv \(study 004 방식\)/);
    assert.match(md, /\| 학습 \| train\.csv \| utf-8 · csv \| 75 \|/);
    assert.match(md, /\| 검증 \| 학습 파일에서 자동 분할 \(split_ratio 0\.25\) \| \\?- \| 25 \|/);
    assert.match(md, /\| 테스트 \| test\.tsv \| utf-8 · tsv \| 47 \| 24 \| 23 \|/);
    assert.match(md, /재학습 전/s);
    assert.match(md, /무작위 초기화 \(시드 7\)에서 처음부터 학습했습니다/);
    assert.match(md, /재학습 전 모델은 \*\*무작위로 초기화된 모델\*\*입니다/);
    assert.doesNotMatch(md, /NSMC/);
    assertLabelled(md, 'data/study-004/published.json');
  });
});
