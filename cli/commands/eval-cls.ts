/**
 * `hanlab eval cls`: scikit-learn's classification report and confusion matrix for gold / predicted
 * label pairs. A thin shell over lib/metrics/classification.ts.
 */
import { readTable, rowValue, type TableRow } from '../../lib/data/tabular.js';
import { InputError } from '../../lib/errors.js';
import {
  classificationReportJson,
  compareCodePoints,
  formatClassificationReport,
  formatConfusionMatrix,
  scoreClassification,
} from '../../lib/metrics/classification.js';
import { parseDigits, parseList, parseOptions, parseZeroDivisionOption, rowLocation, usageError } from '../options.js';

const USAGE = `Usage: hanlab eval cls --records FILE [options]

Scores predicted class labels against gold ones exactly as scikit-learn 1.2 does
(classification_report and confusion_matrix).

  --records FILE         one record per line: {"gold": <label>, "pred": <label>}
                         (JSON Lines; a JSON array, CSV, TSV or Parquet with gold/pred columns also works).
                         Labels are strings, or numbers (then sorted numerically by default).
  --labels a,b,c         labels to report and the matrix order (default: sorted union of gold and pred)
  --gold-field NAME      field holding the gold label (default: gold)
  --pred-field NAME      field holding the predicted label (default: pred)
  --digits N             decimals in the text report (default: 2)
  --zero-division V      0, 1 or warn (default: warn = 0 with a warning)
  --json                 print one JSON object: accuracy, report (scikit-learn's output_dict keys),
                         confusion_matrix (rows = gold, columns = prediction, in labels order), labels
  -h, --help             show this help`;

interface LabelColumn {
  values: string[];
  /** Every value was a JSON number (so the default order is numeric, as scikit-learn sorts ints). */
  numeric: boolean;
}

function readLabels(file: string, rows: TableRow[], goldField: string, predField: string): { gold: LabelColumn; pred: LabelColumn } {
  let numbers = 0;
  let strings = 0;
  let firstNumber: TableRow | undefined;
  let firstString: TableRow | undefined;
  const read = (row: TableRow, field: string): string => {
    const value = rowValue(row, field);
    if (typeof value === 'number' && Number.isFinite(value)) {
      numbers++;
      firstNumber ??= row;
      return String(value);
    }
    if (typeof value === 'string' && value !== '') {
      strings++;
      firstString ??= row;
      return value;
    }
    if (typeof value === 'boolean') {
      strings++;
      firstString ??= row;
      return String(value);
    }
    throw new InputError(`expected a label (a non-empty string or a number), got ${value === undefined ? 'nothing' : JSON.stringify(value)}`, rowLocation(file, row, field));
  };
  const gold = rows.map((row) => read(row, goldField));
  const pred = rows.map((row) => read(row, predField));
  if (numbers > 0 && strings > 0) {
    throw new InputError(
      `labels mix numbers (first at ${describe(firstNumber!)}) and strings (first at ${describe(firstString!)}); write them all one way`,
      { file },
    );
  }
  return { gold: { values: gold, numeric: numbers > 0 }, pred: { values: pred, numeric: numbers > 0 } };
}

function describe(row: TableRow): string {
  return row.line !== null ? `line ${row.line}` : `row ${row.row}`;
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
  const { gold, pred } = readLabels(options.records, table.rows, options['gold-field'], options['pred-field']);
  let labels: string[] | undefined;
  if (options.labels !== undefined) labels = parseList(options.labels, '--labels');
  else if (gold.numeric) labels = [...new Set([...gold.values, ...pred.values])].sort((a, b) => Number(a) - Number(b));
  else labels = [...new Set([...gold.values, ...pred.values])].sort(compareCodePoints);

  const warnings: string[] = [];
  const result = scoreClassification(gold.values, pred.values, { labels, zeroDivision, warnings });
  if (options.labels !== undefined) {
    const listed = new Set(labels);
    const outside = [...new Set([...gold.values, ...pred.values])].filter((label) => !listed.has(label));
    if (outside.length) warnings.push(`labels outside --labels are left out of the per-class rows and the matrix: ${outside.join(', ')}`);
  }
  for (const warning of warnings) console.error(`warning: ${warning}`);

  if (options.json) {
    // Written by hand around the report so its keys keep scikit-learn's order (see classificationReportJson).
    console.log(
      `{"accuracy":${JSON.stringify(result.accuracy)},"report":${classificationReportJson(result)},` +
        `"confusion_matrix":${JSON.stringify(result.confusionMatrix)},"labels":${JSON.stringify(result.labels)}}`,
    );
    return 0;
  }
  process.stdout.write(formatClassificationReport(result, digits));
  process.stdout.write(`\n혼동 행렬 (행 = 정답, 열 = 예측; ${result.total}개 중 정답 ${result.correct}개)\n\n`);
  process.stdout.write(formatConfusionMatrix(result.labels, result.confusionMatrix) + '\n');
  return 0;
}
