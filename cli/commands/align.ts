/**
 * `hanlab align`: LLM answers → syllable BIO tags with `alignAnswer`, the predicted tags written in
 * the `--pred` format of `hanlab eval ner`, and the diagnosis (the F1 = 0 alarm included) printed.
 * A thin shell over lib/ner; `hanlab explain` shares the loading code below.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseEncodingName, TEXT_ENCODINGS } from '../../lib/data/encoding.js';
import { readKlueNer, type KlueSentence } from '../../lib/data/klue-ner.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { stringifyMetricsJson } from '../../lib/metrics/json.js';
import { KLUE_NER_TAGS } from '../../lib/metrics/klue.js';
import { readAnswers, type AnswerSet } from '../../lib/ner/answers.js';
import { diagnose, type Diagnosis, type DiagnoseOptions } from '../../lib/diagnosis/diagnose.js';
import { formatDiagnosis } from '../../lib/diagnosis/format.js';
import { CONVERTER_STEPS, type ConverterStepName } from '../../lib/ner/seed-converter.js';
import { parseOptions, usageError } from '../options.js';

const CONVERTERS = CONVERTER_STEPS.map((step) => step.name);

export const COMMON_OPTIONS_HELP = `  --gold FILE            gold sentences, KLUE NER TSV
  --answers FILE         JSONL, one {"id": <sentence id or 0-based index>, "answer": "<raw text>"}
                         per line; sentences without a line count as missing (all O)
  --aliases              accept PER/LOC/ORG/DATE/TIME/QTY … as PS/LC/OG/DT/TI/QT (off by default)
  --all-occurrences      place every free occurrence of each listed string, not one per listing
  --answered-only        diagnose only the sentences that have an answer (a sample such as
                         study 003's 100 sentences); --out then writes only those
  --converter NAME       tags from ${CONVERTERS.join(' | ')} (default: align); the
                         others are study 003's json_to_bio versions, for comparison
  --encoding NAME        encoding of --gold and --answers: ${TEXT_ENCODINGS.join(', ')}
                         (default: detected; UTF-8 or CP949, broken bytes are an error)`;

const USAGE = `Usage: hanlab align --gold <KLUE tsv> --answers <answers.jsonl> [options]

Turns LLM answers (JSON of entity strings) into syllable BIO tags and explains where entities went.

${COMMON_OPTIONS_HELP}
  --out FILE             write predicted tags as {"id": "<sentence id>", "tags": [...]} per line, in
                         gold order: every gold sentence, or with --answered-only the answered ones
                         (the --pred format of \`hanlab eval ner\`; score a subset with --subset ids)
  --json                 print the diagnosis as one JSON object instead of text
  -h, --help             show this help`;

export const COMMON_OPTIONS = {
  gold: { type: 'string' },
  answers: { type: 'string' },
  aliases: { type: 'boolean', default: false },
  'all-occurrences': { type: 'boolean', default: false },
  converter: { type: 'string' },
  encoding: { type: 'string' },
  'answered-only': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

export interface LoadedAnswers {
  sentences: KlueSentence[];
  answers: AnswerSet<KlueSentence>;
  diagnosis: Diagnosis;
  /** Tags for every gold sentence, in gold order (all O where there is no answer). */
  predTags: string[][];
  /** The sentences diagnosed (all, or the answered ones with --answered-only), in gold order, with their tags. */
  diagnosed: Array<{ id: string; tags: string[] }>;
}

/** Reads gold and answers and diagnoses them with the chosen converter. */
export function loadDiagnosis(
  values: { gold?: string; answers?: string; aliases?: boolean; 'all-occurrences'?: boolean; 'answered-only'?: boolean; converter?: string; encoding?: string },
  usage: string,
): LoadedAnswers {
  if (!values.gold) throw usageError('--gold is required', usage);
  if (!values.answers) throw usageError('--answers is required', usage);
  const converterName = (values.converter ?? 'align') as ConverterStepName;
  const converter = CONVERTER_STEPS.find((step) => step.name === converterName);
  if (!converter) throw new UsageError(`--converter must be one of ${CONVERTERS.join(', ')}, not "${values.converter}"`);
  const encoding = values.encoding === undefined ? undefined : parseEncodingName(values.encoding);
  const sentences = readKlueNer(values.gold, { encoding });
  const answers = readAnswers(values.answers, sentences, { encoding });
  // An answers file without a single answer line is a wrong file, not a model that said nothing.
  if (answers.answered === 0 && answers.items.length > 0) {
    const why = answers.missing.length === sentences.length && !hasAnswerLines(values.answers) ? 'has no answers' : 'answers no gold sentence (every answer is null)';
    throw new InputError(`${why}; nothing to align${values['answered-only'] ? ' (--answered-only would score 0 sentences)' : ''}`, { file: values.answers });
  }
  const labels = KLUE_NER_TAGS as readonly string[];
  const options: DiagnoseOptions = { aliases: values.aliases ?? false, allOccurrences: values['all-occurrences'] ?? false };
  if (converter.name !== 'align') {
    options.tagger = (tokens, answer) => converter.convert(tokens, answer, labels, options);
    options.taggerName = converter.name;
  }
  const items = values['answered-only'] ? answers.items.filter((item) => item.answer !== undefined) : answers.items;
  const diagnosis = diagnose(items, labels, options);
  const byId = new Map(diagnosis.explanations.map((ex) => [ex.id, ex.predTags]));
  const predTags = sentences.map((sentence) => byId.get(sentence.id) ?? new Array<string>(sentence.tokens.length).fill('O'));
  const diagnosed = diagnosis.explanations.map((ex) => ({ id: ex.id, tags: ex.predTags }));
  return { sentences, answers, diagnosis, predTags, diagnosed };
}

/** Whether the answers file has any non-blank line (an empty file vs a file of null answers). */
function hasAnswerLines(file: string): boolean {
  try {
    return /\S/.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** The diagnosis without the per-sentence explanations (which `hanlab explain` prints). */
export function diagnosisSummary(d: Diagnosis): Record<string, unknown> {
  const { explanations, worst, ...summary } = d;
  return { ...summary, worst: worst.slice(0, 20).map((i) => ({ id: explanations[i].id, errors: explanations[i].errors })) };
}

export async function run(argv: string[]): Promise<number> {
  const values = parseOptions(argv, USAGE, { ...COMMON_OPTIONS, out: { type: 'string' } });
  if (!values) return 0;
  const { diagnosis, diagnosed } = loadDiagnosis(values, USAGE);
  if (values.out) {
    // Ids let \`hanlab eval ner --subset ids\` score exactly these sentences (the F1 printed below).
    const body = diagnosed.map(({ id, tags }) => JSON.stringify({ id, tags })).join('\n') + '\n';
    try {
      writeFileSync(values.out, body);
    } catch (error) {
      throw new InputError(`cannot write the predictions (${(error as { code?: string }).code ?? String(error)})`, { file: values.out });
    }
  }
  if (values.json) console.log(stringifyMetricsJson(diagnosisSummary(diagnosis)));
  else console.log(formatDiagnosis(diagnosis));
  return 0;
}
