/**
 * Text reporters for `diagnose` and `explainSentence` results. Only formatting lives here: every
 * number comes from the result object. Labels are Korean with the English status code in
 * parentheses, so a reader can grep for the code.
 */
import type { AnswerShape, EntityStatus } from '../ner/align.js';
import {
  GOLD_FATES,
  PARSE_FAILURES,
  PARSE_OUTCOMES,
  PLACEMENT_CAUSES,
  type Diagnosis,
  type GoldFate,
  type LossCause,
  type ParseFailure,
  type ParseOutcome,
  type PlacementCause,
  type SentenceExplanation,
  type SpanDiffKind,
} from './diagnose.js';
import { ENTITY_STATUSES } from '../ner/align.js';
import { columnWidths, formatTextRow, padEndToWidth } from '../text-columns.js';

export const PARSE_OUTCOME_LABELS: Readonly<Record<ParseOutcome, string>> = {
  strict: '바로 파싱됨',
  fenced: '코드 펜스 안에서 파싱됨',
  repaired: '복구 후 파싱됨',
  empty: '빈 답변',
  no_json: 'JSON 없음',
  unparseable: '복구해도 파싱 불가',
  unsupported_shape: '지원하지 않는 JSON 형태',
  missing: '답변 없음',
};

export const ENTITY_STATUS_LABELS: Readonly<Record<EntityStatus, string>> = {
  exact: '그대로 일치',
  whitespace: '공백만 다름',
  normalized: 'NFKC·대소문자 정규화 후 일치',
  not_found: '문장에 없음',
  overlap: '모든 위치가 이미 배치됨',
  unknown_label: '레이블 집합에 없는 레이블',
  invalid_value: '잘못된 값',
};

export const GOLD_FATE_LABELS: Readonly<Record<GoldFate, string>> = {
  correct: '정확히 맞춤',
  not_parsed: '답변 파싱 실패로 잃음',
  wrong_type: '위치는 맞고 유형이 틀림',
  wrong_boundary: '경계가 틀림',
  not_placed: '답변에 있으나 태그로 옮기지 못함',
  not_predicted: '모델이 예측하지 않음',
};

export const PLACEMENT_CAUSE_LABELS: Readonly<Record<PlacementCause, string>> = {
  not_found: '문장에서 찾지 못함',
  overlap: '모든 위치가 이미 배치됨',
  unknown_label: '레이블 집합에 없는 레이블',
  invalid_value: '잘못된 값',
  placed_elsewhere: '같은 텍스트의 다른 위치에 배치됨',
  converter: '정렬기는 맞게 놓지만 이 변환기가 놓침',
};

export const SPAN_DIFF_LABELS: Readonly<Record<SpanDiffKind, string>> = {
  correct: '맞음',
  wrong_type: '유형 틀림',
  wrong_boundary: '경계 틀림',
  missed: '놓침',
  spurious: '없는 개체',
};

const SHAPE_LABELS: Readonly<Record<AnswerShape, string>> = {
  label_map: '{레이블: [개체, ...]}',
  entities_wrapper: '{"entities": ...}',
  list: '[{text, label}, ...]',
  unsupported: '지원하지 않는 형태',
  none: '없음',
};

export interface DiagnosisFormatOptions {
  /** Digits after the point for F1 and shares (default 4 for F1, 1 for percentages). */
  digits?: number;
  /** How many causes to list (default 8). */
  causes?: number;
}

/** The data-set diagnosis as text: alarm first, then the counts and the causes. */
export function formatDiagnosis(d: Diagnosis, options: DiagnosisFormatOptions = {}): string {
  const digits = options.digits ?? 4;
  const lines: string[] = [];
  lines.push('== 정렬 진단 (alignment diagnosis) ==');
  lines.push(`문장 ${d.sentences}개 · 답변 ${d.answered}개 (내용 있는 답변 ${d.nonEmptyAnswers}개) · 답변 없는 문장 ${d.sentences - d.answered}개`);
  lines.push(
    `태그 F1 (seqeval 기본 모드, micro): ${d.f1.tag.toFixed(digits)} (정밀도 ${d.f1.precision.toFixed(digits)}, 재현율 ${d.f1.recall.toFixed(digits)})`,
  );
  lines.push(`답변 기준 F1 (위치 무시, 유형+텍스트 일치): ${d.f1.answer.toFixed(digits)}`);

  if (d.alarm) {
    lines.push('');
    lines.push('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
    if (d.alarm.kind === 'zero_f1') {
      lines.push(`!!! F1 = 0 경보 (alarm): 내용 있는 답변이 ${d.nonEmptyAnswers}개인데 태그 F1이 0입니다.`);
    } else {
      lines.push(
        `!!! F1 경보 (alarm): 태그 F1 ${d.f1.tag.toFixed(digits)}이 답변 기준 F1 ${d.f1.answer.toFixed(digits)}보다 훨씬 낮습니다: 변환에서 개체를 잃고 있습니다.`,
      );
    }
    if (d.alarm.causes.length === 0) {
      lines.push('!!! 변환 단계의 손실은 없습니다: 모델이 정답 개체를 예측하지 않았습니다.');
    } else {
      lines.push('!!! 주요 원인 (top causes):');
      d.alarm.causes.forEach((cause, i) => lines.push(`!!!   ${i + 1}. ${describeCause(cause, d.gold)}`));
    }
    lines.push('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
  }

  lines.push('');
  lines.push(`파싱 결과 (parse status), 문장 ${d.sentences}개`);
  lines.push(...countRows(PARSE_OUTCOMES, d.parseOutcomes, d.sentences, PARSE_OUTCOME_LABELS));

  lines.push('');
  lines.push(`답변이 나열한 개체의 상태 (entity status), ${d.listed}개`);
  lines.push(...countRows(ENTITY_STATUSES, d.entityStatuses, d.listed, ENTITY_STATUS_LABELS));

  lines.push('');
  lines.push(`정답 개체의 행방 (where the gold entities went), ${d.gold}개`);
  for (const fate of GOLD_FATES) {
    lines.push(countRow(fate, GOLD_FATE_LABELS[fate], d.fates[fate], d.gold));
    if (fate === 'not_parsed') {
      for (const failure of PARSE_FAILURES) {
        if (d.notParsedBy[failure] > 0) lines.push(countRow(failure, PARSE_OUTCOME_LABELS[failure], d.notParsedBy[failure], d.gold, 4));
      }
    }
    if (fate === 'not_placed') {
      for (const cause of PLACEMENT_CAUSES) {
        if (d.notPlacedBy[cause] > 0) lines.push(countRow(cause, PLACEMENT_CAUSE_LABELS[cause], d.notPlacedBy[cause], d.gold, 4));
      }
    }
  }
  lines.push(`예측 개체 ${d.predicted}개 중 정답과 겹치지 않는 것 (spurious): ${d.spurious}개`);

  lines.push('');
  const shown = d.causes.slice(0, options.causes ?? 8);
  if (shown.length === 0) {
    lines.push('변환 단계에서 잃은 정답 개체 없음.');
  } else {
    lines.push('잃은 정답 개체의 원인, 많은 순 (loss causes):');
    shown.forEach((cause, i) => lines.push(`  ${i + 1}. ${describeCause(cause, d.gold)}`));
  }
  return lines.join('\n');
}

/** One sentence's explanation as text. */
export function formatExplanation(ex: SentenceExplanation): string {
  const lines: string[] = [];
  lines.push(`== 문장 ${ex.id} (오류 ${ex.errors}개) ==`);
  lines.push(`입력: ${ex.text}`);
  if (ex.answer === null) {
    lines.push('답변: (없음, missing) → 모든 토큰을 O로 둠');
  } else {
    lines.push('답변 (raw):');
    for (const line of ex.answer.split('\n')) lines.push(`  | ${line}`);
  }
  if (ex.tagger !== 'align') lines.push(`태그: ${ex.tagger} 변환기가 만든 것 (아래 개체 상태는 alignAnswer 기준)`);
  if (ex.parse) {
    lines.push(`파싱: ${ex.outcome} (${PARSE_OUTCOME_LABELS[ex.outcome]}) · 형태: ${SHAPE_LABELS[ex.parse.shape]}${ex.parse.truncated ? ' · 잘린 답변' : ''}`);
    for (const step of ex.parse.steps) lines.push(`  ${step.ok ? '✓' : '✗'} ${step.step}: ${step.detail}`);
  }

  if (ex.entities.length > 0) {
    lines.push('');
    lines.push('답변이 나열한 개체 (listed entities):');
    const rows = ex.entities.map((e) => [
      String(e.index),
      visible(e.label),
      visible(e.text),
      e.status,
      e.spans.map((s) => `${s.start}–${s.end}`).join(', ') || '-',
      entityNote(e, ex),
    ]);
    lines.push(...table(['#', '레이블', '텍스트', '상태', '토큰 위치', '비고'], rows));
  }

  lines.push('');
  if (ex.diffs.length === 0) {
    lines.push('정답 개체도 예측 개체도 없음.');
  } else {
    lines.push('정답 vs 예측 개체 (gold vs predicted):');
    const rows = ex.diffs.map((diff) => {
      const span = diff.gold ?? diff.pred!;
      const fate = diff.gold ? ex.fates.find((f) => f.entity === diff.gold) : undefined;
      const why = fate && fate.fate !== 'correct' ? `${fate.fate}${fate.cause ? ':' + fate.cause : ''}` : '';
      return [
        diff.kind === 'correct' ? ' ' : '*',
        `${span.start}–${span.end}`,
        diff.gold ? `${diff.gold.type} ${quote(diff.gold.text)}` : '-',
        diff.pred ? `${diff.pred.type} ${quote(diff.pred.text)}` : '-',
        `${SPAN_DIFF_LABELS[diff.kind]} (${diff.kind})`,
        why,
      ];
    });
    lines.push(...table(['', '위치', '정답', '예측', '판정', '정답 개체의 행방'], rows));

    lines.push('');
    lines.push('토큰별 태그 (개체가 걸린 토큰만, 다른 줄은 *):');
    const rowsByToken: string[][] = [];
    for (let t = 0; t < ex.tokens.length; t++) {
      const gold = ex.goldTags[t];
      const pred = ex.predTags[t];
      if (gold === 'O' && pred === 'O') continue;
      rowsByToken.push([gold === pred ? ' ' : '*', String(t), ex.tokens[t] === ' ' ? '␣' : ex.tokens[t], gold, pred]);
    }
    lines.push(...table(['', '#', '토큰', '정답', '예측'], rowsByToken));
  }
  return lines.join('\n');
}

/** Several explanations, worst first, separated by blank lines. */
export function formatWorstSentences(d: Diagnosis, limit = 5): string {
  const picked = d.worst.slice(0, limit).map((i) => d.explanations[i]);
  if (picked.length === 0) return '오류가 있는 문장이 없습니다.';
  return picked.map(formatExplanation).join('\n\n');
}

// --- helpers ----------------------------------------------------------------------------------

function describeCause(cause: LossCause, gold: number): string {
  const label =
    cause.fate === 'not_parsed'
      ? `답변 파싱 실패: ${PARSE_OUTCOME_LABELS[cause.cause as ParseFailure]}`
      : cause.fate === 'not_placed'
        ? `배치 실패: ${PLACEMENT_CAUSE_LABELS[cause.cause as PlacementCause]}`
        : GOLD_FATE_LABELS[cause.fate];
  const share = gold > 0 ? ` (${percent(cause.lost / gold)})` : '';
  return `${label} [${cause.key}] — 정답 개체 ${cause.lost}개${share}, 문장 ${cause.sentences}개. 예: ${cause.examples.join(', ')}`;
}

function entityNote(e: SentenceExplanation['entities'][number], ex: SentenceExplanation): string {
  if (e.status === 'not_found' && e.hint) return `가장 가까운 텍스트: ${quote(e.hint.text)} (토큰 ${e.hint.start}–${e.hint.end}, 유사도 ${e.hint.similarity.toFixed(2)})`;
  if (e.status === 'overlap') {
    const holder = e.claimedBy === undefined ? undefined : ex.entities[e.claimedBy];
    return `${e.occurrences}곳 모두 이미 배치됨${holder ? ` (차지한 개체: #${holder.index} ${quote(holder.text)})` : ''}`;
  }
  if (e.status === 'unknown_label') return `레이블 집합에 없음${e.occurrences > 0 ? ` (문장에 ${e.occurrences}곳 있음)` : ''}`;
  if (e.status === 'invalid_value') return e.reason ?? '';
  if (e.occurrences > 1) return `문장에 ${e.occurrences}곳`;
  return '';
}

/** The text itself, or JSON-quoted when it holds a control character that would break a table row. */
function visible(text: string): string {
  return /[\u0000-\u001f\u007f\u2028\u2029]/.test(text) ? JSON.stringify(text) : text;
}

/** Quoted like JSON, so a newline or tab inside an entity cannot break the table. */
function quote(text: string): string {
  return JSON.stringify(text);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function countRow(code: string, label: string, count: number, total: number, indent = 0): string {
  return `  ${' '.repeat(indent)}${padEndToWidth(`${label} (${code})`, 50 - indent)} ${String(count).padStart(7)}  ${total > 0 ? percent(count / total).padStart(6) : ''}`;
}

function countRows<K extends string>(keys: readonly K[], counts: Record<K, number>, total: number, labels: Readonly<Record<K, string>>): string[] {
  return keys.map((key) => countRow(key, labels[key], counts[key], total));
}

function table(header: string[], rows: string[][]): string[] {
  const widths = columnWidths([header, ...rows]);
  return [header, ...rows].map((row) => '  ' + formatTextRow(row, widths));
}
