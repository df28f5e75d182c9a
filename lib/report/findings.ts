/**
 * Automatic findings: short Korean sentences, each with the numbers behind it, emitted only when its
 * rule fires. Rules read the typed results (lib/results/kinds.ts) and never the templates.
 *
 * Rules and thresholds:
 *  - overfitting: the lowest training loss is below 0.1 (study 004: "Train < 0.1") while the evaluation
 *    got worse: validation loss rose from its minimum by ≥ 0.05 and ≥ 10%, an epoch metric fell
 *    ≥ 0.01 below its best, or the fine-tuned model scores below the base on F1/accuracy (study 000).
 *  - confused-pair: the largest off-diagonal cell of a confusion matrix, when it is above zero.
 *  - recall-gap: precision − recall ≥ 0.1 (study 003: 0.84 vs 0.58), with the share of answers that
 *    failed to parse when a `parse` result exists.
 *  - level: study 004's interpretation table, when accuracy and F1 are both known.
 */
import { decimal, josa, percent, ratio, signedDelta, thousands } from '../results/filters.js';
import {
  predictedByGold,
  type ComparisonResult,
  type ConfusionResult,
  type LossResult,
  type MetricsResult,
  type NamedResult,
  type ParseResult,
} from '../results/kinds.js';

export type FindingRule = 'overfitting' | 'confused-pair' | 'recall-gap' | 'level';

export interface Finding {
  rule: FindingRule;
  /** Short Korean heading (과적합, 혼동, ...). */
  title: string;
  /** One or two Korean sentences with the numbers; plain text (escaped when rendered). */
  text: string;
  /** A few words with the key number, for the index (`과적합: 최저 학습 손실 0.0000`). */
  brief: string;
  /** The numbers the sentence quotes, for tests and for other reporters. */
  numbers: Record<string, number>;
  /** The result(s) the finding was drawn from. */
  sources: string[];
}

/** Study 004's interpretation table (감성 분석 기준), best level last. */
export type LevelName = '학습 부족' | '학습 진행 중' | '사용 가능' | '최우수' | '과적합 경고';

export interface LevelRow {
  name: LevelName;
  /** The label as study 004 prints it. */
  display: string;
  loss: string;
  accuracy: string;
  f1: string;
  advice: string;
}

export const INTERPRETATION_TABLE: readonly LevelRow[] = [
  { name: '학습 부족', display: '초기화 / 학습 부족', loss: '0.9 ~ 1.5', accuracy: '33% ~ 50%', f1: '0.0 ~ 0.5', advice: '모델이 찍는 수준. 학습이 더 필요함. (Underfitting)' },
  { name: '학습 진행 중', display: '학습 진행 중', loss: '0.6 ~ 0.8', accuracy: '60% ~ 75%', f1: '0.6 ~ 0.7', advice: '감을 잡기 시작함. Epoch를 더 돌려야 함.' },
  { name: '사용 가능', display: '사용 가능 (Good)', loss: '0.4 ~ 0.5', accuracy: '80% ~ 88%', f1: '0.8 ~ 0.88', advice: '실전 배포 가능한 준수한 성능.' },
  { name: '최우수', display: '최우수 (SOTA급)', loss: '0.1 ~ 0.3', accuracy: '90% 이상', f1: '0.9 이상', advice: '매우 훌륭함. 과적합(Overfitting) 주의 필요.' },
  { name: '과적합 경고', display: '과적합 경고', loss: 'Train < 0.1, Valid > 0.6', accuracy: 'Train 99%, Valid 80%↓', f1: '격차 큼', advice: '암기왕 상태. 데이터 증강이나 조기 종료 필요.' },
];

export interface LevelInput {
  accuracy: number;
  f1: number;
  trainLoss?: number;
  validLoss?: number;
  trainAccuracy?: number;
  validAccuracy?: number;
}

export interface LevelVerdict {
  level: LevelRow;
  /** Why: which figures put the model on this row. */
  reason: string;
}

/**
 * The level on study 004's table. The table's bands leave gaps (50–60%, 75–80%, 88–90%); a value in a
 * gap gets the lower band, and accuracy and F1 must both reach a band (the lower of the two wins), so
 * the verdict never flatters. The overfitting row wins over all others when its loss or accuracy
 * pattern holds.
 */
export function interpretLevel(input: LevelInput): LevelVerdict {
  const row = (name: LevelName) => INTERPRETATION_TABLE.find((r) => r.name === name) as LevelRow;
  const { trainLoss, validLoss, trainAccuracy } = input;
  const validAccuracy = input.validAccuracy ?? input.accuracy;
  if (trainLoss !== undefined && validLoss !== undefined && trainLoss < 0.1 && validLoss > 0.6) {
    return { level: row('과적합 경고'), reason: `학습 손실 ${decimal(trainLoss)} < 0.1, 검증 손실 ${decimal(validLoss)} > 0.6` };
  }
  if (trainAccuracy !== undefined && trainAccuracy >= 0.99 && validAccuracy <= 0.8) {
    return { level: row('과적합 경고'), reason: `학습 정확도 ${percent(trainAccuracy)} ≥ 99%, 검증 정확도 ${percent(validAccuracy)} ≤ 80%` };
  }
  const band = (accuracyFloor: number, f1Floor: number) => input.accuracy >= accuracyFloor && input.f1 >= f1Floor;
  const name: LevelName = band(0.9, 0.9) ? '최우수' : band(0.8, 0.8) ? '사용 가능' : band(0.6, 0.6) ? '학습 진행 중' : '학습 부족';
  return { level: row(name), reason: `정확도 ${percent(input.accuracy)}, F1 ${decimal(input.f1)}` };
}

function ofKind<K extends NamedResult['kind']>(results: NamedResult[], kind: K): NamedResult[] {
  return results.filter((r) => r.kind === kind);
}

function titleOf(result: NamedResult): string {
  const title = (result.value as { title?: string }).title;
  return title ?? result.name;
}

/** A metric by canonical key: from the fine-tuned side of a comparison first, else a metrics table. */
export function findMetric(results: NamedResult[], key: string): { value: number; source: string } | undefined {
  for (const result of ofKind(results, 'comparison')) {
    const tuned = (result.value as ComparisonResult).tuned;
    if (Object.hasOwn(tuned, key)) return { value: tuned[key], source: result.name };
  }
  for (const result of ofKind(results, 'metrics')) {
    for (const row of (result.value as MetricsResult).rows) {
      const value = row.value ?? (row.total ? (row.correct as number) / row.total : undefined);
      if (row.key === key && value !== undefined) return { value, source: result.name };
    }
  }
  return undefined;
}

function lastDefined(rows: LossResult['epochs'], field: 'trainLoss' | 'validLoss' | 'trainAccuracy' | 'validAccuracy'): number | undefined {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i][field] !== undefined) return rows[i][field];
  return undefined;
}

function minBy(rows: LossResult['epochs'], field: 'trainLoss' | 'validLoss'): { epoch: number; value: number } | undefined {
  let best: { epoch: number; value: number } | undefined;
  for (const row of rows) {
    const value = row[field];
    if (value !== undefined && (best === undefined || value < best.value)) best = { epoch: row.epoch, value };
  }
  return best;
}

function overfitting(results: NamedResult[]): Finding[] {
  const findings: Finding[] = [];
  for (const result of ofKind(results, 'loss')) {
    const loss = result.value as LossResult;
    const minTrain = minBy(loss.epochs, 'trainLoss');
    if (!minTrain || minTrain.value >= 0.1) continue;
    const start = `학습 손실이 ${minTrain.epoch} 에폭에서 ${decimal(minTrain.value)}까지 떨어져 0에 가까워졌지만`;
    const numbers: Record<string, number> = { minTrainLoss: minTrain.value, minTrainLossEpoch: minTrain.epoch };
    const evidence: string[] = [];
    const sources = [result.name];

    const minValid = minBy(loss.epochs, 'validLoss');
    const last = loss.epochs[loss.epochs.length - 1];
    if (minValid && last.validLoss !== undefined && last.validLoss - minValid.value >= 0.05 && last.validLoss >= minValid.value * 1.1) {
      evidence.push(`검증 손실은 ${minValid.epoch} 에폭의 ${decimal(minValid.value)}에서 ${last.epoch} 에폭 ${josa(decimal(last.validLoss), '으로/로')} 올랐습니다`);
      Object.assign(numbers, { minValidLoss: minValid.value, lastValidLoss: last.validLoss });
    }
    const metricRows = loss.epochs.filter((row) => row.metric !== undefined);
    if (metricRows.length >= 2) {
      const best = metricRows.reduce((a, b) => ((b.metric as number) > (a.metric as number) ? b : a));
      const final = metricRows[metricRows.length - 1];
      if ((best.metric as number) - (final.metric as number) >= 0.01) {
        const name = loss.metricName ?? '평가 지표';
        evidence.push(`${josa(name, '은/는')} ${best.epoch} 에폭의 ${decimal(best.metric)}에서 ${final.epoch} 에폭 ${josa(decimal(final.metric), '으로/로')} 떨어졌습니다`);
        Object.assign(numbers, { bestMetric: best.metric as number, lastMetric: final.metric as number });
      }
    }
    for (const comparison of ofKind(results, 'comparison')) {
      const { base, tuned, labels } = comparison.value as ComparisonResult;
      const key = ['f1', 'accuracy'].find((k) => Object.hasOwn(base, k) && Object.hasOwn(tuned, k));
      if (key === undefined || base[key] - tuned[key] < 0.005) continue;
      const label = labels?.[key] ?? (key === 'f1' ? 'F1' : '정확도');
      evidence.push(`테스트 ${josa(label, '은/는')} 베이스라인 ${decimal(base[key])}에서 파인튜닝 후 ${josa(decimal(tuned[key]), '으로/로')} 오히려 떨어졌습니다 (${signedDelta(tuned[key] - base[key])})`);
      Object.assign(numbers, { baseMetric: base[key], tunedMetric: tuned[key] });
      sources.push(comparison.name);
      break;
    }
    if (evidence.length === 0) continue;
    findings.push({
      rule: 'overfitting',
      title: '과적합',
      text: `${start} ${evidence.join(', ')}. 학습 데이터를 외운 것으로 보입니다 (데이터 증강, 조기 종료, 에폭 축소를 검토하세요).`,
      brief: `과적합 (학습 손실 ${decimal(minTrain.value)})`,
      numbers,
      sources,
    });
  }
  return findings;
}

function confusedPair(results: NamedResult[]): Finding[] {
  const findings: Finding[] = [];
  for (const result of ofKind(results, 'confusion')) {
    const confusion = result.value as ConfusionResult;
    const byPredicted = predictedByGold(confusion);
    let best: { predicted: number; gold: number; count: number } | undefined;
    byPredicted.forEach((row, p) =>
      row.forEach((count, g) => {
        if (p !== g && count > 0 && (best === undefined || count > best.count)) best = { predicted: p, gold: g, count };
      }),
    );
    if (!best) continue;
    const goldTotal = byPredicted.reduce((sum, row) => sum + row[best!.gold], 0);
    const gold = confusion.labels[best.gold];
    const predicted = confusion.labels[best.predicted];
    findings.push({
      rule: 'confused-pair',
      title: '가장 많이 헷갈린 쌍',
      text: `${titleOf(result)}에서 정답 ${josa(`"${gold}"`, '을/를')} ${josa(`"${predicted}"`, '으로/로')} 예측한 경우가 ${thousands(best.count)}건으로 가장 많습니다 (정답 "${gold}" ${thousands(goldTotal)}건 중 ${percent(best.count / goldTotal)}).`,
      brief: `혼동 ${gold}→${predicted} ${thousands(best.count)}건`,
      numbers: { count: best.count, goldTotal },
      sources: [result.name],
    });
  }
  return findings;
}

function recallGap(results: NamedResult[]): Finding[] {
  const precision = findMetric(results, 'precision');
  const recall = findMetric(results, 'recall');
  if (!precision || !recall || precision.value - recall.value < 0.1) return [];
  const numbers: Record<string, number> = { precision: precision.value, recall: recall.value, gap: precision.value - recall.value };
  const sources = [...new Set([precision.source, recall.source])];
  let text = `재현율이 정밀도보다 크게 낮습니다: 정밀도 ${decimal(precision.value)}, 재현율 ${decimal(recall.value)} (차이 ${decimal(precision.value - recall.value)}).`;
  const parse = ofKind(results, 'parse')[0];
  if (parse) {
    const { total, failed, format } = parse.value as ParseResult;
    const what = format ?? '답변';
    Object.assign(numbers, { parseFailed: failed, parseTotal: total });
    sources.push(parse.name);
    text +=
      failed > 0
        ? ` 응답 ${ratio(failed, total)}건(${percent(failed / total)})이 ${josa(what, '으로/로')} 파싱되지 않아 예측이 비었고, 그만큼 재현율이 깎였습니다.`
        : ` 파싱에 실패한 응답은 없으므로(${ratio(0, total)}) 원인은 파싱이 아니라 놓친 개체입니다.`;
  } else {
    text += ' 모델이 찾아야 할 것을 많이 놓치고 있습니다.';
  }
  const brief = `재현율 부족 (P ${decimal(precision.value, 2)} / R ${decimal(recall.value, 2)})`;
  return [{ rule: 'recall-gap', title: '재현율 부족', text, brief, numbers, sources }];
}

/** The inputs to `interpretLevel`, when accuracy and F1 are both among the results. */
export function levelInput(results: NamedResult[]): LevelInput | undefined {
  const accuracy = findMetric(results, 'accuracy');
  const f1 = findMetric(results, 'f1');
  if (!accuracy || !f1) return undefined;
  const input: LevelInput = { accuracy: accuracy.value, f1: f1.value };
  const loss = ofKind(results, 'loss')[0];
  if (loss) {
    const epochs = (loss.value as LossResult).epochs;
    input.trainLoss = lastDefined(epochs, 'trainLoss');
    input.validLoss = lastDefined(epochs, 'validLoss');
    input.trainAccuracy = lastDefined(epochs, 'trainAccuracy');
    input.validAccuracy = lastDefined(epochs, 'validAccuracy');
  }
  return input;
}

function level(results: NamedResult[]): Finding[] {
  const input = levelInput(results);
  if (!input) return [];
  const verdict = interpretLevel(input);
  const numbers: Record<string, number> = Object.create(null);
  for (const [key, value] of Object.entries(input)) if (value !== undefined) numbers[key] = value;
  return [
    {
      rule: 'level',
      title: '해석',
      text: `성능 기준표로 보면 "${verdict.level.display}" 단계입니다 (${verdict.reason}). ${verdict.level.advice}`,
      brief: `기준표: ${verdict.level.display}`,
      numbers: { ...numbers },
      sources: [findMetric(results, 'accuracy')!.source],
    },
  ];
}

/** Every finding whose rule fires, in a fixed order (level, overfitting, recall gap, confused pairs). */
export function findFindings(results: NamedResult[]): Finding[] {
  return [...level(results), ...overfitting(results), ...recallGap(results), ...confusedPair(results)];
}
