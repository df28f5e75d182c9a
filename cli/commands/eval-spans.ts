/**
 * `hanlab eval spans`: exact-match span NER (study 000) — TP / FP / FN, precision, recall and F1 per
 * label and micro, and base vs fine-tuned with Delta. A thin shell over lib/metrics/spans.ts.
 */
import { readKbmc } from '../../lib/data/kbmc.js';
import { readTable, rowValue } from '../../lib/data/tabular.js';
import { InputError } from '../../lib/errors.js';
import { checkSpans, compareSpanScores, formatSpanComparison, formatSpanEvaluation, scoreSpans, type SpanDocument, type SpanEvaluation } from '../../lib/metrics/spans.js';
import { parseDigits, parseList, parseOptions, parseRecordsOrPair, parseZeroDivisionOption, rowLocation } from '../options.js';

const USAGE = `Usage: hanlab eval spans --records FILE [options]
       hanlab eval spans --base FILE --tuned FILE [options]

Scores predicted entity spans against gold ones by exact match of (label, start, end) (study 000).

  --records FILE     JSON Lines, one document per line:
                       {"id": "3", "text": "전신 적 다한증 은 …",
                        "gold": [{"label": "Disease", "start": 0, "end": 8}],
                        "pred": [{"label": "Disease", "start": 0, "end": 8, "text": "전신 적 다한증"}]}
                     Offsets are characters (UTF-16 units), end exclusive. "id" and "text" are
                     optional; with "text", offsets must lie inside it and a span's "text" must equal
                     text.slice(start, end).
  --kbmc FILE        take gold spans from a KBMC TSV (Sentence, Tags) instead: then every record needs
                     only "pred", one line per sentence in the same order
  --base FILE        predictions of the base model ...
  --tuned FILE       ... and of the fine-tuned one (same format, same documents): prints the Delta table
  --labels LIST      labels to report, e.g. Disease,Body,Treatment (default: sorted labels seen)
  --digits N         decimals (default 4)
  --zero-division V  0 or 1 for 0/0 precision or recall (default 0)
  --json             print the result as JSON
  -h, --help         show this help`;

interface GoldDocument {
  id?: string;
  text?: string;
  gold: SpanDocument['gold'];
}

export async function readSpanDocuments(file: string, gold?: readonly GoldDocument[]): Promise<Array<SpanDocument & { line: number | null }>> {
  const table = await readTable(file, { format: 'jsonl' });
  if (gold && table.rows.length !== gold.length) {
    throw new InputError(`has ${table.rows.length} records but the gold file has ${gold.length} sentences; they must pair line by line`, { file });
  }
  return table.rows.map((row, index) => {
    const get = (field: string) => rowValue(row, field);
    const where = (field: string) => {
      const at = rowLocation(file, row, field);
      return { file: at.file, line: at.line, field };
    };
    let text = get('text');
    if (text !== undefined && typeof text !== 'string') throw new InputError('expected a string', where('text'));
    const paired = gold?.[index];
    if (paired?.text !== undefined) {
      if (text !== undefined && text !== paired.text) throw new InputError(`text differs from gold sentence ${index + 1}: ${JSON.stringify(paired.text)}`, where('text'));
      text = paired.text;
    }
    const id = get('id');
    return {
      line: row.line,
      id: id === undefined || id === null ? paired?.id : String(id),
      gold: paired ? paired.gold : checkSpans(get('gold'), where('gold'), text as string | undefined),
      pred: checkSpans(get('pred'), where('pred'), text as string | undefined),
    };
  });
}

async function readGoldKbmc(file: string): Promise<GoldDocument[]> {
  const dataset = await readKbmc(file);
  return dataset.sentences.map((sentence) => ({ id: String(sentence.source.row), text: sentence.sentence, gold: sentence.spans }));
}

function evaluationJson(evaluation: SpanEvaluation) {
  return { labels: evaluation.labels, documents: evaluation.documents, perLabel: evaluation.perLabel, micro: evaluation.micro };
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    records: { type: 'string' },
    base: { type: 'string' },
    tuned: { type: 'string' },
    kbmc: { type: 'string' },
    labels: { type: 'string' },
    digits: { type: 'string' },
    'zero-division': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!options) return 0;
  const input = parseRecordsOrPair(options, USAGE);
  const digits = parseDigits(options.digits, 4);
  const zeroDivision = parseZeroDivisionOption(options['zero-division'], 0);
  const labels = options.labels ? parseList(options.labels, '--labels') : undefined;
  const gold = options.kbmc ? await readGoldKbmc(options.kbmc) : undefined;
  if ('records' in input) {
    const evaluation = scoreSpans(await readSpanDocuments(input.records, gold), { labels, zeroDivision });
    if (options.json) {
      console.log(JSON.stringify(evaluationJson(evaluation)));
      return 0;
    }
    process.stdout.write(formatSpanEvaluation(evaluation, digits) + '\n');
    return 0;
  }
  const baseDocuments = await readSpanDocuments(input.base, gold);
  const tunedDocuments = await readSpanDocuments(input.tuned, gold);
  if (baseDocuments.length !== tunedDocuments.length) {
    throw new InputError(`has ${tunedDocuments.length} documents but ${input.base} has ${baseDocuments.length}; both must score the same documents`, { file: input.tuned });
  }
  baseDocuments.forEach((document, i) => {
    const key = (spans: SpanDocument['gold']) => JSON.stringify(spans.map((s) => [s.label, s.start, s.end]).sort());
    if (key(document.gold) !== key(tunedDocuments[i].gold)) {
      throw new InputError(`gold spans differ from ${input.base} on the same line; both must score the same gold`, { file: input.tuned, line: tunedDocuments[i].line ?? undefined, field: 'gold' });
    }
  });
  const base = scoreSpans(baseDocuments, { labels, zeroDivision });
  const tuned = scoreSpans(tunedDocuments, { labels, zeroDivision });
  const comparison = compareSpanScores(base, tuned);
  if (options.json) {
    console.log(JSON.stringify({ micro: comparison.micro, perLabel: comparison.perLabel, base: evaluationJson(base), tuned: evaluationJson(tuned) }));
    return 0;
  }
  const out = [formatSpanComparison(comparison.micro, { digits }), ''];
  for (const { label, rows } of comparison.perLabel) out.push(`### ${label}`, '', formatSpanComparison(rows, { digits }), '');
  out.push('### 베이스라인', '', formatSpanEvaluation(base, digits), '', '### 파인튜닝 후', '', formatSpanEvaluation(tuned, digits), '');
  process.stdout.write(out.join('\n'));
  return 0;
}
