/**
 * `hanlab eval spans`: exact-match span NER (study 000) — TP / FP / FN, precision, recall and F1 per
 * label and micro, and base vs fine-tuned with Delta. A thin shell over lib/metrics/spans.ts.
 */
import { readKbmc } from '../../lib/data/kbmc.js';
import { readTable, rowValue } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { previewJson, stringifyMetricsJson } from '../../lib/metrics/json.js';
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
  --gold FILE        take gold documents from a JSON Lines file instead, one per line:
                       {"id": "3", "text": "…", "entities": [{"label": …, "start": …, "end": …}]}
                     ("gold" works as well as "entities"); then every record needs only its
                     predicted spans, in "pred" or "entities", and is paired with the gold document
                     of its "id" (by line when there are no ids), as data/study-000 ships them
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

interface GoldSet {
  documents: GoldDocument[];
  /** Pair predictions by their "id" (a --gold file whose documents all have ids) rather than by line. */
  byId: boolean;
}

export async function readSpanDocuments(file: string, goldSet?: GoldSet): Promise<Array<SpanDocument & { line: number | null }>> {
  const table = await readTable(file, { format: 'jsonl' });
  if (table.rows.length === 0) throw new InputError('has no records', { file });
  let gold = goldSet?.documents;
  if (goldSet?.byId) {
    // Pair by id: every prediction names a gold document, each once, and every document is predicted.
    const index = new Map(goldSet.documents.map((doc, i) => [doc.id!, i]));
    const seen = new Map<number, number>();
    gold = table.rows.map((row) => {
      const id = rowValue(row, 'id');
      const at = typeof id === 'string' || typeof id === 'number' ? index.get(String(id)) : undefined;
      const where = rowLocation(file, row, 'id');
      if (at === undefined) throw new InputError(id === undefined ? 'needs an "id" naming its gold document' : `no gold document has the id ${JSON.stringify(String(id))}`, where);
      if (seen.has(at)) throw new InputError(`document ${String(id)} is predicted twice (first at line ${seen.get(at)})`, where);
      seen.set(at, row.line ?? row.row);
      return goldSet.documents[at];
    });
    if (seen.size !== goldSet.documents.length) {
      const missing = goldSet.documents.filter((_, i) => !seen.has(i)).map((doc) => doc.id);
      throw new InputError(`has no prediction for ${missing.length} gold document(s), e.g. ${missing.slice(0, 3).join(', ')}; score every gold document`, { file });
    }
  } else if (gold && table.rows.length !== gold.length) {
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
    if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
      throw new InputError(`expected a string or number, got ${previewJson(id)}`, where('id'));
    }
    return {
      line: row.line,
      id: id === undefined || id === null ? paired?.id : String(id),
      gold: paired ? paired.gold : checkSpans(get('gold'), where('gold'), text as string | undefined),
      // With gold from --gold / --kbmc, a record's own spans may be called "entities" (study 000's files).
      pred: paired && get('pred') === undefined && get('entities') !== undefined ? checkSpans(get('entities'), where('entities'), text as string | undefined) : checkSpans(get('pred'), where('pred'), text as string | undefined),
    };
  });
}

/** Gold documents from a JSON Lines file: "id", optional "text", spans in "entities" or "gold". */
async function readGoldDocuments(file: string): Promise<GoldSet> {
  const table = await readTable(file, { format: 'jsonl' });
  if (table.rows.length === 0) throw new InputError('has no records', { file });
  const seen = new Map<string, number>();
  const documents = table.rows.map((row) => {
    const get = (field: string) => rowValue(row, field);
    const text = get('text');
    if (text !== undefined && typeof text !== 'string') throw new InputError('expected a string', rowLocation(file, row, 'text'));
    const field = get('entities') !== undefined ? 'entities' : 'gold';
    const at = rowLocation(file, row, field);
    const spans = checkSpans(get(field), { file: at.file, line: at.line, field }, text as string | undefined);
    const id = get('id');
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') throw new InputError(`expected a string or number, got ${previewJson(id)}`, rowLocation(file, row, 'id'));
    if (id !== undefined) {
      if (seen.has(String(id))) throw new InputError(`document ${String(id)} appears twice (first at line ${seen.get(String(id))})`, rowLocation(file, row, 'id'));
      seen.set(String(id), row.line ?? row.row);
    }
    return { id: id === undefined ? undefined : String(id), text: text as string | undefined, gold: spans };
  });
  return { documents, byId: documents.every((doc) => doc.id !== undefined) };
}

async function readGoldKbmc(file: string): Promise<GoldSet> {
  const dataset = await readKbmc(file);
  return { documents: dataset.sentences.map((sentence) => ({ id: String(sentence.source.row), text: sentence.sentence, gold: sentence.spans })), byId: false };
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
    gold: { type: 'string' },
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
  if (options.kbmc && options.gold) throw new UsageError('give gold either as --gold or as --kbmc, not both');
  const gold = options.kbmc ? await readGoldKbmc(options.kbmc) : options.gold ? await readGoldDocuments(options.gold) : undefined;
  if ('records' in input) {
    const evaluation = scoreSpans(await readSpanDocuments(input.records, gold), { labels, zeroDivision });
    if (options.json) {
      console.log(stringifyMetricsJson(evaluationJson(evaluation)));
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
    console.log(stringifyMetricsJson({ micro: comparison.micro, perLabel: comparison.perLabel, base: evaluationJson(base), tuned: evaluationJson(tuned) }));
    return 0;
  }
  const out = [formatSpanComparison(comparison.micro, { digits }), ''];
  for (const { label, rows } of comparison.perLabel) out.push(`### ${label}`, '', formatSpanComparison(rows, { digits }), '');
  out.push('### 베이스라인', '', formatSpanEvaluation(base, digits), '', '### 파인튜닝 후', '', formatSpanEvaluation(tuned, digits), '');
  process.stdout.write(out.join('\n'));
  return 0;
}
