/**
 * The text layout of `classification_report` — seqeval 1.2.2's `StringReporter` and scikit-learn
 * 1.2's report are the same table, so both reporters use this one formatter, byte for byte:
 *
 * ```
 *               precision    recall  f1-score   support
 *
 *           PS     0.9945    0.9891    0.9918       184
 *
 *     accuracy                         0.8083       600      <- scikit-learn only
 *    micro avg     0.9991    0.9982    0.9987      1132
 * ```
 * Python's format rules are reproduced: widths count code points, floats round half to even on the
 * exact binary value (`'{:.4f}'`), NaN prints as `nan`.
 */

/** One table row: a label or an average. */
export interface ReportTextRow {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** scikit-learn's `accuracy` row: only the f1-score column (holding the accuracy) and the support. */
export interface AccuracyTextRow {
  name: 'accuracy';
  accuracy: number;
  support: number;
}

export const REPORT_HEADERS = ['precision', 'recall', 'f1-score', 'support'] as const;

/** Python's `len` (code points), not UTF-16 units. */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Python's `'{:>{width}}'`. */
export function padStartPython(text: string, width: number): string {
  const len = codePointLength(text);
  return len >= width ? text : ' '.repeat(width - len) + text;
}

/**
 * Python's `'{:.{digits}f}'.format(x)`. `toFixed` is exact but rounds ties away from zero; Python
 * rounds exact ties (0.125 at 2 digits) to even, so ties are detected on the exact expansion.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const negative = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  let text = abs.toFixed(digits);
  if (digits < 100 && abs < 1e21) {
    // Exact decimal expansion (a tie has digits+1 decimals, so 100 places show it exactly).
    const exact = abs.toFixed(100);
    const point = exact.indexOf('.');
    const tail = exact.slice(point + 1 + digits);
    if (tail[0] === '5' && /^50*$/.test(tail)) {
      const truncated = digits === 0 ? exact.slice(0, point) : exact.slice(0, point + 1 + digits);
      const lastDigit = Number(truncated[truncated.length - 1]);
      if (lastDigit % 2 === 0) text = truncated; // round half to even: keep the even digit
    }
  }
  return negative ? '-' + text : text;
}

/** The report's first column width: `max(longest label, len('weighted avg'), digits)`. */
export function reportWidth(labels: readonly string[], digits: number): number {
  let nameWidth = 0;
  for (const label of labels) nameWidth = Math.max(nameWidth, codePointLength(label));
  return Math.max(nameWidth, 'weighted avg'.length, digits);
}

/**
 * Python's `repr(float)` (= `str`): the shortest digits that round-trip, in fixed notation with at
 * least one decimal (`2.0`, `0.0001`) when the decimal exponent is in [-4, 16), else scientific with a
 * two-digit exponent (`1e+16`, `1.5e-05`).
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  // toExponential() without an argument gives the shortest round-trip digits, as Python's repr.
  const [mantissa, exponentText] = Math.abs(x).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? '.' + digits.slice(1) : '';
    const e = Math.abs(exponent);
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || '0'}`;
}

/** The support column: an int, or (scikit-learn's float-count quirk) a float such as `2.0`. */
function supportText(support: number, asFloat: boolean): string {
  return asFloat ? pythonFloatRepr(support) : String(support);
}

function formatRow(row: ReportTextRow, width: number, digits: number, supportAsFloat: boolean): string {
  const cells = [row.precision, row.recall, row.f1].map((v) => ' ' + padStartPython(formatFixed(v, digits), 9));
  return padStartPython(row.name, width) + ' ' + cells.join('') + ' ' + padStartPython(supportText(row.support, supportAsFloat), 9);
}

function formatAccuracyRow(row: AccuracyTextRow, width: number, digits: number, supportAsFloat: boolean): string {
  // scikit-learn formats '' with '{:>9.{digits}}' twice: nine spaces each.
  const blank = ' ' + ' '.repeat(9);
  return (
    padStartPython(row.name, width) + ' ' + blank + blank +
    ' ' + padStartPython(formatFixed(row.accuracy, digits), 9) +
    ' ' + padStartPython(supportText(row.support, supportAsFloat), 9)
  );
}

function isAccuracyRow(row: ReportTextRow | AccuracyTextRow): row is AccuracyTextRow {
  return 'accuracy' in row;
}

/**
 * The whole report text: header, blank line, one row per label, blank line, the average rows (and
 * scikit-learn's accuracy row), each line ending in `\n`. The width comes from the label rows.
 */
export function formatReportText(
  labelRows: readonly ReportTextRow[],
  averageRows: readonly (ReportTextRow | AccuracyTextRow)[],
  digits = 2,
  options: { supportAsFloat?: boolean } = {},
): string {
  const asFloat = options.supportAsFloat ?? false;
  const width = reportWidth(labelRows.map((row) => row.name), digits);
  const header = padStartPython('', width) + ' ' + REPORT_HEADERS.map((h) => ' ' + padStartPython(h, 9)).join('');
  const lines = [header, ''];
  for (const row of labelRows) lines.push(formatRow(row, width, digits, asFloat));
  lines.push('');
  for (const row of averageRows) {
    lines.push(isAccuracyRow(row) ? formatAccuracyRow(row, width, digits, asFloat) : formatRow(row, width, digits, asFloat));
  }
  return lines.join('\n') + '\n';
}
