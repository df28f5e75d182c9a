/**
 * The result contract on the notebook's side: a named value checked to be plain JSON, in the mime
 * bundle that the kernel, the executed notebook and the report all read (`{ name, value }` under
 * RESULT_MIME, with a text for people). `emit()` (lib/notebook/display.ts) displays this bundle.
 */
import { RESULT_MIME, type ResultBundle } from './mime.js';

export interface EmitOptions {
  /** Text for people (default: `name = <value as JSON, shortened>`). */
  summary?: string;
  /**
   * Replace an earlier result of the same name. Without it, emitting a name twice (in one cell, or
   * from two cells) is an error: a report keeps one value per name and must not pick one silently.
   */
  replace?: boolean;
}

/**
 * The mime bundle of `emit(name, value)`. `value` must be plain JSON (objects, arrays, strings, finite
 * numbers, booleans, null; Dates become ISO strings, typed arrays plain arrays); anything JSON would
 * silently change (NaN, undefined, Map, functions, cycles) is a TypeError naming where it is, because
 * a report must never show a value the notebook did not compute.
 */
export function resultMimeBundle(name: string, value: unknown, summaryOrOptions?: string | EmitOptions): Record<string, unknown> {
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError('emit(name, value): name must be a non-empty string');
  const options: EmitOptions = typeof summaryOrOptions === 'string' ? { summary: summaryOrOptions } : summaryOrOptions ?? {};
  const json = toJsonValue(value, name, new Set());
  const bundle: ResultBundle = options.replace ? { name, value: json, replace: true } : { name, value: json };
  const text = options.summary ?? `${name} = ${preview(json)}`;
  return { [RESULT_MIME]: bundle, 'text/plain': text };
}

function preview(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 200 ? text.slice(0, 197) + '...' : text;
}

/** How deep a displayed JSON value may nest (objects and arrays); deeper is an error, not a stack overflow. */
export const MAX_JSON_DEPTH = 100;

/** Checks and converts to plain JSON; `where` is a path like `metrics.f1` for error messages. */
export function toJsonValue(value: unknown, where: string, ancestors: Set<object>): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${where} is ${value}, which JSON cannot hold; use null or a string`);
    return value;
  }
  if (typeof value !== 'object') throw new TypeError(`${where} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot hold`);
  if (value instanceof Date) return value.toISOString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (item, index) => toJsonValue(item, `${where}[${index}]`, ancestors));
  }
  if (ancestors.has(value)) throw new TypeError(`${where} refers back to itself (a cycle), which JSON cannot hold`);
  // `ancestors` is the chain of objects above this one: its size is the depth.
  if (ancestors.size >= MAX_JSON_DEPTH) {
    // The path of a deep value is long: its start and end, cut between steps (`.key`, `[0]`).
    const head = where.slice(0, 60);
    const tail = where.slice(-20);
    const shown = where.length > 80 ? `${head.slice(0, Math.max(head.search(/[.[][^.[]*$/), 1))}…${tail.slice(Math.max(tail.search(/[.[]/), 0))}` : where;
    throw new TypeError(`${shown} is nested more than ${MAX_JSON_DEPTH} levels deep, deeper than a report can show (and than the call stack allows at some thousands); flatten it before emitting`);
  }
  if (value instanceof Map || value instanceof Set) {
    throw new TypeError(`${where} is a ${value instanceof Map ? 'Map' : 'Set'}; convert it (Object.fromEntries / Array.from) before emitting`);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item, index) => toJsonValue(item, `${where}[${index}]`, ancestors));
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return toJsonValue(toJSON.call(value), where, ancestors);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // Keys come from data (entity types, labels): define, never assign, so "__proto__" stays a plain key.
      Object.defineProperty(out, key, { value: toJsonValue(item, `${where}.${key}`, ancestors), enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}
