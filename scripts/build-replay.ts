/**
 * Rebuilds data/replay/*.jsonl, the model answers study 003 printed, from the study's text:
 *
 *   node --import tsx scripts/build-replay.ts <study 003 text> [KLUE dev tsv] [--out DIR]
 *
 * (the dev file defaults to data/klue-ner/klue-ner-v1.1_dev.tsv, DIR to data/replay).
 *
 * Study 003 prints model answers in three places:
 *   - its debug dump (the F1 = 0 run): "[Input]: <sentence>" / "[Model Output]: <answer>";
 *   - its wrong-case list: "입력: <sentence>" / "모델 생성(JSON): <answer>";
 *   - its "JSON Error: ```json ...```" dump, which prints answers without their sentences.
 * Each answer is matched to one KLUE dev sentence id:
 *   - by the sentence text: equal to the dev sentence's syllables joined, or else equal in
 *     `normalizeForMatch` form (NFKC, lower case, no whitespace; the study's copy of KLUE writes
 *     7.2㎞ where v1.1 writes 7.2km), and only when exactly one dev sentence matches;
 *   - for the "JSON Error" dump: the only dev sentence that contains every listed entity (same
 *     normalisation). An answer that fits several sentences is left out (and named on stderr),
 *     never guessed.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCommandLine, usageError } from '../cli/options.js';
import { readKlueNer, type KlueSentence } from '../lib/data/klue-ner.js';
import { HanlabError, InputError } from '../lib/errors.js';
import { normalizeForMatch } from '../lib/ner/normalize.js';

export const DEFAULT_DEV_FILE = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
export const REPLAY_DIR = 'data/replay';

const USAGE = `Usage: node --import tsx scripts/build-replay.ts <study 003 text> [KLUE dev tsv] [--out DIR]

Rebuilds the replay answers (study003-debug-dump.jsonl, study003-wrong-cases.jsonl,
study003-fenced-answers.jsonl) from the text of study 003.

  KLUE dev tsv   default ${DEFAULT_DEV_FILE}
  --out DIR      where the .jsonl files go (default ${REPLAY_DIR})
  -h, --help     show this help`;

/** One line of a replay file, in the `hanlab align --answers` format. */
export interface ReplayAnswer {
  id: string;
  /** The raw model text, verbatim (fences included). */
  answer: string;
  /** Where in the study it was printed, e.g. `003 wrong-case list, case 4`. */
  source: string;
  matched_by: string;
}

export interface ReplayFile {
  name: string;
  /** The matched answers, in the order the study printed them. */
  answers: ReplayAnswer[];
  /** How many answers the study printed in this place. */
  printed: number;
  /** Why each answer that is not in `answers` was left out. */
  leftOut: string[];
}

/** Finds `marker` in the study text at or after `from`; a missing marker means another text. */
function indexOfMarker(text: string, marker: string, from: number, file: string): number {
  const at = text.indexOf(marker, from);
  if (at < 0) throw new InputError(`no ${JSON.stringify(marker)} after line ${lineAt(text, from)}: is this the text of study 003?`, { file });
  return at;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Dev sentence ids by text and by matching form; only a text with exactly one id identifies a sentence. */
class DevSentences {
  private readonly byText = new Map<string, string[]>();
  private readonly byForm = new Map<string, string[]>();
  readonly forms: string[];

  constructor(readonly sentences: readonly KlueSentence[]) {
    this.forms = sentences.map((sentence) => normalizeForMatch(sentence.text));
    sentences.forEach((sentence, i) => {
      push(this.byText, sentence.text, sentence.id);
      push(this.byForm, this.forms[i], sentence.id);
    });
  }

  /** The id of the printed sentence, and how it matched; or how many dev sentences it fits. */
  match(printed: string): { id: string; how: string } | { fits: number } {
    const exact = this.byText.get(printed) ?? [];
    if (exact.length === 1) return { id: exact[0], how: 'sentence text' };
    const normalised = this.byForm.get(normalizeForMatch(printed)) ?? [];
    if (normalised.length === 1) return { id: normalised[0], how: 'sentence text (NFKC, case and whitespace ignored)' };
    return { fits: normalised.length };
  }
}

function push(map: Map<string, string[]>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}

/** Answers with their printed sentences, matched by sentence text. */
function bySentence(name: string, label: string, items: { sentence: string; answer: string }[], dev: DevSentences): ReplayFile {
  const file: ReplayFile = { name, answers: [], printed: items.length, leftOut: [] };
  items.forEach(({ sentence, answer }, i) => {
    const match = dev.match(sentence);
    if ('id' in match) file.answers.push({ id: match.id, answer, source: `${label} ${i + 1}`, matched_by: match.how });
    else file.leftOut.push(`${label} ${i + 1}: its sentence fits ${match.fits} dev sentences`);
  });
  return file;
}

/** The debug dump: after the "Output:" that precedes its first [Input] (the code above it also says [Input]). */
function debugDump(text: string, file: string, dev: DevSentences): ReplayFile {
  const start = indexOfMarker(text, '[Input]:', indexOfMarker(text, 'Output:\n[Input]:', 0, file), file);
  const dump = text.slice(start, indexOfMarker(text, '...생략...', start, file));
  const items = dump
    .split('='.repeat(50))
    .filter((item) => item.includes('[Input]'))
    .map((item) => {
      const m = /\[Input\]: (.*?)\n\[Model Output\]: (.*?)\n\[True Tags\]:/s.exec(item);
      if (!m) throw new InputError('a debug-dump item without "[Input]: …", "[Model Output]: …" and "[True Tags]:"', { file, line: lineAt(text, start + dump.indexOf(item)) });
      return { sentence: m[1], answer: m[2] };
    });
  return bySentence('study003-debug-dump.jsonl', '003 debug dump (F1 = 0 run), item', items, dev);
}

function wrongCases(text: string, file: string, dev: DevSentences): ReplayFile {
  const start = indexOfMarker(text, '틀린 케이스:', 0, file);
  const cases = text.slice(start, indexOfMarker(text, '```', start, file));
  const items = [...cases.matchAll(/입력: (.*?)\n\n모델 생성\(JSON\): (.*?)\n\n실제 정답/gs)].map((m) => ({ sentence: m[1], answer: m[2] }));
  return bySentence('study003-wrong-cases.jsonl', '003 wrong-case list, case', items, dev);
}

/** The "JSON Error" dump prints no sentences: an answer belongs to the only dev sentence holding every listed entity. */
function fencedAnswers(text: string, file: string, dev: DevSentences): ReplayFile {
  const start = indexOfMarker(text, 'JSON Error: ```json', 0, file);
  const errors = text.slice(start, indexOfMarker(text, '... 생략 ...', start, file));
  const label = '003 "JSON Error" dump, item';
  const result: ReplayFile = { name: 'study003-fenced-answers.jsonl', answers: [], printed: 0, leftOut: [] };
  for (const m of errors.matchAll(/JSON Error: (```json\n.*?\n```)/gs)) {
    const n = ++result.printed;
    const answer = m[1];
    const where = { file, line: lineAt(text, start + m.index!) };
    let listed: unknown;
    try {
      listed = JSON.parse(answer.replaceAll('```json', '').replaceAll('```', ''));
    } catch (error) {
      throw new InputError(`${label} ${n} is not JSON inside its fence (${(error as Error).message})`, where);
    }
    const values = typeof listed === 'object' && listed !== null && !Array.isArray(listed) ? Object.values(listed) : [];
    if (values.length === 0 || !values.every((list) => Array.isArray(list) && list.every((entity) => typeof entity === 'string'))) {
      throw new InputError(`${label} ${n}: expected {"<type>": ["<entity>", ...], ...}`, where);
    }
    const keys = (values as string[][]).flat().map(normalizeForMatch);
    const fits = dev.sentences.filter((_, i) => keys.every((key) => dev.forms[i].includes(key)));
    if (fits.length === 1) {
      result.answers.push({ id: fits[0].id, answer, source: `${label} ${n}`, matched_by: 'listed entities (the only dev sentence holding all of them)' });
    } else {
      result.leftOut.push(`"JSON Error" item ${n} fits ${fits.length} dev sentences`);
    }
  }
  return result;
}

/** The three replay files from the text of study 003 (`file` names it in errors). */
export function buildReplay(studyText: string, sentences: readonly KlueSentence[], file = 'study 003 text'): ReplayFile[] {
  const dev = new DevSentences(sentences);
  return [debugDump(studyText, file, dev), wrongCases(studyText, file, dev), fencedAnswers(studyText, file, dev)];
}

/**
 * One line as Python's `json.dumps(record, ensure_ascii=False)` writes it: the files were first made
 * by Python, and keeping its ", " / ": " separators keeps a rebuild byte-identical. Strings need no
 * care: JSON.stringify escapes exactly what json.dumps does without ensure_ascii (", \, control
 * characters) for any well-formed text.
 */
export function replayLine(record: ReplayAnswer): string {
  const { id, answer, source, matched_by } = record;
  const fields = Object.entries({ id, answer, source, matched_by }).map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  return `{${fields.join(', ')}}\n`;
}

function readStudyText(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read the study text (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { file }, { cause: error });
  }
  // Line ends as Python's text mode read them (the files were first built that way).
  return text.replace(/\r\n?/g, '\n');
}

export function main(argv: string[]): number {
  const parsed = parseCommandLine(argv, USAGE, { out: { type: 'string', default: REPLAY_DIR } });
  if (!parsed) return 0;
  const [studyFile, devFile = DEFAULT_DEV_FILE, ...extra] = parsed.positionals;
  if (studyFile === undefined) throw usageError('give the text of study 003', USAGE);
  if (extra.length) throw usageError(`unexpected arguments: ${extra.join(' ')}`, USAGE);
  const files = buildReplay(readStudyText(studyFile), readKlueNer(devFile), studyFile);
  const outDir = parsed.values.out;
  mkdirSync(outDir, { recursive: true });
  for (const replay of files) {
    for (const reason of replay.leftOut) console.error(`left out: ${reason}`);
    writeFileSync(path.join(outDir, replay.name), replay.answers.map(replayLine).join(''));
    console.log(`${replay.name}: ${replay.answers.length} of ${replay.printed} answers matched`);
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof HanlabError)) throw error;
    console.error(`build-replay: ${error.message}`);
    process.exitCode = 2;
  }
}
