/**
 * Study 003's `json_to_bio`, ported faithfully, and each of its fixes as a named step, so a notebook
 * can score F1 after every step: original → whitespace → fence stripping → unit normalisation →
 * `alignAnswer` (ours).
 *
 * What the Python does, kept here on purpose (these are the findings, not bugs of the port):
 * - JSON is cut out with the greedy regex `\{.*\}` (DOTALL): first `{` to last `}`.
 * - Each entity is looked up with `str.find`: the first occurrence only, so a string listed twice
 *   lands on the same place, and later spans overwrite earlier ones.
 * - `original`: the entity's spaces are removed but the sentence keeps its space tokens, so no
 *   multi-word entity is ever found; and its end-index loop keeps moving the end to the last token,
 *   so every found entity runs to the end of the sentence.
 * - `whitespace` (the study's "공백 무시 매칭"): fixes the end index; still strips spaces only on the
 *   entity side, so multi-word entities are still never found.
 * - `fence`: removes ```json fences and retries with ' → ". The greedy regex already cut fences
 *   off, which is why the study saw no change from this step.
 * - `units`: the study's correction map (km→㎞, m→ｍ, %→％, C→℃ …) applied by plain substring
 *   replacement, in its order. It also rewrites `1000m`, `MBC`, `FC` …; and KLUE v1.1 (our data)
 *   writes `km` in ASCII, where the study's copy had `㎞`.
 *
 * Python semantics are kept where they matter: lengths and `find` count code points, not UTF-16
 * units. Where the Python would raise (a list answer has no `.items()`, a number has no `.replace`)
 * and abort the whole evaluation, the port returns all-`O` tags for that sentence instead.
 */
import { alignAnswer, type AlignOptions } from './align.js';

export type SeedStepName = 'original' | 'whitespace' | 'fence' | 'units';
export type ConverterStepName = SeedStepName | 'align';

export interface ConverterStep {
  name: ConverterStepName;
  /** Short Korean title for tables and charts. */
  title: string;
  /** What this step changes compared to the previous one (Korean, one sentence). */
  description: string;
  /** answer → tags over `tokens`. The seed steps ignore `labels` (the study placed any key). */
  convert(tokens: readonly string[], answer: string, labels: readonly string[], options?: AlignOptions): string[];
}

/** Study 003's final `json_to_bio` (the `units` step, the one behind its 71.29). */
export function seedJsonToBio(tokens: readonly string[], answer: string): string[] {
  return seedStep('units', tokens, answer);
}

/** Runs one of the seed's versions of `json_to_bio`. */
export function seedStep(step: SeedStepName, tokens: readonly string[], answer: string): string[] {
  try {
    switch (step) {
      case 'original':
        return original(tokens, answer);
      case 'whitespace':
        return whitespace(tokens, answer, parseOriginal(answer), false);
      case 'fence':
        return whitespace(tokens, answer, parseWithFenceFix(answer), false);
      case 'units':
        return whitespace(tokens, answer, parseWithFenceFix(answer), true);
    }
  } catch (error) {
    if (error instanceof PythonWouldRaise) return allO(tokens.length);
    throw error;
  }
}

/** One of the study's own conversion steps, replayed by `seedStep`. */
function seedConverterStep(name: SeedStepName, title: string, description: string): ConverterStep {
  return { name, title, description, convert: (tokens, answer) => seedStep(name, tokens, answer) };
}

/** The ordered steps, ending with `alignAnswer`. */
export const CONVERTER_STEPS: readonly ConverterStep[] = Object.freeze([
  seedConverterStep('original', '원본 json_to_bio', '스터디 003의 첫 변환 함수: 개체명 공백만 지우고 문장 공백은 남겨 띄어쓰기 있는 개체명을 못 찾고, 찾은 개체명은 문장 끝까지 이어진다.'),
  seedConverterStep('whitespace', '공백 무시 매칭', '끝 위치 계산을 고친 두 번째 버전. 문장 쪽 공백은 그대로라 띄어쓰기 있는 개체명은 여전히 못 찾는다.'),
  seedConverterStep('fence', '```json 제거', '마크다운 펜스를 지우고 작은따옴표를 큰따옴표로 바꿔 다시 파싱한다. 탐욕적 정규식이 이미 펜스를 잘라 내고 있어 점수는 그대로다.'),
  seedConverterStep('units', '단위 정규화', 'km→㎞, m→ｍ, %→％ 등 치환표를 개체명에 그대로 적용한다. 1000m, MBC 같은 표기까지 바꿔 버린다.'),
  {
    name: 'align',
    title: 'alignAnswer',
    description: '균형 괄호 추출·JSON 복구, 공백·NFKC 무시 매칭, 긴 개체명 먼저, 나열 횟수만큼 서로 다른 위치에 배치한다.',
    convert: (tokens, answer, labels, options) => alignAnswer(tokens, answer, labels, options).tags,
  },
] satisfies ConverterStep[]);

// --- the Python, step by step -------------------------------------------------------------------

/** Stands for a Python exception that the study's code does not catch. */
class PythonWouldRaise extends Error {}

type PyDict = Array<[string, unknown]>;

function allO(length: number): string[] {
  return new Array<string>(length).fill('O');
}

/** `re.search(r"\{.*\}", s, re.DOTALL)`: first `{` to last `}` after it, or null. */
function greedyBraces(text: string): string | null {
  const first = text.indexOf('{');
  if (first < 0) return null;
  const last = text.lastIndexOf('}');
  return last > first ? text.slice(first, last + 1) : null;
}

/** `json.loads(s)`, then `.items()`; undefined when `json.loads` raises. */
function jsonLoads(text: string): { ok: true; items: () => PyDict } | { ok: false } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false };
  }
  return {
    ok: true,
    items: () => {
      // A list, string or number has no `.items()`: AttributeError.
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PythonWouldRaise();
      const record = value as Record<string, unknown>;
      return Object.keys(record).map((key) => [key, record[key]] as [string, unknown]);
    },
  };
}

/** Versions 1 and 2: regex, then `json.loads` inside a bare `try/except` → all-O on failure. */
function parseOriginal(answer: string): PyDict | null {
  const match = greedyBraces(answer);
  const loaded = jsonLoads(match ?? answer);
  return loaded.ok ? loaded.items() : null;
}

/** Version 3: strip fences, regex, `json.loads`; on JSONDecodeError retry with ' replaced by ". */
function parseWithFenceFix(answer: string): PyDict | null {
  let text = answer;
  if (text) text = splitJoin(splitJoin(text, '```json', ''), '```', '').trim();
  const match = greedyBraces(text);
  if (match !== null) text = match;
  let loaded = jsonLoads(text);
  if (!loaded.ok) loaded = jsonLoads(splitJoin(text, "'", '"'));
  return loaded.ok ? loaded.items() : null;
}

/** The first version, including its end-index loop. */
function original(tokens: readonly string[], answer: string): string[] {
  const tags = allO(tokens.length);
  const items = parseOriginal(answer);
  if (items === null) return tags;
  const joined = tokens.join('');
  for (const [label, entityList] of items) {
    if (!Array.isArray(entityList)) continue;
    for (const entityText of entityList) {
      if (typeof entityText !== 'string') throw new PythonWouldRaise(); // .replace on a non-str
      const clean = splitJoin(entityText, ' ', '');
      const startIdx = pyFind(joined, clean);
      if (startIdx === -1) continue;
      const length = pyLen(clean);
      let currentLen = 0;
      let tokenStart = -1;
      let tokenEnd = -1;
      for (let i = 0; i < tokens.length; i++) {
        const tokenLen = pyLen(tokens[i]);
        if (currentLen === startIdx) tokenStart = i;
        if (currentLen === startIdx + length - 1) tokenEnd = i;
        if (tokenStart !== -1 && tokenEnd === -1) {
          // pass
        } else if (tokenStart !== -1 && i >= tokenStart) {
          // Once the end is set, every later token also satisfies this: the end moves to the last token.
          if (currentLen + tokenLen > startIdx + length) tokenEnd = i;
        }
        currentLen += tokenLen;
      }
      if (tokenStart !== -1) {
        if (tokenEnd === -1) tokenEnd = tokenStart;
        tags[tokenStart] = `B-${label}`;
        for (let i = tokenStart + 1; i < tokenEnd + 1; i++) if (i < tags.length) tags[i] = `I-${label}`;
      }
    }
  }
  return tags;
}

/** The study's correction map, in its order. */
const CORRECTION_MAP: ReadonlyArray<[string, string]> = [
  ['km', '㎞'], ['KM', '㎞'], ['Km', '㎞'],
  ['m', 'ｍ'], ['M', 'ｍ'],
  ['%', '％'],
  ['kg', '㎏'], ['KG', '㎏'],
  ['cm', '㎝'], ['CM', '㎝'],
  ['mm', '㎜'], ['MM', '㎜'],
  ['C', '℃'], ['F', '℉'],
];

/** Versions 2–4: intersection of character ranges with token ranges, first `find` only. */
function whitespace(tokens: readonly string[], _answer: string, items: PyDict | null, units: boolean): string[] {
  const tags = allO(tokens.length);
  if (items === null) return tags;
  const full = tokens.join('');
  const spanStart: number[] = [];
  const spanEnd: number[] = [];
  let at = 0;
  for (const token of tokens) {
    spanStart.push(at);
    at += pyLen(token);
    spanEnd.push(at);
  }
  for (const [label, entityList] of items) {
    if (!Array.isArray(entityList)) continue;
    for (const entityText of entityList) {
      if (typeof entityText !== 'string') continue;
      let clean = splitJoin(entityText, ' ', '');
      if (!clean) continue;
      if (units) {
        for (const [from, to] of CORRECTION_MAP) if (clean.includes(from)) clean = splitJoin(clean, from, to);
      }
      const startIdx = pyFind(full, clean);
      if (startIdx === -1) continue;
      const endIdx = startIdx + pyLen(clean);
      let tStart = -1;
      let tEnd = -1;
      for (let i = 0; i < tokens.length; i++) {
        if (Math.max(startIdx, spanStart[i]) < Math.min(endIdx, spanEnd[i])) {
          if (tStart === -1) tStart = i;
          tEnd = i;
        }
      }
      if (tStart !== -1) {
        tags[tStart] = `B-${label}`;
        for (let i = tStart + 1; i < tEnd + 1; i++) tags[i] = `I-${label}`;
      }
    }
  }
  return tags;
}

/** Python's `str.replace(a, b)` (all occurrences); `a` is never empty here. */
function splitJoin(text: string, from: string, to: string): string {
  return text.indexOf(from) < 0 ? text : text.split(from).join(to);
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Python's `len`: code points. */
function pyLen(text: string): number {
  if (!SURROGATE.test(text)) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Python's `str.find`: a code-point index, 0 for an empty needle. */
function pyFind(haystack: string, needle: string): number {
  const unit = haystack.indexOf(needle);
  if (unit <= 0) return unit;
  return SURROGATE.test(haystack) ? pyLen(haystack.slice(0, unit)) : unit;
}
