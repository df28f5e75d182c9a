/**
 * `hanlab eval ner`: seqeval's classification report (and KLUE's official figures) for predicted
 * tags against KLUE-format gold. A thin shell over lib/metrics; every number comes from there.
 */
import { parseEncodingName, readTextFile, TEXT_ENCODINGS, type TextEncodingName } from '../../lib/data/encoding.js';
import { type KlueSentence, parseKlueNer } from '../../lib/data/klue-ner.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { OrderedRecord, stringifyMetricsJson } from '../../lib/metrics/json.js';
import { klueScores } from '../../lib/metrics/klue.js';
import { formatFixed } from '../../lib/metrics/report-text.js';
import { classificationReport, formatClassificationReport, reportEntries } from '../../lib/metrics/seqeval.js';
import { type ChunkMode, SCHEMES, type Scheme, isScheme } from '../../lib/ner/scheme.js';
import { parseDigits, parseOptions, parseZeroDivisionOption, usageError } from '../options.js';

const USAGE = `Usage: hanlab eval ner --gold <KLUE tsv> --pred <file> [options]

Scores predicted NER tags against KLUE-format gold with seqeval 1.2.2's exact rules.

  --gold FILE            gold tags, KLUE NER TSV (## header, syllable<TAB>tag lines), or JSONL with
                         {"id": "...", "tags": [...]} per line (any tag set, e.g. suffix tags)
  --pred FILE            predicted tags: JSONL with {"tags": [...]} per line in gold order
                         (an optional "id" is checked against gold), or a KLUE NER TSV
                         with the same sentences
  --subset ids           score only the gold sentences the predictions name by "id" (e.g. what
                         \`hanlab align --answered-only --out\` writes), in gold order, and say how many
  --mode default|strict  seqeval chunking (default: default = conlleval rules)
  --scheme NAME          strict-mode scheme: ${SCHEMES.join(', ')} (default: detected from gold)
  --suffix               tags are written type first, e.g. PER-B (seqeval's suffix=True)
  --digits N             decimals in the text report (default: 2)
  --zero-division V      0, 1 or warn (default: warn = 0 with a warning)
  --klue                 also print KLUE's entity-level and character-level macro F1 (x100)
  --encoding NAME        encoding of --gold and --pred: ${TEXT_ENCODINGS.join(', ')}
                         (default: detected; UTF-8 or CP949, broken bytes are an error)
  --json                 print one JSON object: seqeval's output_dict with its key order, plus
                         "klue" with --klue; NaN is written NaN, as Python's json does
  --allow-empty          score zero sentences (an empty report) instead of refusing
  -h, --help             show this help`;

/** A gold sentence: from a KLUE TSV (with syllables) or from JSONL (tags only). */
interface NerSentence {
  id: string;
  tags: string[];
  tokens?: string[];
  line?: number;
}

interface PredFile {
  file: string;
  tags: string[][];
  /** Per line of a JSONL prediction: its optional "id", checked against the gold id. */
  ids?: (string | undefined)[];
  /** Sentence ids and syllables when the prediction is a KLUE TSV (checked against gold). */
  sentences?: KlueSentence[];
}

/** Gold: a KLUE TSV, or JSONL tags (sentence ids default to the 0-based line index). */
function readGold(file: string, encoding: TextEncodingName | undefined): NerSentence[] {
  const content = readText(file, encoding);
  if (isKlueTsv(content)) return parseKlueNer(content, { file });
  return parsePredJsonl(content, file).map((record, index) => ({ id: record.id ?? String(index), tags: record.tags, line: index + 1 }));
}

function isKlueTsv(content: string): boolean {
  return content.slice(0, 4096).replace(/^\uFEFF/, '').trimStart().startsWith('##');
}

function readText(file: string, encoding: TextEncodingName | undefined): string {
  return readTextFile(file, { encoding, what: 'the file' }).text;
}

/** Parses `{"tags": [...]}` lines (an optional `"id"` is kept); every line is one sentence, in gold order. */
export function parsePredJsonl(content: string, file: string): { tags: string[]; id?: string }[] {
  const lines = content.replace(/^\uFEFF/, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the final line end
  return lines.map((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const where = { file, line: i + 1 };
    if (line.trim() === '') throw new InputError('blank line: every line must hold one sentence as {"tags": [...]}', where);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(`not valid JSON (${(error as Error).message})`, where);
    }
    const record = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    const tags = record?.tags;
    if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
      throw new InputError('expected {"tags": [<string>, ...]}', { ...where, field: 'tags' });
    }
    if (record?.id !== undefined && typeof record.id !== 'string') throw new InputError('"id" must be a string', { ...where, field: 'id' });
    return { tags: tags as string[], id: record?.id as string | undefined };
  });
}

function readPred(file: string, encoding: TextEncodingName | undefined): PredFile {
  const content = readText(file, encoding);
  // A KLUE TSV starts with a `##` line; JSONL with `{`.
  if (isKlueTsv(content)) {
    const sentences = parseKlueNer(content, { file });
    return { file, tags: sentences.map((s) => s.tags), sentences };
  }
  const records = parsePredJsonl(content, file);
  return { file, tags: records.map((r) => r.tags), ids: records.map((r) => r.id) };
}

/**
 * The prediction must describe the gold sentences: a KLUE TSV has the same ids and syllables, a
 * JSONL line that carries an "id" has the gold id at that position.
 */
function checkSameSentences(gold: NerSentence[], pred: PredFile): void {
  if (pred.ids) {
    pred.ids.forEach((id, i) => {
      if (id !== undefined && i < gold.length && id !== gold[i].id) {
        throw new InputError(`sentence ${i}: gold id ${gold[i].id} but the prediction has id ${id}`, { file: pred.file, line: i + 1, field: 'id' });
      }
    });
  }
  if (!pred.sentences) return;
  const n = Math.min(gold.length, pred.sentences.length);
  for (let i = 0; i < n; i++) checkSentence(gold[i], pred.sentences[i], pred.file, i);
}

function checkSentence(g: NerSentence, p: KlueSentence, file: string, i: number): void {
  if (g.id !== p.id) {
    throw new InputError(`sentence ${i}: gold id ${g.id} but the prediction has id ${p.id}`, { file, line: p.line, field: 'id' });
  }
  if (g.tokens && g.tokens.length === p.tokens.length) {
    const j = g.tokens.findIndex((token, k) => token !== p.tokens[k]);
    if (j >= 0) {
      throw new InputError(
        `sentence ${i} (id ${g.id}): syllable ${j} is ${JSON.stringify(p.tokens[j])} but gold has ${JSON.stringify(g.tokens[j])}`,
        { file, line: p.line + 1 + j, field: 'syllable' },
      );
    }
  }
}

/**
 * `--subset ids`: the gold sentences the prediction names, in gold order, with their predicted tags.
 * Every prediction needs an id that gold has, once.
 */
function selectSubset(gold: NerSentence[], pred: PredFile): { gold: NerSentence[]; tags: string[][] } {
  const index = new Map(gold.map((sentence, i) => [sentence.id, i]));
  const chosen = new Map<number, string[]>();
  const lineOf = new Map<number, number>();
  pred.tags.forEach((tags, i) => {
    const id = pred.sentences ? pred.sentences[i].id : pred.ids?.[i];
    const line = pred.sentences ? pred.sentences[i].line : i + 1;
    if (id === undefined) throw new InputError('--subset ids needs an "id" on every prediction line', { file: pred.file, line, field: 'id' });
    const at = index.get(id);
    if (at === undefined) throw new InputError(`no gold sentence has the id ${JSON.stringify(id)}`, { file: pred.file, line, field: 'id' });
    if (chosen.has(at)) throw new InputError(`sentence ${id} is predicted twice (first on line ${lineOf.get(at)})`, { file: pred.file, line, field: 'id' });
    if (pred.sentences) checkSentence(gold[at], pred.sentences[i], pred.file, at);
    chosen.set(at, tags);
    lineOf.set(at, line);
  });
  const order = [...chosen.keys()].sort((a, b) => a - b);
  return { gold: order.map((i) => gold[i]), tags: order.map((i) => chosen.get(i)!) };
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    gold: { type: 'string' },
    pred: { type: 'string' },
    subset: { type: 'string' },
    mode: { type: 'string' },
    scheme: { type: 'string' },
    suffix: { type: 'boolean', default: false },
    digits: { type: 'string' },
    'zero-division': { type: 'string' },
    klue: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'allow-empty': { type: 'boolean', default: false },
    encoding: { type: 'string' },
  });
  if (!options) return 0;
  if (!options.gold || !options.pred) throw usageError('--gold and --pred are required', USAGE);
  const mode = (options.mode ?? 'default') as ChunkMode;
  if (mode !== 'default' && mode !== 'strict') throw new UsageError(`--mode must be default or strict, not "${options.mode}"`);
  let scheme: Scheme | undefined;
  if (options.scheme !== undefined) {
    if (!isScheme(options.scheme)) throw new UsageError(`--scheme must be one of ${SCHEMES.join(', ')}, not "${options.scheme}"`);
    if (mode !== 'strict') throw new UsageError('--scheme only applies with --mode strict (the default mode has no scheme)');
    scheme = options.scheme;
  }
  if (options.subset !== undefined && options.subset !== 'ids') throw new UsageError(`--subset must be ids, not "${options.subset}"`);
  if (options.suffix && options.klue) throw new UsageError('--klue scores KLUE tags (B-PS), which are prefix tags; drop --suffix or --klue');
  const digits = parseDigits(options.digits, 2);
  const zeroDivision = parseZeroDivisionOption(options['zero-division'], 'warn');

  const encoding = options.encoding === undefined ? undefined : parseEncodingName(options.encoding);
  const allGold = readGold(options.gold, encoding);
  const pred = readPred(options.pred, encoding);
  let goldSentences = allGold;
  let predTags = pred.tags;
  if (options.subset === 'ids') {
    ({ gold: goldSentences, tags: predTags } = selectSubset(allGold, pred));
  } else {
    if (pred.ids && pred.ids.length < allGold.length && pred.ids.length > 0 && pred.ids.every((id) => id !== undefined)) {
      // Fewer lines than gold, each with an id: most likely a subset (align --answered-only --out).
      throw new InputError(
        `has ${pred.ids.length} predictions for ${allGold.length} gold sentences; to score only the sentences it names, add --subset ids`,
        { file: pred.file },
      );
    }
    checkSameSentences(allGold, pred);
  }
  if (goldSentences.length === 0 && !options['allow-empty']) {
    const where = options.subset === 'ids' ? pred.file : allGold.length === 0 ? options.gold : pred.file;
    throw new InputError('has no sentences to score; nothing to report (pass --allow-empty to print the empty report)', { file: where });
  }
  const gold = goldSentences.map((s) => s.tags);
  const sentenceIds = goldSentences.map((s) => s.id);

  const report = classificationReport(gold, predTags, { mode, scheme, zeroDivision, sentenceIds, suffix: options.suffix });
  const klue = options.klue ? klueScores(gold, predTags, { sentenceIds }) : undefined;
  for (const warning of report.warnings) console.error(`warning: ${warning}`);
  const subsetNote = options.subset === 'ids' ? `${goldSentences.length} of ${allGold.length} gold sentences scored (--subset ids: the sentences ${pred.file} names)` : undefined;
  if (subsetNote && options.json) console.error(`note: ${subsetNote}`);

  if (options.json) {
    const entries: Array<[string, unknown]> = reportEntries(report);
    if (klue) {
      if (report.labels.includes('klue')) throw new InputError('an entity type is named "klue", which clashes with the "klue" key of --json; drop --klue or --json');
      entries.push(['klue', klue]);
    }
    console.log(stringifyMetricsJson(new OrderedRecord(entries)));
    return 0;
  }
  let text = (subsetNote ? subsetNote + '\n\n' : '') + formatClassificationReport(report, digits);
  if (klue) {
    text +=
      `\nKLUE entity-level macro F1 (strict IOB2, x100): ${formatFixed(klue.entity_macro_f1, digits)}` +
      `\nKLUE character-level macro F1 (13 tags incl. O, x100): ${formatFixed(klue.char_macro_f1, digits)}\n`;
  }
  process.stdout.write(text);
  return 0;
}
