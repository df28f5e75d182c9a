/**
 * Table-shaped views of the typed results: what the macros loop over. Computing rows here (not in
 * nunjucks) keeps the templates to layout and keeps every number testable in TypeScript.
 * Values stay raw (numbers, untrusted strings); formatting and escaping happen in the templates.
 */
import { relativeGain } from './filters.js';
import {
  predictedByGold,
  type ComparisonResult,
  type ConfigResult,
  type ConfusionResult,
  type EnvironmentResult,
  type ErrorsResult,
  type HeadlineFigure,
  type MetricsResult,
  type NamedResult,
} from './kinds.js';

const METRIC_NAMES: Record<string, string> = {
  accuracy: '정확도',
  precision: 'Precision',
  recall: 'Recall',
  f1: 'F1',
  loss: '손실',
  tp: 'TP',
  fp: 'FP',
  fn: 'FN',
};

/** Display name of a metric key: the result's own label, a known name, or the key itself. */
export function metricName(key: string, labels?: Record<string, string>): string {
  if (labels && Object.hasOwn(labels, key)) return labels[key];
  return Object.hasOwn(METRIC_NAMES, key.toLowerCase()) ? METRIC_NAMES[key.toLowerCase()] : key;
}

export interface ComparisonRow {
  key: string;
  label: string;
  base: number;
  tuned: number;
  delta: number;
  /** Relative gain (tuned − base) / base; undefined when base = 0. */
  relative: number | undefined;
  /** Both values are whole numbers > 1 apart from scores: print as counts with integer deltas. */
  isCount: boolean;
  bold: boolean;
}

/** Metric keys that are always counts, and keys that are always scores (even when 0 or 1). */
const COUNT_KEYS = new Set(['tp', 'fp', 'fn', 'tn', 'support', 'count', 'n', 'samples', 'correct', 'total', 'errors']);
const SCORE_KEYS = new Set(['accuracy', 'precision', 'recall', 'f1', 'loss', 'em', 'exact_match', 'auc', 'score']);

function isCountMetric(key: string, base: number, tuned: number, declared: string[] | undefined): boolean {
  if (declared) return declared.includes(key);
  const lower = key.toLowerCase();
  if (COUNT_KEYS.has(lower)) return true;
  if (SCORE_KEYS.has(lower)) return false;
  return Number.isInteger(base) && Number.isInteger(tuned) && (Math.abs(base) > 1 || Math.abs(tuned) > 1);
}

export function comparisonRows(result: ComparisonResult): ComparisonRow[] {
  const keys = result.metrics ?? Object.keys(result.base);
  return keys.map((key) => {
    const base = result.base[key];
    const tuned = result.tuned[key];
    return {
      key,
      label: metricName(key, result.labels),
      base,
      tuned,
      delta: tuned - base,
      relative: relativeGain(tuned, base),
      isCount: isCountMetric(key, base, tuned, result.counts),
      bold: (result.highlight ?? []).includes(key),
    };
  });
}

export interface MetricView {
  label: string;
  value: number;
  correct?: number;
  total?: number;
  format: 'percent' | 'score' | 'count';
}

export function metricRows(result: MetricsResult): { rows: MetricView[]; hasCounts: boolean } {
  const rows = result.rows.map((row) => ({
    label: row.label,
    value: row.value ?? (row.correct as number) / (row.total as number),
    correct: row.correct,
    total: row.total,
    format: row.format ?? (row.total !== undefined ? 'percent' : 'score'),
  }));
  return { rows, hasCounts: rows.some((row) => row.total !== undefined) };
}

export interface ConfusionView {
  labels: string[];
  /** rows[p][g]: predicted labels[p], gold labels[g]. */
  rows: Array<{ label: string; cells: number[] }>;
  /** Per gold class: how many of its items were predicted right (study 001 risk_level 분석). */
  recall: Array<{ label: string; correct: number; total: number; share: number | undefined; hardest: boolean }>;
}

export function confusionView(result: ConfusionResult): ConfusionView {
  const byPredicted = predictedByGold(result);
  const recall = result.labels.map((label, g) => {
    const total = byPredicted.reduce((sum, row) => sum + row[g], 0);
    const correct = byPredicted[g][g];
    return { label, correct, total, share: total > 0 ? correct / total : undefined, hardest: false };
  });
  const scored = recall.filter((r) => r.share !== undefined);
  if (scored.length > 1) {
    const worst = Math.min(...scored.map((r) => r.share as number));
    const best = Math.max(...scored.map((r) => r.share as number));
    // Marked only when classes differ: a tie for last names no single hardest class.
    const lowest = scored.filter((r) => r.share === worst);
    if (worst < best && lowest.length === 1) lowest[0].hardest = true;
  }
  return { labels: result.labels, rows: result.labels.map((label, p) => ({ label, cells: byPredicted[p] })), recall };
}

export interface ErrorView {
  columns: { id: string; input: string; predicted: string; gold: string; note: string };
  rows: Array<{ id: string; input: string; predicted: string; gold: string; note: string }>;
  hasNotes: boolean;
}

/** Cuts text to `max` characters (code points, so Hangul and emoji are never split) with "…". */
export function clip(text: string, max: number): string {
  if (max <= 0) return text;
  const chars = Array.from(text);
  return chars.length > max ? chars.slice(0, max).join('') + '…' : text;
}

export function errorRows(result: ErrorsResult): ErrorView {
  const max = result.maxChars ?? 60;
  const columns = { id: '#', input: '입력', predicted: '예측', gold: '정답', note: '비고', ...(result.columns ?? {}) };
  return {
    columns,
    rows: result.rows.map((row, i) => ({
      id: row.id === undefined ? String(i + 1) : String(row.id),
      input: clip(row.input, max),
      predicted: clip(row.predicted, max),
      gold: clip(row.gold, max),
      note: row.note ?? '',
    })),
    hasNotes: result.rows.some((row) => row.note !== undefined && row.note !== ''),
  };
}

function iniValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Configuration text for the code block: `text` verbatim, else `values` as INI (sections for nested objects). */
export function configText(result: ConfigResult): { text: string; language: string } {
  if (result.text !== undefined) return { text: result.text, language: result.format ?? '' };
  const values = result.values as Record<string, unknown>;
  if (result.format === 'json') return { text: JSON.stringify(values, null, 2), language: 'json' };
  const flat = Object.entries(values).filter(([, v]) => typeof v !== 'object' || v === null || Array.isArray(v));
  const sections = Object.entries(values).filter(([, v]) => typeof v === 'object' && v !== null && !Array.isArray(v));
  if (result.format === 'yaml') {
    const lines = flat.map(([k, v]) => `${k}: ${iniValue(v)}`);
    for (const [name, section] of sections) {
      lines.push(`${name}:`, ...Object.entries(section as Record<string, unknown>).map(([k, v]) => `  ${k}: ${iniValue(v)}`));
    }
    return { text: lines.join('\n'), language: 'yaml' };
  }
  const lines = flat.map(([k, v]) => `${k} = ${iniValue(v)}`);
  for (const [name, section] of sections) {
    if (lines.length) lines.push('');
    lines.push(`[${name}]`, ...Object.entries(section as Record<string, unknown>).map(([k, v]) => `${k} = ${iniValue(v)}`));
  }
  return { text: lines.join('\n'), language: 'ini' };
}

/** `150000` → `2분 30초`; `850` → `0.85초`; `3723000` → `1시간 2분 3초`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${(ms / 1000).toFixed(2)}초`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')}초`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h ? `${h}시간` : '', m ? `${m}분` : '', s ? `${s}초` : ''].filter(Boolean).join(' ');
}

/** `2026-11-21T05:02:30.000Z` → `2026-11-21 05:02:30 UTC`; anything else unchanged. */
export function formatTimestamp(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** A row of a 항목 | 값 table; `code` values print as code spans. */
export interface InfoRow {
  label: string;
  value: string;
  code?: boolean;
}

function display(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function environmentRows(env: EnvironmentResult): InfoRow[] {
  const rows: InfoRow[] = [];
  if (env.hardware !== undefined) rows.push({ label: '하드웨어', value: env.hardware });
  if (env.backend !== undefined) rows.push({ label: '백엔드', value: env.backend, code: true });
  // The runner's 실행 시간 (재현 정보) covers the whole run; this is what the notebook timed itself.
  if (env.durationMs !== undefined) rows.push({ label: '계산 시간 (노트북 측정)', value: formatDuration(env.durationMs) });
  if (env.samples !== undefined) rows.push({ label: '샘플 수', value: env.samples.toLocaleString('en-US') });
  const speed = env.samplesPerSec ?? (env.samples !== undefined && env.durationMs ? env.samples / (env.durationMs / 1000) : undefined);
  if (speed !== undefined) rows.push({ label: '처리 속도', value: `${speed.toFixed(1)} 샘플/초` });
  for (const [label, value] of Object.entries(env.extra ?? {})) rows.push({ label, value: display(value) });
  return rows;
}

/** Korean labels for the runner's metadata (lib/jupyter/runner.ts RunMetadata); other keys print under their own name. */
const RUN_LABELS: Record<string, string> = {
  git: 'git 커밋',
  contentStamp: '내용 해시',
  inputHashes: '데이터 해시',
  parameters: '매개변수',
  injectedParameters: '매개변수 주입',
  unknownParameters: '알 수 없는 매개변수',
  kernel: '커널',
  server: 'Jupyter 서버',
  device: '장치',
  deviceSource: '장치 정보 출처',
  platform: '플랫폼',
  packages: '패키지 버전',
  input: '노트북',
  runner: '실행기',
  ok: '실행 결과',
  failedCell: '실패한 셀',
  startedAt: '시작 시각',
  endedAt: '종료 시각',
  durationMs: '실행 시간',
  kernelStartMs: '커널 시작 시간',
  cellTimeoutMs: '셀 시간 제한',
  cells: '셀 실행',
  inputMismatch: '서버와 다른 입력',
  hostProbeError: '서버 정보 확인 실패',
};

const RUN_ORDER = Object.keys(RUN_LABELS);

const CELL_STATUS: Record<string, string> = { ok: '성공', error: '오류', timeout: '시간 초과', 'kernel-died': '커널 종료', skipped: '건너뜀' };

/** `[{status:'ok', durationMs}, …]` → `코드 셀 12개: 성공 12 · 합계 3.2초 · 가장 긴 셀 5 (1.8초)`. */
function cellsSummary(cells: unknown[]): string | undefined {
  if (!cells.every((c) => c !== null && typeof c === 'object')) return undefined;
  const rows = cells as Array<{ index?: number; status?: string; durationMs?: number }>;
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(String(row.status), (counts.get(String(row.status)) ?? 0) + 1);
  const parts = [...counts].map(([status, n]) => `${Object.hasOwn(CELL_STATUS, status) ? CELL_STATUS[status] : status} ${n}`);
  const timed = rows.filter((r) => typeof r.durationMs === 'number');
  let text = `코드 셀 ${rows.length}개: ${parts.join(' · ')}`;
  if (timed.length) {
    const total = timed.reduce((sum, r) => sum + (r.durationMs as number), 0);
    const longest = timed.reduce((a, b) => ((b.durationMs as number) > (a.durationMs as number) ? b : a));
    text += ` · 합계 ${formatDuration(total)}`;
    if (typeof longest.index === 'number') text += ` · 가장 긴 셀 ${longest.index + 1} (${formatDuration(longest.durationMs as number)})`;
  }
  return text;
}

/**
 * The runner's device probe (`{ expectedBackend, backends: [{ backend, available, reason? }] }`) in one
 * Korean line. The probe's reasons are English diagnostics (library names, npm aliases): the line names
 * the unusable backends and points to where the reasons are kept, so no English log text enters the report.
 */
function deviceSummary(device: { expectedBackend?: unknown; backends: unknown[] }): string | undefined {
  const backends = device.backends as Array<{ backend?: unknown; available?: unknown; reason?: unknown }>;
  if (!backends.every((b) => b !== null && typeof b === 'object' && typeof b.backend === 'string' && typeof b.available === 'boolean')) return undefined;
  const usable = backends.filter((b) => b.available).map((b) => String(b.backend));
  const unusable = backends.filter((b) => !b.available).map((b) => String(b.backend));
  const parts: string[] = [];
  if (typeof device.expectedBackend === 'string') parts.push(`예상 백엔드 ${device.expectedBackend}`);
  parts.push(`사용 가능: ${usable.join(', ') || '없음'}`);
  if (unusable.length) parts.push(`사용 불가: ${unusable.join(', ')} (이유는 실행된 노트북의 metadata.hanlab.run.device에 있습니다)`);
  return parts.join(' · ');
}

function runValue(key: string, value: unknown): InfoRow {
  const label = Object.hasOwn(RUN_LABELS, key) ? RUN_LABELS[key] : key;
  const isMap = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (key === 'git' && isMap && typeof (value as { commit?: unknown }).commit === 'string') {
    // A commit identifies the code only when the tree was clean; a dirty tree is identified by 내용 해시.
    const git = value as { commit: string; dirty?: unknown };
    return git.dirty === true
      ? { label, value: '커밋되지 않은 변경이 있던 작업 트리라 커밋으로는 식별할 수 없습니다 (내용 해시를 보세요)' }
      : { label, value: git.commit, code: true };
  }
  if (key === 'contentStamp' && isMap && typeof (value as { combined?: unknown }).combined === 'string') {
    const stamp = value as Record<string, unknown>;
    const short = (name: string) => (typeof stamp[name] === 'string' ? (stamp[name] as string).slice(0, 16) : undefined);
    const parts = [['노트북', 'notebook'], ['lib/', 'lib'], ['데이터', 'data']]
      .filter(([, name]) => short(name) !== undefined)
      .map(([part, name]) => `${part} ${short(name)}`);
    return { label, value: `${short('combined')} (${parts.join(' · ')}, SHA-256 앞 16자리)` };
  }
  // Two checks, not one union: tslab compiles lib/ without strictNullChecks, where `number | null` does not narrow.
  if (key === 'cellTimeoutMs' && value === null) return { label, value: '없음' };
  if (key === 'cellTimeoutMs' && typeof value === 'number') return { label, value: formatDuration(value) };
  if (key === 'packages' && isMap) {
    return { label, value: Object.entries(value as Record<string, unknown>).map(([name, version]) => `${name} ${String(version)}`).join(', ') };
  }
  if (key === 'device' && isMap && Array.isArray((value as { backends?: unknown }).backends)) {
    const summary = deviceSummary(value as { expectedBackend?: unknown; backends: unknown[] });
    if (summary !== undefined) return { label, value: summary };
  }
  if (key === 'platform' && isMap) return { label, value: Object.values(value as Record<string, unknown>).map(String).join(' / ') };
  if (key === 'ok' && typeof value === 'boolean') return { label, value: value ? '모든 셀 성공' : '실패' };
  if (key === 'injectedParameters' && typeof value === 'boolean') return { label, value: value ? '예' : '아니오' };
  if (key === 'deviceSource' && typeof value === 'string') {
    return { label, value: value === 'notebook' ? '노트북이 보고함' : value === 'runner-probe' ? '실행기가 확인함' : value === 'kernel-probe' ? '원격 커널이 확인함' : value };
  }
  if (key === 'failedCell' && isMap) {
    const cell = value as { index?: number; ename?: string; evalue?: string };
    return { label, value: `셀 ${(cell.index ?? 0) + 1}: ${cell.ename ?? ''}: ${cell.evalue ?? ''}` };
  }
  if ((key === 'durationMs' || key === 'kernelStartMs') && typeof value === 'number') return { label, value: formatDuration(value) };
  if (key === 'cells' && Array.isArray(value)) {
    const summary = cellsSummary(value);
    if (summary !== undefined) return { label, value: summary };
  }
  if ((key === 'startedAt' || key === 'endedAt') && typeof value === 'string') return { label, value: formatTimestamp(value) };
  if (typeof value === 'string') return { label, value, code: key === 'input' };
  if (typeof value === 'number' || typeof value === 'boolean') return { label, value: String(value) };
  if (isMap) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return { label, value: '(없음)' };
    // Small flat maps (data hashes, parameters, a device manifest) read best as `key=value` pairs.
    if (entries.every(([, v]) => typeof v !== 'object' || v === null)) {
      return { label, value: entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', '), code: true };
    }
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return { label, value: value.join(', ') };
  return { label, value: JSON.stringify(value), code: true };
}

/**
 * The reproducibility rows from the run metadata, in a fixed order (known keys first, then the rest
 * sorted) so the section is byte-stable. Run times are in here and only here.
 */
export function runRows(run: unknown, inputHashes?: Record<string, string>): InfoRow[] {
  const record = run !== null && typeof run === 'object' && !Array.isArray(run) ? (run as Record<string, unknown>) : {};
  const merged: Record<string, unknown> = { ...record };
  if (inputHashes && Object.keys(inputHashes).length > 0 && merged.inputHashes === undefined) merged.inputHashes = inputHashes;
  const keys = Object.keys(merged).filter((k) => merged[k] !== undefined);
  const ordered = [...RUN_ORDER.filter((k) => keys.includes(k)), ...keys.filter((k) => !RUN_ORDER.includes(k)).sort()];
  return ordered.map((key) => runValue(key, merged[key]));
}

/** The headline figures: the `headline` result, else the fine-tuned side of the first comparison or metrics. */
export function headlineFigures(results: NamedResult[]): HeadlineFigure[] {
  const headline = results.find((r) => r.kind === 'headline');
  if (headline) return (headline.value as { figures: HeadlineFigure[] }).figures;
  const comparison = results.find((r) => r.kind === 'comparison');
  if (comparison) {
    const c = comparison.value as ComparisonResult;
    return comparisonRows(c)
      .filter((row) => !row.isCount)
      .slice(0, 3)
      .map((row) => ({ label: row.label, value: row.tuned, base: row.base, format: c.format === 'percent' ? 'percent' : 'score' }));
  }
  const metrics = results.find((r) => r.kind === 'metrics');
  if (metrics) {
    return metricRows(metrics.value as MetricsResult)
      .rows.slice(0, 3)
      .map((row) => ({ label: row.label, value: row.value, format: row.format }));
  }
  return [];
}

/** How the generic template shows a result without a known kind. */
export type ValueView =
  | { type: 'scalar'; text: string }
  | { type: 'pairs'; rows: Array<{ label: string; text: string }> }
  | { type: 'records'; columns: string[]; rows: string[][] }
  | { type: 'json'; text: string };

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    // Up to 4 decimals without trailing zeros: 33.1, 0.89, 15.98 (as the studies' tables write them).
    return value.toLocaleString('en-US', { maximumFractionDigits: 4 });
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '예' : '아니오';
  if (value === null) return '–';
  return undefined;
}

/** A scalar prints inline, a flat object as 항목 | 값, a list of flat objects as a table, the rest as JSON. */
export function valueView(value: unknown): ValueView {
  const scalar = scalarText(value);
  if (scalar !== undefined) return { type: 'scalar', text: scalar };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([, v]) => scalarText(v) !== undefined)) {
      return { type: 'pairs', rows: entries.map(([label, v]) => ({ label, text: scalarText(v) as string })) };
    }
  }
  if (Array.isArray(value) && value.length > 0 && value.every((row) => row !== null && typeof row === 'object' && !Array.isArray(row))) {
    const columns = [...new Set(value.flatMap((row) => Object.keys(row as object)))];
    const rows = value.map((row) => columns.map((c) => scalarText((row as Record<string, unknown>)[c]) ?? (c in (row as object) ? JSON.stringify((row as Record<string, unknown>)[c]) : '')));
    if (columns.length > 0 && columns.length <= 12) return { type: 'records', columns, rows };
  }
  return { type: 'json', text: JSON.stringify(value, null, 2) };
}

/** Whether a value is a rich-text part or list of parts (`{ code }`, `{ strong }`, or an array of them and strings). */
export function isRichText(value: unknown): boolean {
  const part = (p: unknown) => typeof p === 'string' || (p !== null && typeof p === 'object' && !Array.isArray(p) && (typeof (p as { code?: unknown }).code === 'string' || typeof (p as { strong?: unknown }).strong === 'string') && Object.keys(p as object).length === 1);
  return Array.isArray(value) ? value.length > 0 && value.every(part) : typeof value === 'object' && part(value);
}

/** Cells of a `table` result: numbers with thousands separators (scores to 4 digits), rich-text cells kept as parts. */
export function tableCells(rows: Array<Array<unknown>>): unknown[][] {
  return rows.map((row) => row.map((cell) => (isRichText(cell) ? cell : scalarText(cell) ?? JSON.stringify(cell))));
}

/** Which columns a loss table needs (a column appears when any epoch has the value). */
export function lossColumns(result: { epochs: Array<Record<string, unknown>> }): { train: boolean; valid: boolean; metric: boolean } {
  const has = (field: string) => result.epochs.some((row) => row[field] !== undefined);
  return { train: has('trainLoss'), valid: has('validLoss'), metric: has('metric') };
}

/** The results of the given kinds, in emission order. */
export function ofKind(results: NamedResult[], ...kinds: string[]): NamedResult[] {
  return results.filter((r) => kinds.includes(r.kind));
}

/** The results of none of the given kinds (what a study template did not place itself). */
export function notOfKind(results: NamedResult[], ...kinds: string[]): NamedResult[] {
  return results.filter((r) => !kinds.includes(r.kind));
}

/** `[{ name: 'KoBERT' }, { name: 'KoELECTRA' }]` → `KoBERT, KoELECTRA`. */
export function joinNames(items: Array<{ name: string }>): string {
  return items.map((item) => item.name).join(', ');
}

/** The results whose names are not in `names` (what a study template placed by name itself). */
export function exceptNames(results: NamedResult[], names: string[]): NamedResult[] {
  return results.filter((r) => !names.includes(r.name));
}

/** Findings other than those of one rule (a study template may show that rule in its own section). */
export function findingsExcept<F extends { rule: string }>(findings: F[], rule: string): F[] {
  return findings.filter((f) => f.rule !== rule);
}

/** Plain results whose value is a single number, string, boolean or null (shown together in one table). */
export function scalarResults(results: NamedResult[]): Array<{ name: string; text: string }> {
  return results.flatMap((r) => {
    if (r.kind !== 'value') return [];
    const text = scalarText(r.value);
    return text === undefined ? [] : [{ name: r.name, text }];
  });
}

/** Results that get their own heading: every typed result, and plain values that are not scalars. */
export function sectionResults(results: NamedResult[]): NamedResult[] {
  return results.filter((r) => r.kind !== 'value' || scalarText(r.value) === undefined);
}
