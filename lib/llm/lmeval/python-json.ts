/**
 * JSON as Python's `json.dumps(..., ensure_ascii=False)` writes it, so that lm-eval's files and the
 * hashes it takes of them (`doc_hash` is the SHA-256 of `json.dumps(doc, indent=2, ...)`) come out
 * the same from hanlab. Python keeps ints and floats apart (`1` vs `1.0`) where JavaScript has one
 * number type: a float is marked with `pyFloat(x)`; a plain number is written as an int when it is an
 * integer and as Python's `repr(float)` otherwise.
 */

/** A number Python holds as a float (`1.0`, not `1`). */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
  /** As Python's `str(x)` writes it (`3.0`), so that a version in a sentence reads as lm-eval's. */
  toString(): string {
    return pythonFloatRepr(this.value);
  }
}

export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

/** Python's `repr(float)`: the shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  const decimalPoint = exponent + 1;
  if (decimalPoint <= -4 || decimalPoint > 16) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const magnitude = Math.abs(exponent);
    return `${sign}${body}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
  }
  if (decimalPoint <= 0) return `${sign}0.${'0'.repeat(-decimalPoint)}${digits}`;
  if (decimalPoint >= digits.length) return `${sign}${digits}${'0'.repeat(decimalPoint - digits.length)}.0`;
  return `${sign}${digits.slice(0, decimalPoint)}.${digits.slice(decimalPoint)}`;
}

/** `str(x)` of a Python float or int, as `sanitize_list` writes responses. */
export function pythonNumberStr(value: number | PyFloat): string {
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  return Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
}

function jsonFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return pythonFloatRepr(value);
}

/**
 * `json.dumps(value, ensure_ascii=False)` (no indent: `", "` and `": "` separators) or with `indent`
 * (`","` at line ends). Keys keep insertion order, as Python's dicts do.
 */
export function pythonJsonDumps(value: unknown, indent?: number): string {
  const write = (item: unknown, depth: number): string => {
    if (item === null || item === undefined) return 'null';
    if (item instanceof PyFloat) return jsonFloat(item.value);
    if (typeof item === 'number') return Number.isInteger(item) ? String(item) : jsonFloat(item);
    if (typeof item === 'bigint') return item.toString();
    if (typeof item === 'boolean') return item ? 'true' : 'false';
    if (typeof item === 'string') return JSON.stringify(item);
    const open = indent === undefined ? '' : `\n${' '.repeat(indent * (depth + 1))}`;
    const close = indent === undefined ? '' : `\n${' '.repeat(indent * depth)}`;
    const separator = indent === undefined ? ', ' : `,${open}`;
    if (Array.isArray(item)) {
      if (item.length === 0) return '[]';
      return `[${open}${item.map((element) => write(element, depth + 1)).join(separator)}${close}]`;
    }
    if (typeof item === 'object' && typeof (item as { toJSON?: unknown }).toJSON === 'function') return write((item as { toJSON(): unknown }).toJSON(), depth);
    if (typeof item === 'object') {
      const entries = Object.entries(item as Record<string, unknown>);
      if (entries.length === 0) return '{}';
      return `{${open}${entries.map(([key, element]) => `${JSON.stringify(key)}: ${write(element, depth + 1)}`).join(separator)}${close}}`;
    }
    return JSON.stringify(String(item));
  };
  return write(value, 0);
}
