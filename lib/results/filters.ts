/**
 * Number formats the reports use, as the studies write them: `91.8%`, `135/147`, `3,096,592`,
 * `+0.0455`, `▴ 15.98%`. Pure functions; `render.ts` registers them as nunjucks filters.
 *
 * Hand-written rather than `Intl.NumberFormat` alone because the studies' conventions (a sign on every
 * delta, arrows for relative gains, no sign on a zero change) are not locale options; `Intl` still does
 * the grouping so we never reimplement thousands separators.
 */

const GROUPED = new Intl.NumberFormat('en-US', { useGrouping: true, maximumFractionDigits: 20 });

/** Text shown in place of a number that is missing or not finite (NaN, ±Infinity). */
export const NOT_A_NUMBER = '–';

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Rounds to `digits` decimals and removes the sign of a result that rounds to zero. */
function fixed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

function checkDigits(digits: number): number {
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw new RangeError(`digits must be an integer 0..20, got ${digits}`);
  return digits;
}

/** `3096592` → `3,096,592`; `1234.5` (digits 1) → `1,234.5`. Without digits, integers print whole. */
export function thousands(value: unknown, digits?: number): string {
  if (!isFiniteNumber(value)) return NOT_A_NUMBER;
  if (digits === undefined) return GROUPED.format(value === 0 ? 0 : value);
  checkDigits(digits);
  // toFixed switches to exponent notation from 1e21 on; Intl groups those digits instead.
  if (Math.abs(value) >= 1e21) return new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
  const [whole, fraction] = fixed(value, digits).split('.');
  const grouped = GROUPED.format(Number(whole.replace('-', ''))); // BigInt-free: |whole| < 2^53 for report figures
  return (whole.startsWith('-') ? '-' : '') + grouped + (fraction !== undefined ? '.' + fraction : '');
}

/** A fraction as a percentage with fixed digits: `0.918` → `91.8%` (digits 1, the default). */
export function percent(fraction: unknown, digits = 1): string {
  if (!isFiniteNumber(fraction)) return NOT_A_NUMBER;
  return `${thousands(fraction * 100, checkDigits(digits))}%`;
}

/** Counts as the studies write them: `135/147`. Thousands separators on both sides. */
export function ratio(count: unknown, total: unknown): string {
  if (!isFiniteNumber(count) || !isFiniteNumber(total)) return NOT_A_NUMBER;
  return `${thousands(count)}/${thousands(total)}`;
}

/** A number with fixed digits, thousands grouped: `0.0833` (digits 4). */
export function decimal(value: unknown, digits = 4): string {
  return thousands(value, checkDigits(digits));
}

/**
 * A signed difference: `+0.0455`, `-0.0833`, `+1` (digits 0). A change that rounds to zero prints
 * without a sign (`0.0000`): "no change" should not read as a gain or a loss.
 */
export function signedDelta(delta: unknown, digits = 4): string {
  if (!isFiniteNumber(delta)) return NOT_A_NUMBER;
  const text = thousands(delta, checkDigits(digits));
  return Number(fixed(delta, digits)) > 0 ? `+${text}` : text;
}

/**
 * Relative gain (new − base) / base, or `undefined` where it is not defined: base = 0 (any change from
 * zero is infinitely large) or a missing value. A negative base uses |base| so that "better" keeps its
 * sign (from −2 to −1 is +50%).
 */
export function relativeGain(next: unknown, base: unknown): number | undefined {
  if (!isFiniteNumber(next) || !isFiniteNumber(base) || base === 0) return undefined;
  return (next - base) / Math.abs(base);
}

/**
 * Relative gain with an arrow, as study 002 writes it: `▴ 15.98%`, `▾ 2.10%`; `0.00%` without an arrow
 * when the change rounds to zero. Base = 0 has no relative gain: from 0 to 0 prints `0.00%`, from 0 to
 * anything else prints the arrow and `기준값 0` (the direction is known, the size is not).
 */
export function gainArrow(next: unknown, base: unknown, digits = 2): string {
  checkDigits(digits);
  if (!isFiniteNumber(next) || !isFiniteNumber(base)) return NOT_A_NUMBER;
  if (base === 0) {
    if (next === 0) return `${fixed(0, digits)}%`;
    return `${next > 0 ? '▴' : '▾'} 기준값 0`;
  }
  const gain = relativeGain(next, base) as number;
  const size = thousands(Math.abs(gain) * 100, digits);
  if (Number(fixed(Math.abs(gain) * 100, digits)) === 0) return `${size}%`;
  return `${gain > 0 ? '▴' : '▾'} ${size}%`;
}

/** A metric value by its format: 'percent' → `91.8%`, 'count' → `3,096,592`, 'score' (default) → `0.9180`. */
export function metric(value: unknown, format: string = 'score', digits?: number): string {
  if (format === 'percent') return percent(value, digits ?? 1);
  if (format === 'count') return thousands(value, digits);
  return decimal(value, digits ?? 4);
}

/** A difference in percentage points: `0.0529` → `+5.29%p`. */
export function pointDelta(delta: unknown, digits = 2): string {
  if (!isFiniteNumber(delta)) return NOT_A_NUMBER;
  return `${signedDelta(delta * 100, digits)}%p`;
}

const NATIVE_COUNTS = ['', '한', '두', '세', '네', '다섯', '여섯', '일곱', '여덟', '아홉', '열'];

/**
 * A count before a noun, as Korean says it: `4` → `네` ("네 부분집합 모두"), up to 열; larger counts
 * (and anything that is not a whole number from 1) print as digits.
 */
export function nativeCount(n: unknown): string {
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n < NATIVE_COUNTS.length) return NATIVE_COUNTS[n];
  return isFiniteNumber(n) ? thousands(n) : NOT_A_NUMBER;
}

/** Every filter by the name templates use. */
export const FILTERS = {
  percent,
  ratio,
  thousands,
  decimal,
  metric,
  delta: signedDelta,
  pointDelta,
  gain: gainArrow,
  nativeCount,
} as const;

/**
 * Appends the Korean particle that fits the word's last sound: `josa('애매', '을/를')` → `애매를`,
 * `josa('높음', '으로/로')` → `높음으로`, `josa('0.0833', '으로/로')` → `0.0833으로`, `josa('JSON', '으로/로')`
 * → `JSON으로`. Pairs: 을/를, 이/가, 은/는, 과/와, 으로/로. A word ending in a lowercase Latin letter or a
 * symbol (`label`, `</b>`) gets both forms, `label을(를)`, because its reading is unknown.
 */
export function josa(word: unknown, pair: string): string {
  const text = word === undefined || word === null ? '' : String(word);
  const forms = pair.split('/');
  if (forms.length !== 2) throw new RangeError(`a particle pair looks like "을/를", got "${pair}"`);
  const [withFinal, withoutFinal] = forms;
  // The particle follows the last sound, so closing quotes, brackets and % signs are looked through.
  const spoken = text.replace(/["'\u201d\u2019)\]\u300d\u300f%\s]+$/u, '');
  const final = finalSound(spoken.charAt(spoken.length - 1));
  if (final === undefined) return `${text}${withFinal}(${withoutFinal})`;
  // 으로/로: a final ㄹ takes 로, like a vowel.
  const hasFinal = withFinal === '으로' ? final !== 'none' && final !== 'rieul' : final !== 'none';
  return text + (hasFinal ? withFinal : withoutFinal);
}

/** Digits as read in Sino-Korean (영, 일, 이, 삼, 사, 오, 육, 칠, 팔, 구): their final sound. */
const DIGIT_FINALS: Record<string, 'none' | 'rieul' | 'other'> = {
  '0': 'other', '1': 'rieul', '2': 'none', '3': 'other', '4': 'none', '5': 'none', '6': 'other', '7': 'rieul', '8': 'rieul', '9': 'none',
};

/**
 * Capital letters as Koreans read acronyms (JSON → 제이슨/…엔, F1 → 에프원, LC → 엘씨): the final sound
 * of each letter's name. L and R (엘, 알) end in ㄹ; M and N (엠, 엔) in another consonant.
 */
const LETTER_FINALS: Record<string, 'none' | 'rieul' | 'other'> = { L: 'rieul', R: 'rieul', M: 'other', N: 'other' };

function finalSound(ch: string): 'none' | 'rieul' | 'other' | undefined {
  if (/^[A-Z]$/.test(ch)) return Object.hasOwn(LETTER_FINALS, ch) ? LETTER_FINALS[ch] : 'none';
  const code = ch.charCodeAt(0);
  if (code >= 0xac00 && code <= 0xd7a3) {
    const final = (code - 0xac00) % 28;
    return final === 0 ? 'none' : final === 8 ? 'rieul' : 'other';
  }
  return Object.hasOwn(DIGIT_FINALS, ch) ? DIGIT_FINALS[ch] : undefined;
}
