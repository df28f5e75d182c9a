/**
 * Reader for the KLUE NER TSV format:
 *
 * ```
 * ## klue-ner-v1_dev_00000-wikitree<TAB><경찰:OG>은 또 ...      <- header: sentence id, tagged sentence
 * 경<TAB>B-OG                                                     <- one syllable per line
 * 찰<TAB>I-OG
 *  <TAB>O                                                         <- a space is a token of its own
 * (blank line between sentences)
 * ```
 * KLUE's files open with a few `##` comment lines (separator notes); `##` lines before a sentence's
 * header are comments. CRLF line ends and a byte-order mark are accepted; the file's encoding (UTF-8 or
 * CP949/EUC-KR) is detected by lib/data/encoding.ts, which refuses broken bytes with their line and
 * column instead of decoding them leniently. Anything else that is off — a
 * syllable line without a tab, an unknown tag, a type outside the given label set, a header without
 * syllables — is an InputError naming the file, the line and the field; nothing is skipped silently.
 */
import { InputError } from '../errors.js';
import { openTextFile, readTextFile, type TextEncodingName } from './encoding.js';

export interface KlueSentence {
  /** Sentence id from the `##` header, e.g. `klue-ner-v1_dev_00000-wikitree`. */
  id: string;
  /** The tagged sentence from the `##` line, e.g. `<경찰:OG>은 또 ...`. */
  annotated: string;
  /** The original text: `tokens.join('')`. */
  text: string;
  /** One syllable (or space) per token. */
  tokens: string[];
  /** One BIO tag per token. */
  tags: string[];
  /** 1-based line of the `##` header. */
  line: number;
}

export interface KlueReadOptions {
  /** File name for error messages. */
  file?: string;
  /**
   * Allowed entity types, e.g. `['PS', 'LC', 'OG', 'DT', 'TI', 'QT']`. Full tag values (`'B-PS'`,
   * `'O'`) are accepted too and reduced to their types. Without it any `B-`/`I-` type is accepted.
   */
  labels?: readonly string[];
  /** Skip encoding detection (the file readers only). */
  encoding?: TextEncodingName;
}

const TAG_PATTERN = /^(?:O|[BI]-(.+))$/;

function allowedTypes(labels: readonly string[] | undefined): Set<string> | undefined {
  if (!labels) return undefined;
  const types = new Set<string>();
  for (const label of labels) {
    if (label === 'O') continue;
    const m = /^[BI]-(.+)$/.exec(label);
    types.add(m ? m[1] : label);
  }
  return types;
}

/**
 * Line-by-line state machine shared by the whole-file and streaming readers. Feed lines without
 * their line ends; `push` returns a sentence when a blank line (or a new header) completes one.
 */
class KlueNerParser {
  private readonly file?: string;
  private readonly types?: Set<string>;
  private readonly typeList?: string;
  private header: { text: string; line: number } | undefined;
  private tokens: string[] = [];
  private tags: string[] = [];
  private lineNo = 0;
  /** Tags already checked, mapped to one shared string each (fewer strings, faster comparisons later). */
  private readonly knownTags = new Map<string, string>();

  constructor(opts: KlueReadOptions) {
    this.file = opts.file;
    this.types = allowedTypes(opts.labels);
    this.typeList = this.types ? [...this.types].join(', ') : undefined;
  }

  private fail(detail: string, line: number, field: string): never {
    throw new InputError(detail, { file: this.file, line, field });
  }

  push(rawLine: string): KlueSentence | undefined {
    this.lineNo++;
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (this.lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line === '') return this.finish();
    if (line.startsWith('##')) {
      // A header after syllables without a blank line still starts a new sentence.
      const done = this.tokens.length > 0 ? this.finish() : undefined;
      this.header = { text: line, line: this.lineNo }; // an earlier `##` line without syllables was a comment
      return done;
    }
    if (!this.header) {
      this.fail('syllable line before any "## <id>\\t<tagged sentence>" header', this.lineNo, 'header');
    }
    const tab = line.indexOf('\t');
    if (tab < 0) this.fail(`missing tab between syllable and tag in ${JSON.stringify(line)}`, this.lineNo, 'tag');
    const token = line.slice(0, tab);
    let tag = line.slice(tab + 1);
    if (token === '') this.fail('empty syllable before the tab', this.lineNo, 'syllable');
    const known = this.knownTags.get(tag);
    if (known !== undefined) tag = known;
    else {
      const m = TAG_PATTERN.exec(tag);
      if (!m) this.fail(`unknown tag ${JSON.stringify(tag)} (expected O, B-<type> or I-<type>)`, this.lineNo, 'tag');
      if (m[1] !== undefined && this.types && !this.types.has(m[1])) {
        this.fail(`tag ${JSON.stringify(tag)}: type ${JSON.stringify(m[1])} is not in the label set (${this.typeList})`, this.lineNo, 'tag');
      }
      this.knownTags.set(tag, tag);
    }
    this.tokens.push(token);
    this.tags.push(tag);
    return undefined;
  }

  /** Completes the pending sentence, if any (call at a blank line and at the end of input). */
  finish(): KlueSentence | undefined {
    const header = this.header;
    if (!header) return undefined;
    if (this.tokens.length === 0) {
      // `##` lines followed by a blank line are comments only (KLUE's preamble) when they carry no id.
      const parsed = /^##\s*([^\t]*)\t/.exec(header.text);
      if (parsed && parsed[1].trim() !== '' && /^\S+$/.test(parsed[1].trim())) {
        this.fail(`sentence ${JSON.stringify(parsed[1].trim())} has no syllable lines`, header.line, 'syllables');
      }
      this.header = undefined;
      return undefined;
    }
    const tab = header.text.indexOf('\t');
    if (tab < 0) this.fail('header has no tab between the sentence id and the tagged sentence', header.line, 'id');
    const id = header.text.slice(2, tab).trim();
    if (id === '') this.fail('header has an empty sentence id', header.line, 'id');
    const sentence: KlueSentence = {
      id,
      annotated: header.text.slice(tab + 1),
      text: this.tokens.join(''),
      tokens: this.tokens,
      tags: this.tags,
      line: header.line,
    };
    this.header = undefined;
    this.tokens = [];
    this.tags = [];
    return sentence;
  }
}

/** Parses a whole KLUE NER file's text. */
export function parseKlueNer(content: string, opts: KlueReadOptions = {}): KlueSentence[] {
  const parser = new KlueNerParser(opts);
  const sentences: KlueSentence[] = [];
  let start = 0;
  for (;;) {
    const end = content.indexOf('\n', start);
    const line = end < 0 ? content.slice(start) : content.slice(start, end);
    if (end >= 0 || line !== '') {
      const sentence = parser.push(line);
      if (sentence) sentences.push(sentence);
    }
    if (end < 0) break;
    start = end + 1;
  }
  const last = parser.finish();
  if (last) sentences.push(last);
  return sentences;
}

/** Reads a KLUE NER file synchronously. */
export function readKlueNer(path: string, opts: KlueReadOptions = {}): KlueSentence[] {
  const { text } = readTextFile(path, { encoding: opts.encoding, what: 'the file' });
  return parseKlueNer(text, { file: path, ...opts });
}

/**
 * Streams a KLUE NER file sentence by sentence (memory bounded by one sentence plus one chunk). The
 * encoding is settled in a first pass over the file, so a file the whole-file reader refuses yields nothing.
 */
export async function* streamKlueNer(path: string, opts: KlueReadOptions = {}): AsyncGenerator<KlueSentence> {
  const parser = new KlueNerParser({ file: path, ...opts });
  const { chunks } = await openTextFile(path, { encoding: opts.encoding, what: 'the file' });
  let rest = '';
  for await (const chunk of chunks) {
    const text = rest + chunk;
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      const sentence = parser.push(text.slice(start, end));
      if (sentence) yield sentence;
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') {
    const sentence = parser.push(rest);
    if (sentence) yield sentence;
  }
  const last = parser.finish();
  if (last) yield last;
}

/** The tag sequences of some sentences (for the metrics). */
export function tagsOf(sentences: readonly KlueSentence[]): string[][] {
  return sentences.map((s) => s.tags);
}

/** Tag names in a stable order: `O` first, then by entity type, `B-` before `I-`. */
export function collectTags<S extends { readonly tags: readonly string[] }>(sentences: Iterable<S>): string[] {
  const found = new Set<string>(['O']);
  for (const sentence of sentences) for (const tag of sentence.tags) found.add(tag);
  const key = (tag: string) => (tag === 'O' ? '' : `${tag.slice(2)}\u0000${tag.slice(0, 2)}`);
  return [...found].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
