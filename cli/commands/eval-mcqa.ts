/**
 * `hanlab eval mcqa`: multiple-choice answers (study 002) — the chosen option read from free text,
 * accuracy per subset and overall, and base vs fine-tuned with a paired bootstrap CI. A thin shell
 * over lib/metrics/mcqa.ts.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { MCQA_SUBSETS, mcqaFileRole, parseMcqaAnswer, readKorMedMcqaFile, type McqaQuestion, type McqaSubset } from '../../lib/data/kormedmcqa.js';
import { readTable, rowValue, type TableRow } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { previewJson, stringifyMetricsJson } from '../../lib/metrics/json.js';
import {
  compareMcqa,
  formatMcqaComparison,
  formatMcqaScore,
  scoreMcqa,
  unextractableItems,
  type McqaRecord,
  type McqaScore,
  type ScoreMcqaOptions,
} from '../../lib/metrics/mcqa.js';
import { parseIntegerOption, parseList, parseNumberOption, parseOptions, parseRecordsOrPair, rowLocation } from '../options.js';

const USAGE = `Usage: hanlab eval mcqa --records FILE [options]
       hanlab eval mcqa --base FILE --tuned FILE [options]

Scores multiple-choice answers (KorMedMCQA, study 002).

  --records FILE       one model's answers, JSON Lines, one question per line:
                         {"id": "doctor-17", "subset": "doctor", "gold": "C",
                          "answer": "<raw model output>", "options": {"A": "...", ..., "E": "..."}}
                       "gold" is a letter A-E or 1-5 (1 = A). "id", "subset" and "options" are
                       optional; "options" lets a full option text count as the answer. This is
                       what \`hanlab generate --data <mcqa csv>\` writes.
  --base FILE          answers of the base model (same format) ...
  --tuned FILE         ... and of the fine-tuned model: paired by (subset, id), by line when ids are absent
  --questions PATH     KorMedMCQA questions (CSV or Parquet with question, A-E, answer), a file or a
                       folder of <subset>.csv files. Then answers need no "gold": answer line i is
                       question i of its subset's file, and --records / --base / --tuned may be
                       folders of <subset>.jsonl files (as data/study-002 ships them)
  --subset-order LIST  subset order, e.g. doctor,nurse,dentist,pharm (default: first appearance)
  --subset-sizes LIST  weights for the size-weighted overall figure, e.g. doctor=435,nurse=878
                       (default: the questions evaluated per subset, which makes it equal to micro)
  --resamples N        bootstrap resamples for the CI of the difference (default 10000)
  --seed N             bootstrap seed (default 42)
  --confidence X       CI level (default 0.95)
  --show-failures N    unextractable answers listed (default 20)
  --json               print the result as JSON
  -h, --help           show this help

Overall accuracy: micro = correct / all questions; size-weighted = subset accuracies weighted by
subset size; macro = unweighted mean of subset accuracies. Unextractable answers count as wrong.
A question (subset, id) answered twice in one file is an error, not counted twice.`;

const LETTERS = ['A', 'B', 'C', 'D', 'E'];

/** The questions an answers file is paired with, line by line (from --questions). */
interface QuestionSource {
  file: string;
  questions: McqaQuestion[];
}

export async function readMcqaRecords(file: string, questions?: QuestionSource): Promise<McqaRecord[]> {
  const table = await readTable(file);
  if (table.rows.length === 0) throw new InputError('has no records', { file });
  if (questions && table.rows.length !== questions.questions.length) {
    throw new InputError(`has ${table.rows.length} answers for the ${questions.questions.length} questions of ${questions.file}; answer line i must answer question i`, { file });
  }
  const firstLine = new Map<string, TableRow>();
  return table.rows.map((row, index) => {
    const get = (field: string) => rowValue(row, field);
    const question = questions?.questions[index];
    const gold = get('gold') === undefined && question ? question.answer : parseMcqaAnswer(get('gold'));
    if (gold === null) throw new InputError(`gold must be a letter A-E or 1-5, got ${previewJson(get('gold') ?? null)}`, rowLocation(file, row, 'gold'));
    if (question && gold !== question.answer) {
      throw new InputError(`gold is ${gold} but question ${index + 1} of ${questions!.file} has the answer ${question.answer}`, rowLocation(file, row, 'gold'));
    }
    const answer = get('answer');
    if (typeof answer !== 'string') throw new InputError(`expected the raw model answer as a string, got ${previewJson(answer ?? null)}`, rowLocation(file, row, 'answer'));
    const record: McqaRecord = { gold, answer };
    const subset = get('subset');
    if (subset !== undefined && subset !== null) {
      if (typeof subset !== 'string' || subset === '') throw new InputError(`expected a non-empty string, got ${previewJson(subset)}`, rowLocation(file, row, 'subset'));
      if (question && subset !== question.subset) throw new InputError(`subset is ${subset} but ${questions!.file} holds ${question.subset} questions`, rowLocation(file, row, 'subset'));
      record.subset = subset;
    } else if (question) {
      record.subset = question.subset;
    }
    const id = get('id');
    if (id !== undefined && id !== null) {
      if (typeof id !== 'string' && typeof id !== 'number') throw new InputError(`expected a string or number, got ${previewJson(id)}`, rowLocation(file, row, 'id'));
      record.id = String(id);
      // One question answered twice would count twice in every figure.
      const key = `${record.subset ?? ''}\u0000${record.id}`;
      const first = firstLine.get(key);
      if (first) {
        throw new InputError(
          `question ${JSON.stringify(record.id)}${record.subset ? ` of subset ${record.subset}` : ''} is answered twice (first at ${first.line !== null ? `line ${first.line}` : `row ${first.row}`}); keep one answer per question`,
          rowLocation(file, row, 'id'),
        );
      }
      firstLine.set(key, row);
    } else {
      record.id = question ? `${question.subset}-${index + 1}` : `line ${row.line ?? row.row}`;
    }
    const options = get('options');
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object' || Array.isArray(options)) throw new InputError('expected {"A": "...", ..., "E": "..."}', rowLocation(file, row, 'options'));
      const texts = Object.create(null) as Record<string, string>;
      for (const [letter, text] of Object.entries(options as Record<string, unknown>)) {
        if (!LETTERS.includes(letter) || typeof text !== 'string') {
          throw new InputError(`option keys must be A-E with text values, got ${previewJson(letter)}`, rowLocation(file, row, 'options'));
        }
        texts[letter] = text;
      }
      record.options = texts;
    } else if (question) {
      record.options = { ...question.options };
    }
    return record;
  });
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch (error) {
    throw new InputError(`cannot read: ${(error as Error).message}`, { file }, { cause: error });
  }
}

/** Data files of a folder, with the subset their names say, in KorMedMCQA's subset order. */
function subsetFiles(dir: string, extensions: RegExp): Array<{ file: string; subset: McqaSubset }> {
  const files = readdirSync(dir)
    .filter((name) => extensions.test(name))
    .map((name) => path.join(dir, name))
    .map((file) => ({ file, subset: mcqaFileRole(file).subset }));
  const named = files.filter((f): f is { file: string; subset: McqaSubset } => f.subset !== null);
  if (named.length === 0) throw new InputError(`has no ${extensions.source} file named after a subset (${MCQA_SUBSETS.join(', ')})`, { file: dir });
  return named.sort((a, b) => MCQA_SUBSETS.indexOf(a.subset) - MCQA_SUBSETS.indexOf(b.subset));
}

/**
 * One model's answers: a file, or with --questions a folder of <subset>.jsonl files, each paired line by
 * line with its subset's question file.
 */
async function readAnswers(answers: string, questionsPath: string | undefined): Promise<McqaRecord[]> {
  if (questionsPath === undefined) {
    if (isDirectory(answers)) throw new UsageError(`${answers} is a folder: answers in <subset>.jsonl files need --questions (the questions they answer, line by line)`);
    return readMcqaRecords(answers);
  }
  const questionFiles = isDirectory(questionsPath) ? subsetFiles(questionsPath, /\.(csv|tsv|parquet)$/i) : [{ file: questionsPath, subset: mcqaFileRole(questionsPath).subset }];
  const answerFiles = isDirectory(answers) ? subsetFiles(answers, /\.jsonl?$/i) : [{ file: answers, subset: mcqaFileRole(answers).subset ?? questionFiles[0].subset }];
  const records: McqaRecord[] = [];
  for (const { file, subset } of answerFiles) {
    const source = questionFiles.length === 1 && !isDirectory(questionsPath) ? questionFiles[0] : questionFiles.find((q) => q.subset === subset);
    if (!source) throw new InputError(`answers the ${subset} subset, but ${questionsPath} has no ${subset} question file`, { file });
    const questions = await readKorMedMcqaFile(source.file, source.subset ? { subset: source.subset } : {});
    records.push(...(await readMcqaRecords(file, { file: source.file, questions })));
  }
  return records;
}

function parseSizes(text: string): Record<string, number> {
  const sizes = Object.create(null) as Record<string, number>;
  for (const part of parseList(text, '--subset-sizes')) {
    const match = /^([^=]+)=(\d+)$/.exec(part);
    if (!match || Number(match[2]) < 1) throw new UsageError(`--subset-sizes: expected SUBSET=SIZE, not "${part}"`);
    sizes[match[1].trim()] = Number(match[2]);
  }
  return sizes;
}

function failureLines(label: string, score: McqaScore, limit: number): string {
  const failures = unextractableItems(score);
  if (failures.length === 0) return `${label}: 추출 실패 없음\n`;
  const rows = failures.slice(0, limit).map((item) => {
    const flat = item.answer.replace(/\s+/g, ' ').trim();
    const excerpt = [...flat].length > 60 ? [...flat].slice(0, 60).join('') + '…' : flat;
    return `| ${item.subset} | ${item.id} | ${item.extraction.failure} | ${excerpt.replace(/\|/g, '\\|') || '(빈 답변)'} |`;
  });
  const more = failures.length > limit ? `\n… 외 ${failures.length - limit}건` : '';
  return `${label}: 추출 실패 ${failures.length}건\n\n| 데이터셋 | id | 이유 | 답변 |\n|---|---|---|---|\n${rows.join('\n')}${more}\n`;
}

function scoreJson(score: McqaScore) {
  return {
    subsets: score.subsets,
    overall: score.overall,
    methods: score.methods,
    unextractable: unextractableItems(score).map((item) => ({ id: item.id, subset: item.subset, failure: item.extraction.failure, detail: item.extraction.detail, answer: item.answer })),
  };
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    records: { type: 'string' },
    base: { type: 'string' },
    tuned: { type: 'string' },
    'subset-order': { type: 'string' },
    'subset-sizes': { type: 'string' },
    resamples: { type: 'string' },
    seed: { type: 'string' },
    confidence: { type: 'string' },
    'show-failures': { type: 'string' },
    questions: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!options) return 0;
  const input = parseRecordsOrPair(options, USAGE);
  const scoreOptions: ScoreMcqaOptions = {
    subsetOrder: options['subset-order'] ? parseList(options['subset-order'], '--subset-order') : undefined,
    subsetSizes: options['subset-sizes'] ? parseSizes(options['subset-sizes']) : undefined,
  };
  const showFailures = parseIntegerOption(options['show-failures'], '--show-failures', 20, { min: 0 });

  if ('records' in input) {
    const score = scoreMcqa(await readAnswers(input.records, options.questions), scoreOptions);
    if (options.json) {
      console.log(stringifyMetricsJson(scoreJson(score)));
      return 0;
    }
    process.stdout.write(formatMcqaScore(score) + '\n\n' + failureLines('답변', score, showFailures));
    return 0;
  }

  const confidence = parseNumberOption(options.confidence, '--confidence', 0.95, (value) => value > 0 && value < 1, 'between 0 and 1');
  const base = scoreMcqa(await readAnswers(input.base, options.questions), scoreOptions);
  const tuned = scoreMcqa(await readAnswers(input.tuned, options.questions), scoreOptions);
  const comparison = compareMcqa(base, tuned, {
    resamples: parseIntegerOption(options.resamples, '--resamples', 10_000, { min: 1 }),
    seed: parseIntegerOption(options.seed, '--seed', 42, { min: 0 }),
    confidence,
  });
  if (options.json) {
    const { subsets, micro, sizeWeighted, macro } = comparison;
    console.log(stringifyMetricsJson({ subsets, micro, sizeWeighted, macro, base: scoreJson(base), tuned: scoreJson(tuned) }));
    return 0;
  }
  process.stdout.write(
    formatMcqaComparison(comparison) + '\n\n' + failureLines('베이스 모델', base, showFailures) + '\n' + failureLines('파인튜닝 모델', tuned, showFailures),
  );
  return 0;
}
