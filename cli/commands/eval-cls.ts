/**
 * `hanlab eval cls`: scikit-learn's classification report and confusion matrix for gold / predicted
 * label pairs. A thin shell over lib/metrics/classification.ts.
 *
 * Labels are read as scikit-learn reads the same records after Python's `json.load`: strings, ints,
 * floats (a label written `1.0` prints `1.0`), booleans (`True`); a continuous value such as 2.5 is an
 * error, as in scikit-learn. CSV and TSV cells are text labels (as `pandas.read_csv(dtype=str)`).
 */
import { parse as parseLossless } from 'lossless-json';
import { readTextFile } from '../../lib/data/encoding.js';
import { readTable, rowValue, type Table, type TableRow } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import {
  ClassLabelError,
  classLabels,
  classificationReportRecord,
  formatClassificationReport,
  formatConfusionMatrix,
  numberLabelText,
  scoreClassification,
  type ClassLabelValue,
  type ClassLabels,
  type JsonNumberToken,
} from '../../lib/metrics/classification.js';
import { OrderedRecord, previewJson, stringifyMetricsJson } from '../../lib/metrics/json.js';
import { parseDigits, parseList, parseOptions, parseZeroDivisionOption, rowLocation, usageError } from '../options.js';

const USAGE = `Usage: hanlab eval cls --records FILE [options]

Scores predicted class labels against gold ones exactly as scikit-learn 1.2 does
(classification_report and confusion_matrix).

  --records FILE         one record per line: {"gold": <label>, "pred": <label>}
                         (JSON Lines; a JSON array, CSV, TSV or Parquet with gold/pred columns also works).
                         Labels are strings, whole numbers (1, or 1.0 which prints 1.0 as in scikit-learn)
                         or booleans (True / False); CSV and TSV cells are text. A continuous value such
                         as 2.5 is an error, as in scikit-learn.
  --labels a,b,c         labels to report and the matrix order (default: sorted union of gold and pred;
                         numbers sort by value)
  --gold-field NAME      field holding the gold label (default: gold)
  --pred-field NAME      field holding the predicted label (default: pred)
  --digits N             decimals in the text report (default: 2)
  --zero-division V      0, 1 or warn (default: warn = 0 with a warning)
  --json                 print one JSON object: accuracy, report (scikit-learn's output_dict keys, in
                         its order; NaN written NaN), confusion_matrix (rows = gold, columns =
                         prediction, in labels order; null where scikit-learn raises), labels
  -h, --help             show this help`;

type RawLabel = ClassLabelValue | undefined;

/**
 * How each JSON number of the gold and pred fields was written (`1` or `1.0`), which JSON.parse
 * forgets: the records holding numbers are parsed again with lossless-json, which keeps number text.
 */
function numberTokens(table: Table, rows: number[], fields: string[]): Map<number, Record<string, JsonNumberToken>> {
  const tokens = new Map<number, Record<string, JsonNumberToken>>();
  if (rows.length === 0 || (table.format !== 'json' && table.format !== 'jsonl')) return tokens;
  const { text } = readTextFile(table.file, { encoding: table.encoding });
  const parse = (source: string): unknown => {
    try {
      return parseLossless(source, null, (number: string) => ({ json: number }));
    } catch {
      return undefined; // JSON.parse read it; a record too deep for this parser keeps JSON.parse's number
    }
  };
  const pick = (record: unknown, row: number) => {
    if (record === null || typeof record !== 'object') return;
    const found: Record<string, JsonNumberToken> = Object.create(null);
    for (const field of fields) {
      const value = Object.hasOwn(record, field) ? (record as Record<string, unknown>)[field] : undefined;
      if (value !== null && typeof value === 'object' && typeof (value as JsonNumberToken).json === 'string') found[field] = value as JsonNumberToken;
    }
    tokens.set(row, found);
  };
  if (table.format === 'jsonl') {
    const lines = text.split('\n');
    for (const row of rows) {
      const line = table.rows[row].line;
      if (line !== null) pick(parse(lines[line - 1]), row);
    }
  } else {
    const all = parse(text);
    if (Array.isArray(all)) for (const row of rows) pick(all[table.rows[row].row - 1], row);
  }
  return tokens;
}

function readLabels(file: string, table: Table, goldField: string, predField: string): ClassLabels {
  const read = (row: TableRow, field: string): RawLabel => {
    const value = rowValue(row, field);
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'boolean' || typeof value === 'bigint') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return undefined; // filled from the number's text below
    throw new InputError(`expected a label (a non-empty string, a number or a boolean), got ${value === undefined ? 'nothing' : previewJson(value)}`, rowLocation(file, row, field));
  };
  const gold = table.rows.map((row) => read(row, goldField));
  const pred = table.rows.map((row) => read(row, predField));
  const numeric = table.rows.map((_, i) => i).filter((i) => gold[i] === undefined || pred[i] === undefined);
  const tokens = numberTokens(table, numeric, [goldField, predField]);
  for (const i of numeric) {
    const row = table.rows[i];
    const token = tokens.get(i);
    if (gold[i] === undefined) gold[i] = token?.[goldField] ?? (rowValue(row, goldField) as number);
    if (pred[i] === undefined) pred[i] = token?.[predField] ?? (rowValue(row, predField) as number);
  }
  try {
    return classLabels(gold as ClassLabelValue[], pred as ClassLabelValue[]);
  } catch (error) {
    if (!(error instanceof ClassLabelError)) throw error;
    const row = table.rows[error.index];
    const detail = error.message.replace(/^(gold|pred) label \d+ /, `${error.side} label `).replace(/(gold|pred) label (\d+)/g, (_, side: string, n: string) => `${side} label at ${describe(table.rows[Number(n)])}`);
    throw new InputError(detail, rowLocation(file, row, error.side === 'gold' ? goldField : predField));
  }
}

function describe(row: TableRow): string {
  return row.line !== null ? `line ${row.line}` : `row ${row.row}`;
}

/**
 * `--labels` for numeric labels: each entry is a number, printed as written (`1` or `1.0`, as
 * scikit-learn prints the labels it is given); samples match an entry by value.
 */
function numericLabelOption(labels: string[], read: ClassLabels): { labels: string[]; rename: Map<string, string> } {
  const rename = new Map<string, string>();
  const byValue = new Map(read.labels.map((text) => [Number(text === 'True' ? 1 : text === 'False' ? 0 : text), text]));
  const out = labels.map((entry) => {
    const value = Number(entry);
    if (entry.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--labels: the labels are numbers here, but "${entry}" is not a number`);
    const shown = numberLabelText(value, /[.eE]/.test(entry));
    const seen = byValue.get(value);
    if (seen !== undefined) rename.set(seen, shown);
    return shown;
  });
  return { labels: out, rename };
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    records: { type: 'string' },
    labels: { type: 'string' },
    'gold-field': { type: 'string', default: 'gold' },
    'pred-field': { type: 'string', default: 'pred' },
    digits: { type: 'string' },
    'zero-division': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!options) return 0;
  if (!options.records) throw usageError('--records is required', USAGE);
  const digits = parseDigits(options.digits, 2);
  const zeroDivision = parseZeroDivisionOption(options['zero-division'], 'warn');
  const table = await readTable(options.records);
  if (table.rows.length === 0) throw new InputError('has no records', { file: options.records });
  const read = readLabels(options.records, table, options['gold-field'], options['pred-field']);
  let gold = read.gold;
  let pred = read.pred;
  let labels = read.labels;
  if (options.labels !== undefined) {
    labels = parseList(options.labels, '--labels');
    if (read.kind === 'int' || read.kind === 'float') {
      const numeric = numericLabelOption(labels, read);
      labels = numeric.labels;
      gold = gold.map((label) => numeric.rename.get(label) ?? label);
      pred = pred.map((label) => numeric.rename.get(label) ?? label);
    }
  }

  const warnings: string[] = [];
  const result = scoreClassification(gold, pred, { labels, zeroDivision, warnings });
  if (options.labels !== undefined) {
    const listed = new Set(labels);
    const outside = [...new Set([...gold, ...pred])].filter((label) => !listed.has(label));
    if (outside.length) warnings.push(`labels outside --labels are left out of the per-class rows and the matrix: ${outside.join(', ')}`);
  }
  if (!result.confusionMatrixDefined) warnings.push('no label of --labels occurs in gold: there is no confusion matrix (scikit-learn: "At least one label specified must be in y_true")');
  for (const warning of warnings) console.error(`warning: ${warning}`);

  if (options.json) {
    const out = new OrderedRecord<unknown>([
      ['accuracy', result.accuracy],
      ['report', classificationReportRecord(result)],
      ['confusion_matrix', result.confusionMatrix],
      ['labels', result.labels],
    ]);
    console.log(stringifyMetricsJson(out));
    return 0;
  }
  process.stdout.write(formatClassificationReport(result, digits));
  if (!result.confusionMatrix) {
    process.stdout.write(`\n혼동 행렬 없음: --labels의 어떤 레이블도 정답에 없습니다 (${result.total}개 중 정답 ${result.correct}개).\n`);
    return 0;
  }
  process.stdout.write(`\n혼동 행렬 (행 = 정답, 열 = 예측; ${result.total}개 중 정답 ${result.correct}개)\n\n`);
  process.stdout.write(formatConfusionMatrix(result.labels, result.confusionMatrix) + '\n');
  return 0;
}
