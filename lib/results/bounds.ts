/**
 * Bounds on what one emitted result may bring into a report. A notebook can emit any JSON value; one
 * nested 100,000 levels deep made the renderer overflow its stack, and one nested 3,000 levels made it
 * run for 47 s and write an 18 MB report (pretty-printed JSON indents every level). A result past
 * either bound is left out of the report and replaced by a notice that says which bound and by how
 * much; every other result still renders. The walk is iterative, so depth itself cannot overflow it,
 * and it stops as soon as a bound is passed, so a huge value costs no more than the bound.
 *
 * No study result comes close: the deepest is 4 levels, the largest about 40 KB of JSON.
 */
import { josa } from './filters.js';
import type { NamedResult } from './kinds.js';

/** Deepest nesting a result may have (an array or object inside another counts one level). */
export const MAX_RESULT_DEPTH = 32;
/** Most characters a result may have as compact JSON (strings, keys and numbers counted). */
export const MAX_RESULT_CHARS = 2_000_000;

/** What the report shows instead of a result past a bound. */
export interface OmittedResult {
  kind: 'omitted';
  /** Which bound: nesting depth or size. */
  reason: 'depth' | 'size';
  /** The bound that was passed. */
  limit: number;
  /** How far the value went before the walk stopped (at least limit + 1; the walk stops there). */
  reached: number;
}

/** Depth and approximate JSON size of a value, stopping as soon as either bound is passed. */
export function measureResult(value: unknown, maxDepth = MAX_RESULT_DEPTH, maxChars = MAX_RESULT_CHARS): { depth: number; chars: number; over?: 'depth' | 'size' } {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let depth = 0;
  let chars = 0;
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'string') chars += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) chars += String(v).length;
    else if (typeof v === 'object') {
      const level = item.depth + 1;
      if (level > depth) depth = level;
      if (depth > maxDepth) return { depth, chars, over: 'depth' };
      chars += 2;
      if (Array.isArray(v)) {
        for (const entry of v) {
          chars += 1;
          stack.push({ value: entry, depth: level });
        }
      } else {
        for (const [key, entry] of Object.entries(v as Record<string, unknown>)) {
          chars += key.length + 4;
          stack.push({ value: entry, depth: level });
        }
      }
    }
    if (chars > maxChars) return { depth, chars, over: 'size' };
  }
  return { depth, chars };
}

/** A notice in place of a result past a bound, or undefined when the result is within both. */
export function boundResult(name: string, value: unknown): NamedResult | undefined {
  const measured = measureResult(value);
  if (!measured.over) return undefined;
  const omitted: OmittedResult =
    measured.over === 'depth'
      ? { kind: 'omitted', reason: 'depth', limit: MAX_RESULT_DEPTH, reached: measured.depth }
      : { kind: 'omitted', reason: 'size', limit: MAX_RESULT_CHARS, reached: measured.chars };
  return { name, kind: 'omitted', value: omitted };
}

/** The Korean sentence for a left-out result (the templates print it as a notice). */
export function omittedText(name: string, omitted: OmittedResult): string {
  if (omitted.reason === 'depth') {
    return `결과 ${josa(`"${name}"`, '은/는')} ${omitted.limit}단계보다 깊이 중첩되어(${omitted.reached}단계에서 확인을 멈춤) 보고서에 싣지 않았습니다. 보고서는 ${omitted.limit}단계까지의 결과만 보입니다.`;
  }
  const mb = (n: number) => (n / 1_000_000).toFixed(1);
  return `결과 ${josa(`"${name}"`, '은/는')} JSON으로 ${mb(omitted.limit)}MB를 넘어(${mb(omitted.reached)}MB에서 확인을 멈춤) 보고서에 싣지 않았습니다. 보고서는 결과 하나에 ${mb(omitted.limit)}MB까지만 싣습니다.`;
}
