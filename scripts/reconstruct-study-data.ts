/**
 * Rebuilds the per-sample record files of studies 000, 001 and 002 from their PUBLISHED TABLES.
 *
 * The original records (model answers, predictions) of these studies are not public. What is public is
 * their tables: confusion matrices, accuracies, TP/FP/FN, a loss table. This script writes small record
 * files, deterministically (fixed seeds, no clock), whose figures reproduce those tables, so that the
 * notebooks have something real-shaped to run on. Every free choice the tables leave open (which sample
 * id lands in which cell, the gold label of an unparseable answer, which questions both models got
 * right) is made here, once, and documented in the `provenance.json` written beside the records.
 * Texts that the tables do not give are clearly synthetic placeholders (`특허 청구항 질의 #12`), never
 * invented facts. A file of the same format with the real records regenerates the real report.
 *
 * Usage: npx tsx scripts/reconstruct-study-data.ts [--out <dir>]   (default: data/)
 * The published tables are read from data/study-00x/published.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

type Rng = ReturnType<typeof xoroshiro128plus>;

/** Fisher–Yates with a seeded generator: the same seed gives the same order on every machine. */
function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Splits `total` into integer parts proportional to `weights` (largest remainder, ties to the first). */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => ({ i, rem: x - Math.floor(x) }))
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    parts[i] += 1;
    left -= 1;
  }
  return parts;
}

function jsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

// ---------------------------------------------------------------------------------------------------
// Study 001: patent-infringement risk judgement as JSON (147 samples)
// ---------------------------------------------------------------------------------------------------

export interface Study001Published {
  summary: {
    json_valid: { correct: number; total: number };
    risk_level_accuracy: { correct: number; total: number };
    match_accuracy: { correct: number; total: number };
  };
  labels: { risk_level: string[]; match: string[] };
  risk_level_confusion: { matrix: number[][] };
  match_confusion: { matrix: number[][] };
  json_failures: number;
  risk_level_errors: { id: number; query: string; predicted: string; gold: string }[];
}

/** One claim component and its judgement. */
export interface ComponentJudgement {
  component: string;
  match: string;
}

/** One line of data/study-001/answers.jsonl. */
export interface JudgementRecord {
  id: number;
  query: string;
  gold: { risk_level: string; components: ComponentJudgement[] };
  /** The model's raw answer text, exactly as generated. */
  answer: string;
}

const componentName = (i: number) => `구성요소 ${i + 1}`;
const quoted = (items: readonly string[]) => items.map((x) => JSON.stringify(x)).join(', ');

/**
 * Raw answers that no JSON repair can read: the kinds of broken structure the study describes ("JSON
 * 구조가 불완전하게 생성되는 경우"): a Python-set-like list, a doubled brace, `=` for `:`, a set left
 * open. Placeholders for the unknown real texts; they carry no chemical names.
 */
const UNPARSEABLE_ANSWERS = [
  (c: ComponentJudgement[]) => `{"risk_level": "애매", "components": {${quoted(c.map((x) => x.component))}}}`,
  (c: ComponentJudgement[]) => `{{"risk_level": "낮음", "components": [${c.map((x) => JSON.stringify(x)).join(', ')}]}}`,
  (c: ComponentJudgement[]) => `{"risk_level"= "낮음", "components"= [${c.map((x) => `{"component"= ${JSON.stringify(x.component)}, "match"= ${JSON.stringify(x.match)}}`).join(', ')}]}`,
  (c: ComponentJudgement[]) => `{"risk_level": "높음", "components": {${quoted(c.map((x) => x.match))}`,
];

export function buildStudy001(pub: Study001Published, seed = 1): {
  records: JudgementRecord[];
  provenance: Record<string, unknown>;
} {
  const rng = xoroshiro128plus(seed);
  const riskLabels = pub.labels.risk_level;
  const matchLabels = pub.labels.match;
  const total = pub.summary.json_valid.total;
  const failures = pub.json_failures;
  const errorIds = new Set(pub.risk_level_errors.map((e) => e.id));

  // Check the error list against the matrix: the off-diagonal cells must be exactly the listed errors.
  const risk = pub.risk_level_confusion.matrix; // rows = predicted, columns = gold
  const offDiagonal = new Map<string, number>();
  for (let p = 0; p < 3; p++) for (let g = 0; g < 3; g++) if (p !== g && risk[p][g] > 0) offDiagonal.set(`${p},${g}`, risk[p][g]);
  for (const e of pub.risk_level_errors) {
    const key = `${riskLabels.indexOf(e.predicted)},${riskLabels.indexOf(e.gold)}`;
    offDiagonal.set(key, (offDiagonal.get(key) ?? 0) - 1);
  }
  for (const [key, left] of offDiagonal) if (left !== 0) throw new Error(`study 001: error list does not match confusion cell ${key}`);

  // The 4 unparseable samples: ids drawn from those not in the error list.
  const freeIds = shuffled(
    Array.from({ length: total }, (_, i) => i + 1).filter((id) => !errorIds.has(id)),
    rng,
  );
  const unparseableIds = freeIds.slice(0, failures).sort((a, b) => a - b);
  const correctIds = freeIds.slice(failures); // the diagonal, in shuffled order

  // Their gold risk_level is not published: apportion them by the gold shares of the parsed samples.
  const goldTotals = [0, 1, 2].map((g) => risk[0][g] + risk[1][g] + risk[2][g]);
  const unparseableGoldCounts = apportion(failures, goldTotals);
  const unparseableGold: string[] = [];
  unparseableGoldCounts.forEach((n, g) => {
    for (let k = 0; k < n; k++) unparseableGold.push(riskLabels[g]);
  });

  // Risk level (predicted, gold) per id.
  const riskById = new Map<number, { predicted: string | null; gold: string; query?: string }>();
  for (const e of pub.risk_level_errors) riskById.set(e.id, { predicted: e.predicted, gold: e.gold, query: e.query });
  let cursor = 0;
  for (let g = 0; g < 3; g++) {
    for (let k = 0; k < risk[g][g]; k++) riskById.set(correctIds[cursor++], { predicted: riskLabels[g], gold: riskLabels[g] });
  }
  if (cursor !== correctIds.length) throw new Error('study 001: diagonal does not fill the remaining ids');
  unparseableIds.forEach((id, k) => riskById.set(id, { predicted: null, gold: unparseableGold[k] }));

  // Match items: every (predicted, gold) pair of the published matrix, shuffled, dealt to the parsed
  // samples in id order, 4 or 5 items each. The published denominator 643 exceeds the matrix total 633 by
  // 10: those are given to the unparseable samples as gold items (no prediction), apportioned by gold share.
  const matchMatrix = pub.match_confusion.matrix;
  const pairs: [string, string][] = [];
  for (let p = 0; p < 3; p++) for (let g = 0; g < 3; g++) for (let k = 0; k < matchMatrix[p][g]; k++) pairs.push([matchLabels[p], matchLabels[g]]);
  const dealt = shuffled(pairs, rng);
  const parsedIds = Array.from({ length: total }, (_, i) => i + 1).filter((id) => !unparseableIds.includes(id));
  const base = Math.floor(dealt.length / parsedIds.length);
  const extra = dealt.length - base * parsedIds.length;
  const withExtra = new Set(shuffled(parsedIds, rng).slice(0, extra));
  const itemsById = new Map<number, { predicted: string[]; gold: string[] }>();
  let at = 0;
  for (const id of parsedIds) {
    const n = base + (withExtra.has(id) ? 1 : 0);
    const chunk = dealt.slice(at, at + n);
    at += n;
    itemsById.set(id, { predicted: chunk.map((c) => c[0]), gold: chunk.map((c) => c[1]) });
  }
  const missingItems = pub.summary.match_accuracy.total - pairs.length;
  const matchGoldTotals = [0, 1, 2].map((g) => matchMatrix[0][g] + matchMatrix[1][g] + matchMatrix[2][g]);
  const missingGold: string[] = [];
  apportion(missingItems, matchGoldTotals).forEach((n, g) => {
    for (let k = 0; k < n; k++) missingGold.push(matchLabels[g]);
  });
  const perUnparseable = apportion(missingItems, unparseableIds.map(() => 1));
  let mg = 0;
  unparseableIds.forEach((id, k) => {
    const gold = missingGold.slice(mg, mg + perUnparseable[k]);
    mg += perUnparseable[k];
    itemsById.set(id, { predicted: [], gold });
  });

  const records: JudgementRecord[] = [];
  for (let id = 1; id <= total; id++) {
    const r = riskById.get(id)!;
    const items = itemsById.get(id)!;
    const gold = items.gold.map((match, i) => ({ component: componentName(i), match }));
    // The answer as a model writes it: one line, ", " and ": " separators, keys in the gold's order.
    const answer =
      r.predicted === null
        ? UNPARSEABLE_ANSWERS[unparseableIds.indexOf(id) % UNPARSEABLE_ANSWERS.length](gold)
        : `{"risk_level": ${JSON.stringify(r.predicted)}, "components": [${items.predicted
            .map((match, i) => `{"component": ${JSON.stringify(componentName(i))}, "match": ${JSON.stringify(match)}}`)
            .join(', ')}]}`;
    records.push({ id, query: r.query ?? `특허 청구항 질의 #${id}`, gold: { risk_level: r.gold, components: gold }, answer });
  }

  const provenance = {
    reconstruction: true,
    study: '001',
    script: 'scripts/reconstruct-study-data.ts',
    seed,
    note_ko:
      '이 답변 파일은 공개된 원본 샘플이 아니라, 공개 보고서의 표(risk_level 혼동 행렬, match 혼동 행렬, 오류 케이스 8건, ' +
      'JSON 파싱 실패 4건)를 그대로 재현하도록 만든 재구성 자료입니다. 오류 케이스 8건의 번호와 쿼리 발췌는 공개 보고서 그대로이고, ' +
      '나머지 쿼리는 "특허 청구항 질의 #번호" 꼴의 자리표시자입니다. 같은 형식의 실제 답변 파일을 넣으면 실제 보고서가 다시 만들어집니다.',
    choices: {
      unparseable_ids: unparseableIds,
      unparseable_gold_risk_level: Object.fromEntries(unparseableIds.map((id, k) => [String(id), unparseableGold[k]])),
      unparseable_gold_risk_level_rule: 'gold shares of the 143 parsed samples, largest remainder',
      match_items_without_prediction: missingItems,
      match_items_rule:
        'the published match denominator (643) minus the published match matrix total (633) = 10 gold items, given to the 4 unparseable answers',
      items_per_parsed_sample: `${base} or ${base + 1}`,
    },
  };
  return { records, provenance };
}

// ---------------------------------------------------------------------------------------------------
// Study 002: KorMedMCQA per subset, base vs fine-tuned
// ---------------------------------------------------------------------------------------------------

export interface Study002Published {
  subsets: { subset: string; name: string; size: number; base_percent: number; finetuned_percent: number }[];
}

/** The correct count k of n whose percentage, rounded to the published digits, equals the published one. */
export function countForPercent(percent: number, n: number): number {
  const digits = (String(percent).split('.')[1] ?? '').length;
  const candidates: number[] = [];
  for (let k = 0; k <= n; k++) if (Number(((100 * k) / n).toFixed(digits)) === percent) candidates.push(k);
  if (candidates.length === 0) throw new Error(`no count of ${n} rounds to ${percent}%`);
  // Several counts can round to the same figure only when n > 10^(digits+2); pick the closest.
  candidates.sort((a, b) => Math.abs((100 * a) / n - percent) - Math.abs((100 * b) / n - percent));
  return candidates[0];
}

const OPTION_LETTERS = ['A', 'B', 'C', 'D', 'E'] as const;
const SUBSET_KO: Record<string, string> = { doctor: '의사', nurse: '간호사', dentist: '치과의사', pharm: '약사' };

export interface McqaQuestionRow {
  question: string;
  A: string;
  B: string;
  C: string;
  D: string;
  E: string;
  answer: string;
}

export interface McqaAnswerRecord {
  id: string;
  answer: string;
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function buildStudy002(pub: Study002Published, seed = 2): {
  files: Map<string, string>;
  counts: { subset: string; size: number; base: number; finetuned: number; both: number }[];
  provenance: Record<string, unknown>;
} {
  const rng = xoroshiro128plus(seed);
  const files = new Map<string, string>();
  const counts: { subset: string; size: number; base: number; finetuned: number; both: number }[] = [];
  for (const s of pub.subsets) {
    const n = s.size;
    const baseCorrect = countForPercent(s.base_percent, n);
    const ftCorrect = countForPercent(s.finetuned_percent, n);
    // Which questions both models got right is not published. Use the overlap expected if the two models'
    // hits were independent: it neither inflates nor deflates the paired difference's spread.
    const both = Math.round((baseCorrect * ftCorrect) / n);
    const ids = Array.from({ length: n }, (_, i) => `${s.subset}-${String(i + 1).padStart(4, '0')}`);
    const order = shuffled(
      ids.map((_, i) => i),
      rng,
    );
    // order[0..both) both right; then base only; then fine-tuned only; the rest both wrong.
    const baseRight = new Set(order.slice(0, baseCorrect));
    const ftRight = new Set([...order.slice(0, both), ...order.slice(baseCorrect, baseCorrect + ftCorrect - both)]);
    if (baseCorrect + ftCorrect - both > n) throw new Error(`study 002 ${s.subset}: overlap too small`);

    const header = ['question', ...OPTION_LETTERS, 'answer'].join(',');
    const qRows: string[] = [header];
    const baseRows: McqaAnswerRecord[] = [];
    const ftRows: McqaAnswerRecord[] = [];
    ids.forEach((id, i) => {
      const gold = OPTION_LETTERS[uniformInt(rng, 0, 4)];
      const wrongBase = OPTION_LETTERS[(OPTION_LETTERS.indexOf(gold) + uniformInt(rng, 1, 4)) % 5];
      const wrongFt = OPTION_LETTERS[(OPTION_LETTERS.indexOf(gold) + uniformInt(rng, 1, 4)) % 5];
      const question = `[재구성 자리표시자] ${SUBSET_KO[s.subset]} 시험 문항 #${i + 1} (원문 비공개, 정답률 표만 재현)`;
      qRows.push([question, ...OPTION_LETTERS.map((l) => `보기 ${l}`), gold].map(csvCell).join(','));
      baseRows.push({ id, answer: baseRight.has(i) ? gold : wrongBase });
      ftRows.push({ id, answer: ftRight.has(i) ? gold : wrongFt });
    });
    files.set(`study-002/questions/${s.subset}.csv`, qRows.join('\n') + '\n');
    files.set(`study-002/base/${s.subset}.jsonl`, jsonl(baseRows));
    files.set(`study-002/finetuned/${s.subset}.jsonl`, jsonl(ftRows));
    counts.push({ subset: s.subset, size: n, base: baseCorrect, finetuned: ftCorrect, both });
  }
  const provenance = {
    reconstruction: true,
    study: '002',
    script: 'scripts/reconstruct-study-data.ts',
    seed,
    note_ko:
      '이 문항·답변 파일은 공개된 원본이 아니라, 공개 보고서의 부분집합별 정답률 표(Doctor 435 / Nurse 878 / Dentist 811 / Pharm 885)를 ' +
      '정수 개수로 재현하도록 만든 재구성 자료입니다. 문항과 보기는 자리표시자이고, 두 모델이 함께 맞힌 문항 수는 공개되지 않아 ' +
      '두 모델의 정답이 서로 독립일 때의 기댓값으로 정했습니다(신뢰구간은 이 선택에 따라 달라집니다). 같은 형식의 실제 파일을 넣으면 실제 보고서가 다시 만들어집니다.',
    counts,
    choices: {
      counts_rule: 'for each published percentage, the integer count out of the subset size that rounds to it (closest when several)',
      overlap_rule: 'both-correct = round(base_correct × finetuned_correct / size), the count expected under independence',
      gold_letters_rule: 'uniform over A–E from the seeded generator',
    },
  };
  return { files, counts, provenance };
}

// ---------------------------------------------------------------------------------------------------
// Study 000: span NER on 8 KBMC test sentences, base vs LoRA-tuned
// ---------------------------------------------------------------------------------------------------

export interface Study000Published {
  data: { test: number; labels: string[] };
  results: { baseline: { tp: number; fp: number; fn: number }; finetuned: { tp: number; fp: number; fn: number } };
  loss: number[];
}

export interface SpanEntity {
  label: string;
  start: number;
  end: number;
  text: string;
}

export interface SpanRecord {
  id: string;
  text: string;
  entities: SpanEntity[];
}

const LABEL_KO: Record<string, string> = { Disease: '질환', Body: '신체', Treatment: '치료' };

export function buildStudy000(pub: Study000Published): {
  gold: SpanRecord[];
  base: SpanRecord[];
  finetuned: SpanRecord[];
  loss: { epochs: { epoch: number; loss: number }[] };
  provenance: Record<string, unknown>;
} {
  const { tp: baseTp, fp: baseFp, fn: baseFn } = pub.results.baseline;
  const goldTotal = baseTp + baseFn;
  if (pub.results.finetuned.tp + pub.results.finetuned.fn !== goldTotal) throw new Error('study 000: gold totals differ');
  const sentences = pub.data.test;
  const perSentence = apportion(goldTotal, Array.from({ length: sentences }, () => 1));
  const labels = pub.data.labels;
  const gold: SpanRecord[] = [];
  let k = 0;
  perSentence.forEach((n, s) => {
    const id = `kbmc-test-${s + 1}`;
    let text = `재구성 문장 ${s + 1}:`;
    const entities: SpanEntity[] = [];
    for (let e = 0; e < n; e++) {
      const label = labels[k % labels.length];
      k++;
      const surface = `〈${LABEL_KO[label] ?? label} ${s + 1}-${e + 1}〉`;
      text += ' ';
      entities.push({ label, start: text.length, end: text.length + surface.length, text: surface });
      text += surface;
    }
    gold.push({ id, text, entities });
  });
  // Base: baseTp exact hits (the first entities of the first sentences), baseFp predictions with a wrong
  // boundary (one character short) on the next sentences; every other gold entity is missed.
  const base: SpanRecord[] = gold.map((g) => ({ id: g.id, text: g.text, entities: [] }));
  for (let i = 0; i < baseTp; i++) base[i].entities.push({ ...gold[i].entities[0] });
  for (let i = 0; i < baseFp; i++) {
    const g = gold[baseTp + i].entities[0];
    base[baseTp + i].entities.push({ label: g.label, start: g.start + 1, end: g.end, text: g.text.slice(1) });
  }
  const finetuned: SpanRecord[] = gold.map((g) => ({ id: g.id, text: g.text, entities: [] }));
  const loss = { epochs: pub.loss.map((l, i) => ({ epoch: i + 1, loss: l })) };
  const provenance = {
    reconstruction: true,
    study: '000',
    script: 'scripts/reconstruct-study-data.ts',
    note_ko:
      '이 예측 파일은 공개된 원본이 아니라, 공개 보고서의 표(테스트 8문장, 베이스라인 TP/FP/FN 1/1/21, 파인튜닝 후 0/0/22)를 재현하도록 만든 ' +
      '재구성 자료입니다. 문장은 KBMC 원문이 아닌 "〈질환 1-1〉" 꼴의 자리표시자이고, 손실 표(loss.json)는 공개 보고서의 값 그대로입니다. ' +
      '같은 형식의 실제 예측 파일을 넣으면 실제 보고서가 다시 만들어집니다.',
    choices: {
      entities_per_sentence: perSentence,
      labels_rule: 'Disease, Body, Treatment in turn',
      base_rule: `${baseTp} exact hit(s) on the first entity of the first sentence(s); ${baseFp} prediction(s) one character short of a gold entity (wrong boundary)`,
    },
  };
  return { gold, base, finetuned, loss, provenance };
}

// ---------------------------------------------------------------------------------------------------

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'data' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: npx tsx scripts/reconstruct-study-data.ts [--out <data dir>]');
    return;
  }
  const root = process.cwd();
  const out = path.resolve(values.out!);
  const write = (rel: string, text: string) => {
    const file = path.join(out, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  const pretty = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

  const s001 = buildStudy001(readJson(path.join(root, 'data/study-001/published.json')));
  write('study-001/answers.jsonl', jsonl(s001.records));
  write('study-001/provenance.json', pretty(s001.provenance));

  const s002 = buildStudy002(readJson(path.join(root, 'data/study-002/published.json')));
  for (const [rel, text] of s002.files) write(rel, text);
  write('study-002/provenance.json', pretty(s002.provenance));

  const s000 = buildStudy000(readJson(path.join(root, 'data/study-000/published.json')));
  write('study-000/gold.jsonl', jsonl(s000.gold));
  write('study-000/base.jsonl', jsonl(s000.base.map(({ id, entities }) => ({ id, entities }))));
  write('study-000/finetuned.jsonl', jsonl(s000.finetuned.map(({ id, entities }) => ({ id, entities }))));
  write('study-000/loss.json', pretty(s000.loss));
  write('study-000/provenance.json', pretty(s000.provenance));

  console.log(`study 001: ${s001.records.length} records`);
  for (const c of s002.counts) console.log(`study 002 ${c.subset}: base ${c.base}/${c.size}, fine-tuned ${c.finetuned}/${c.size}, both ${c.both}`);
  console.log(`study 000: ${s000.gold.length} sentences, ${s000.gold.reduce((a, g) => a + g.entities.length, 0)} gold entities`);
}

// Run only as a script, not when a test imports the builders.
if (process.argv[1] && /reconstruct-study-data\.ts$/.test(process.argv[1])) main();
