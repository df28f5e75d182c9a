/**
 * Model answers for NER sentences, read from JSONL: one `{"id": <sentence id or 0-based index>,
 * "answer": "<raw model text>"}` per line. Other fields (e.g. `source`) are allowed and ignored.
 * `"answer": null` means the model gave no answer; the sentence is then reported as missing.
 * Blank lines carry no data and are passed over; every other bad line is an `InputError` naming
 * the file, line and field. The file's encoding (UTF-8, or CP949 as Korean Windows tools save it) is
 * detected by lib/data/encoding.ts; a broken byte is an error naming its line, never a silent U+FFFD.
 */
import { readTextFile, type TextEncodingName } from '../data/encoding.js';
import { jsonSyntaxError } from '../data/json-errors.js';
import { InputError } from '../errors.js';

/** A gold sentence: what `readKlueNer` returns satisfies it. */
export interface GoldSentence {
  id: string;
  tokens: readonly string[];
  tags: readonly string[];
  /** The sentence text; `tokens.join('')` when absent. */
  text?: string;
}

/** A gold sentence and the model's answer to it (what lib/diagnosis reads). */
export interface DiagnoseItem {
  sentence: GoldSentence;
  answer?: string | null;
}

export interface AnswerSet<S extends GoldSentence = GoldSentence> {
  /** One item per gold sentence, in gold order; `answer` undefined where the file has none. */
  items: Array<DiagnoseItem & { sentence: S }>;
  /** How many gold sentences got an answer line. */
  answered: number;
  /** Ids of the gold sentences without an answer line (or with `"answer": null`). */
  missing: string[];
}

export interface AnswerReadOptions {
  /** The file name, for error messages. */
  file?: string;
}

export interface AnswerFileOptions {
  /** Skip encoding detection. */
  encoding?: TextEncodingName;
}

/** Matches answer lines to `sentences` by id (string) or index (number). */
export function parseAnswers<S extends GoldSentence>(content: string, sentences: readonly S[], options: AnswerReadOptions = {}): AnswerSet<S> {
  const byId = new Map<string, number>();
  sentences.forEach((sentence, index) => byId.set(sentence.id, index));
  const answers: Array<string | null | undefined> = new Array(sentences.length).fill(undefined);
  const seenOn = new Int32Array(sentences.length); // 1-based line that answered each sentence
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue;
    const where = { file: options.file, line: i + 1 };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const located = jsonSyntaxError(line, error, { file: options.file, firstLine: i + 1 });
      throw new InputError(`${located.detail}; expected {"id": ..., "answer": "..."}`, where);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError('expected an object {"id": <sentence id or index>, "answer": "<model text>"}', where);
    }
    const record = value as Record<string, unknown>;
    const id = Object.prototype.hasOwnProperty.call(record, 'id') ? record.id : undefined;
    let index: number | undefined;
    if (typeof id === 'string') {
      index = byId.get(id);
      if (index === undefined) throw new InputError(`no gold sentence has the id ${JSON.stringify(id)}`, { ...where, field: 'id' });
    } else if (typeof id === 'number') {
      if (!Number.isInteger(id) || id < 0 || id >= sentences.length) {
        throw new InputError(`index ${id} is not a sentence index (0 to ${sentences.length - 1})`, { ...where, field: 'id' });
      }
      index = id;
    } else {
      throw new InputError('missing or not a string / number: give the sentence id or its 0-based index', { ...where, field: 'id' });
    }
    const answer = Object.prototype.hasOwnProperty.call(record, 'answer') ? record.answer : undefined;
    if (typeof answer !== 'string' && answer !== null) {
      throw new InputError('missing or not a string: the raw model answer (null when the model gave none)', { ...where, field: 'answer' });
    }
    if (seenOn[index] !== 0) {
      throw new InputError(`sentence ${sentences[index].id} (index ${index}) already answered on line ${seenOn[index]}`, { ...where, field: 'id' });
    }
    seenOn[index] = i + 1;
    // The cast is for tslab, which compiles lib/ without strictNullChecks and keeps `unknown` here.
    answers[index] = answer as string | null;
  }
  const missing: string[] = [];
  let answered = 0;
  const items = sentences.map((sentence, index) => {
    const answer = answers[index];
    if (answer === undefined || answer === null) missing.push(sentence.id);
    else answered++;
    return { sentence, answer: answer ?? undefined };
  });
  return { items, answered, missing };
}

/** Reads an answers JSONL file; see `parseAnswers`. */
export function readAnswers<S extends GoldSentence>(path: string, sentences: readonly S[], options: AnswerFileOptions = {}): AnswerSet<S> {
  const { text } = readTextFile(path, { encoding: options.encoding, what: 'the answers file' });
  return parseAnswers(text, sentences, { file: path });
}
