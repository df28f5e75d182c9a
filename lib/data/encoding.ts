/**
 * Text encodings of Korean data files: detect, decode strictly, and say which one was found. Every text
 * reader of the project (tables, KLUE TSV, config.ini, partitions, model answers, notebooks) decodes
 * through `decodeText` / `readTextFile` (whole files) or `openTextFile` (streams), so a file is read the
 * same way everywhere and no byte is ever replaced by U+FFFD silently.
 *
 * Detection rule (first match wins):
 *   1. A byte-order mark: EF BB BF → `utf-8-bom`; FF FE → `utf-16le`; FE FF → `utf-16be`. The rest must
 *      be valid in that encoding.
 *   2. The bytes are valid UTF-8 → `utf-8`. Pure ASCII is reported as `utf-8` (it is both).
 *   3. Broken UTF-8: the file is not valid UTF-8 but holds at least as many well-formed multi-byte UTF-8
 *      sequences as ill-formed ones → an error naming the first bad byte's line and column. Such a file
 *      is UTF-8 that was cut or damaged, and reading it as CP949 would turn all of it into mojibake.
 *   4. Otherwise the bytes are read as CP949 (Windows code page 949, Unified Hangul Code), the superset
 *      of EUC-KR, if every double-byte pair is an assigned character and at least one of them is a
 *      KS X 1001 Hangul syllable or jamo. If every pair lies in the KS X 1001 rows (lead and trail byte
 *      both 0xA1–0xFE) the file is reported as `euc-kr`, else as `cp949`; both decode the same.
 *   5. Otherwise → an error naming the line and column of the first bad byte (the first byte that is not
 *      CP949 when the file is CP949 apart from it, else the first bad UTF-8 byte).
 *   Whatever the encoding, a NUL character in the text is an error (UTF-16 without a mark, or not text).
 *
 * Why: CP949 Hangul bytes (leads 0x81–0xC8, trails 0x41–0xFE) rarely line up as UTF-8 (a lead
 * 0xC2–0xDF followed by a trail 0x80–0xBF), so CP949 text has several times more ill-formed than
 * well-formed UTF-8 sequences — `scanUtf8` finds 0.08 well-formed per ill-formed one in KLUE NER written
 * as CP949 and 0.18 in NSMC's reviews (ㅋㅋ and ㅜㅜ line up most often) — while a damaged UTF-8 file
 * has thousands of well-formed sequences per bad one. Rule 4's Hangul condition catches the tiny files
 * the count cannot judge: a lone Hangul syllable cut to two bytes (굿 = EA B5 BF → EA B5) is a valid
 * CP949 hanja, never a Hangul syllable. Measured by `scripts/measure-encoding-rule.ts` on NSMC's 50,000
 * test reviews: of every 1- to 3-byte loss inside a character, each review written as a one-line UTF-8
 * file (2.6 million files), none is read as CP949; of the reviews written as one-line CP949 files, 129
 * (0.26%, short ones such as 짱이얌) are refused and 434 (0.87%, such as 짱짱) are valid UTF-8, so rule 2
 * reads them as UTF-8 ('짱짱' is C2 AF C2 AF, the UTF-8 of '¯¯'). With three reviews to a file, none
 * is refused or valid UTF-8. For such tiny files name the encoding (`encoding` here, `--encoding` on the
 * command line): that skips detection, but the bytes must still be valid in the encoding named.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import iconv from 'iconv-lite';
import { InputError, UsageError } from '../errors.js';

/** What a file was found (or told) to be encoded in. */
export type TextEncodingName = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be' | 'euc-kr' | 'cp949';

/** Encodings a caller may force instead of detection. */
export const TEXT_ENCODINGS: readonly TextEncodingName[] = ['utf-8', 'utf-8-bom', 'utf-16le', 'utf-16be', 'euc-kr', 'cp949'];

export interface DecodedText {
  /** The decoded text, without any byte-order mark. */
  text: string;
  encoding: TextEncodingName;
}

export interface DecodeOptions {
  /** Skip detection and decode as this encoding (errors if the bytes are not valid in it). */
  encoding?: TextEncodingName;
  /** Named in error messages. */
  file?: string;
}

/** Where a byte is: 0-based offset in the file, 1-based line, 1-based column in characters of that line. */
export interface TextPosition {
  offset: number;
  line: number;
  column: number;
}

/** The bytes are not text in the encoding found or named. `line` and `column` say where, when known. */
export class TextEncodingError extends InputError {
  /** 1-based column (in characters of the decoded line) of the first bad byte. */
  readonly column?: number;
  /** 0-based byte offset of the first bad byte in the file. */
  readonly offset?: number;

  constructor(detail: string, where: { file?: string; position?: Partial<TextPosition> } = {}) {
    super(detail, { file: where.file, line: where.position?.line });
    this.column = where.position?.column;
    this.offset = where.position?.offset;
  }
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const UTF16LE_BOM = [0xff, 0xfe];
const UTF16BE_BOM = [0xfe, 0xff];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((b, i) => bytes[i] === b);
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
}

/** The encoding a byte-order mark at the start of `head` declares, if any. */
function bomEncoding(head: Uint8Array): TextEncodingName | undefined {
  if (startsWith(head, UTF8_BOM)) return 'utf-8-bom';
  if (startsWith(head, UTF16LE_BOM)) return 'utf-16le';
  if (startsWith(head, UTF16BE_BOM)) return 'utf-16be';
  return undefined;
}

/** True when `bytes` is well-formed UTF-8 (no BOM handling). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Parses an encoding name given by a user (`--encoding`, config): case and `_`/`-` do not matter. */
export function parseEncodingName(value: string, what = '--encoding'): TextEncodingName {
  const name = value.trim().toLowerCase().replace(/_/g, '-');
  const aliases: Record<string, TextEncodingName> = { utf8: 'utf-8', 'utf8-bom': 'utf-8-bom', euckr: 'euc-kr', 'ks-c-5601-1987': 'euc-kr', 'windows-949': 'cp949', uhc: 'cp949' };
  const found = (TEXT_ENCODINGS as readonly string[]).includes(name) ? (name as TextEncodingName) : aliases[name];
  if (found === undefined) throw new UsageError(`${what} must be one of ${TEXT_ENCODINGS.join(', ')}, not "${value}"`);
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Evidence: byte-level scanners. Hand-written because TextDecoder and iconv-lite say neither where a
// bad byte is nor how much of the text is well-formed, and both are needed for the rule above.

/** A first bad byte (or sequence) and its position. */
interface BadBytes extends TextPosition {
  bytes: number[];
  /** The byte that broke an unfinished sequence (undefined at the end of the file or for a lone byte). */
  next?: number;
}

/** What `scanUtf8` found. */
export interface Utf8Scan {
  /** Well-formed sequences of 2–4 bytes. */
  multibyte: number;
  /** Ill-formed sequences (maximal subparts, as a lenient decoder replaces each by one U+FFFD). */
  invalid: number;
  /** The first ill-formed sequence. */
  firstInvalid?: TextPosition & { bytes: number[]; next?: number };
}

/** Where a byte scanner is: byte offset, line, and characters before the current byte on its line. */
abstract class ByteScanner {
  protected offset = 0;
  protected line = 1;
  protected column = 0;

  /** Moves past an ASCII byte. */
  protected ascii(b: number): void {
    if (b === 0x0a) {
      this.line++;
      this.column = 0;
    } else this.column++;
  }
}

/** Incremental UTF-8 well-formedness scanner (Unicode's "maximal subpart" rule, table 3-7). */
class Utf8Scanner extends ByteScanner implements Utf8Scan {
  multibyte = 0;
  invalid = 0;
  firstInvalid?: BadBytes;
  /** Continuation bytes still needed by the open sequence, and the range the next one must be in. */
  private need = 0;
  private low = 0x80;
  private high = 0xbf;
  private sequence: number[] = [];
  private sequenceOffset = 0;
  private sequenceColumn = 0;

  push(chunk: Uint8Array): void {
    let i = 0;
    if (this.offset === 0 && startsWith(chunk, UTF8_BOM)) {
      // A byte-order mark is not text: it neither counts as a character nor moves the column.
      i = UTF8_BOM.length;
      this.offset = UTF8_BOM.length;
    }
    for (; i < chunk.length; i++, this.offset++) {
      const b = chunk[i];
      if (this.need > 0) {
        if (b >= this.low && b <= this.high) {
          this.sequence.push(b);
          this.low = 0x80;
          this.high = 0xbf;
          if (--this.need === 0) {
            this.multibyte++;
            this.column++;
          }
          continue;
        }
        this.bad(b); // the open sequence is ill-formed; `b` starts afresh
      }
      if (b < 0x80) {
        this.ascii(b);
        continue;
      }
      this.sequence = [b];
      this.sequenceOffset = this.offset;
      this.sequenceColumn = this.column;
      if (b >= 0xc2 && b <= 0xdf) this.need = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        this.need = 2;
        if (b === 0xe0) this.low = 0xa0; // no overlong forms
        if (b === 0xed) this.high = 0x9f; // no surrogates
      } else if (b >= 0xf0 && b <= 0xf4) {
        this.need = 3;
        if (b === 0xf0) this.low = 0x90;
        if (b === 0xf4) this.high = 0x8f; // nothing above U+10FFFF
      } else this.bad();
    }
  }

  end(): void {
    if (this.need > 0) this.bad();
  }

  private bad(next?: number): void {
    this.invalid++;
    if (this.firstInvalid === undefined) {
      this.firstInvalid = { offset: this.sequenceOffset, line: this.line, column: this.sequenceColumn + 1, bytes: this.sequence, next };
    }
    this.need = 0;
    this.low = 0x80;
    this.high = 0xbf;
    this.column++;
  }
}

/** Counts well-formed and ill-formed UTF-8 sequences of `bytes` and finds the first bad one. */
export function scanUtf8(bytes: Uint8Array): Utf8Scan {
  const scanner = new Utf8Scanner();
  scanner.push(bytes);
  scanner.end();
  const { multibyte, invalid, firstInvalid } = scanner;
  return { multibyte, invalid, firstInvalid };
}

let cp949Assigned: Uint8Array | undefined;

/**
 * 1 at `(lead - 0x80) * 256 + trail` for every assigned CP949 double-byte character. Built once from
 * iconv-lite's own table (each pair followed by a line feed, which is never a trail byte and so keeps
 * the pairs apart), so the check agrees with the decoder exactly.
 */
function assignedPairs(): Uint8Array {
  if (cp949Assigned) return cp949Assigned;
  const pairs: number[] = [];
  for (let lead = 0x81; lead <= 0xfe; lead++) for (let trail = 0x41; trail <= 0xfe; trail++) pairs.push(lead, trail, 0x0a);
  const decoded = iconv.decode(Buffer.from(pairs), 'cp949').split('\n');
  const table = new Uint8Array(128 * 256);
  let k = 0;
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x41; trail <= 0xfe; trail++, k++) {
      const char = decoded[k];
      if (char.length === 1 && char !== '\uFFFD') table[(lead - 0x80) * 256 + trail] = 1;
    }
  }
  cp949Assigned = table;
  return table;
}

/** Incremental CP949 scanner: stops at the first byte that is not part of an assigned character. */
class Cp949Scanner extends ByteScanner {
  /** Some pair is outside KS X 1001 (the UHC extension): `cp949` rather than `euc-kr`. */
  extended = false;
  /** Pairs that are KS X 1001 Hangul: syllables (rows 0xB0–0xC8) or compatibility jamo (row 0xA4). */
  hangul = 0;
  firstBad?: BadBytes & { reason: string };
  private readonly assigned = assignedPairs();
  private lead = -1;

  push(chunk: Uint8Array): void {
    if (this.firstBad) return;
    for (let i = 0; i < chunk.length; i++, this.offset++) {
      const b = chunk[i];
      if (this.lead >= 0) {
        const lead = this.lead;
        this.lead = -1;
        if (b >= 0x41 && this.assigned[(lead - 0x80) * 256 + b] === 1) {
          if (lead < 0xa1 || b < 0xa1) this.extended = true;
          else if ((lead >= 0xb0 && lead <= 0xc8) || lead === 0xa4) this.hangul++;
          this.column++;
          continue;
        }
        const reason = b >= 0x41 ? 'is not an assigned CP949 character' : 'is a lead byte without its second byte';
        this.fail(this.offset - 1, b >= 0x41 ? [lead, b] : [lead], reason);
        return;
      }
      if (b < 0x80) this.ascii(b);
      else if (b === 0x80 || b === 0xff) {
        this.fail(this.offset, [b], 'cannot start a CP949 character');
        return;
      } else this.lead = b;
    }
  }

  end(): void {
    if (this.lead >= 0 && !this.firstBad) this.fail(this.offset - 1, [this.lead], 'is a lead byte at the end of the file, without its second byte');
  }

  private fail(offset: number, bytes: number[], reason: string): void {
    this.firstBad = { offset, line: this.line, column: this.column + 1, bytes, reason };
  }
}

/** Both scanners over the same bytes, and the rule at the top of this module as a verdict. */
class EncodingEvidence {
  private readonly utf8 = new Utf8Scanner();
  private readonly cp949 = new Cp949Scanner();

  push(chunk: Uint8Array): void {
    this.utf8.push(chunk);
    this.cp949.push(chunk);
  }

  /** The encoding by rules 2–5, or a TextEncodingError. */
  verdict(file: string | undefined): TextEncodingName {
    const { utf8, cp949 } = this;
    utf8.end();
    cp949.end();
    if (utf8.invalid === 0) return 'utf-8';
    const first = utf8.firstInvalid as BadBytes;
    if (utf8.multibyte >= utf8.invalid) {
      throw new TextEncodingError(
        `broken UTF-8 at column ${first.column}: ${describeUtf8Bad(first)}; ${utf8.invalid} bad and ${utf8.multibyte} good multi-byte ` +
          'sequences, so the file is damaged UTF-8, not CP949: repair or re-export it, or name its encoding if it is not UTF-8',
        { file, position: first },
      );
    }
    if (cp949.firstBad) {
      const bad = cp949.firstBad;
      throw new TextEncodingError(
        `not UTF-8 and not CP949/EUC-KR: at column ${bad.column}, ${hex(bad.bytes)} ${bad.reason}; convert the file to UTF-8 or name its encoding`,
        { file, position: bad },
      );
    }
    if (cp949.hangul === 0) {
      throw new TextEncodingError(
        `not UTF-8 (at column ${first.column}, ${describeUtf8Bad(first)}), and read as CP949 it holds no Hangul, so it is not Korean ` +
          'CP949 text either: repair the file, or name its encoding',
        { file, position: first },
      );
    }
    return cp949.extended ? 'cp949' : 'euc-kr';
  }
}

function describeUtf8Bad({ bytes, next }: BadBytes): string {
  const lead = bytes[0];
  if (lead >= 0x80 && lead <= 0xbf) return `byte ${hex(bytes)} continues no character`;
  if (lead < 0xc2 || lead > 0xf4) return `byte ${hex(bytes)} never occurs in UTF-8`;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  const after = next === undefined ? 'the file ends' : `${hex([next])} follows`;
  return `the ${length}-byte character ${hex(bytes)} is cut short (${after})`;
}

/**
 * A NUL character is an error in any encoding: no text format we read has one, and UTF-16 without a
 * byte-order mark (or a binary file) looks like text full of them.
 */
function checkNoNul(text: string, file: string | undefined): void {
  const at = text.indexOf('\0');
  if (at < 0) return;
  const before = text.slice(0, at);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.length - before.replace(/\n/g, '').length + 1;
  const column = [...before.slice(lineStart)].length + 1;
  throw new TextEncodingError(`NUL character at column ${column}: not a text file, or UTF-16 without a byte-order mark (save it as UTF-8)`, {
    file,
    position: { line, column },
  });
}

/** Detect the encoding of `bytes` by the rule at the top of this module (a TextEncodingError when none fits). */
export function detectEncoding(bytes: Uint8Array, file?: string): TextEncodingName {
  const bom = bomEncoding(bytes);
  if (bom !== undefined) return bom;
  if (isValidUtf8(bytes)) return 'utf-8';
  const evidence = new EncodingEvidence();
  evidence.push(bytes);
  return evidence.verdict(file);
}

/** Checks that `bytes` (BOM included) are valid in `encoding`, throwing at the first bad byte. */
function checkEncoded(bytes: Uint8Array, encoding: TextEncodingName, file: string | undefined): void {
  switch (encoding) {
    case 'utf-8':
    case 'utf-8-bom': {
      if (isValidUtf8(bytes)) return;
      const scan = scanUtf8(bytes);
      const first = scan.firstInvalid as BadBytes;
      throw new TextEncodingError(`not valid UTF-8 at column ${first.column}: ${describeUtf8Bad(first)}; ${scan.invalid} bad sequence(s) in all`, {
        file,
        position: first,
      });
    }
    case 'euc-kr':
    case 'cp949': {
      const scanner = new Cp949Scanner();
      scanner.push(bytes);
      scanner.end();
      const bad = scanner.firstBad;
      if (bad) throw new TextEncodingError(`not valid ${encoding.toUpperCase()} at column ${bad.column}: ${hex(bad.bytes)} ${bad.reason}`, { file, position: bad });
      return;
    }
    case 'utf-16le':
    case 'utf-16be': {
      try {
        new TextDecoder(encoding, { fatal: true }).decode(bytes);
      } catch {
        const lenient = new TextDecoder(encoding).decode(bytes);
        const at = lenient.indexOf('\uFFFD');
        const line = at < 0 ? undefined : lenient.slice(0, at).split('\n').length;
        throw new TextEncodingError(`not valid ${encoding.toUpperCase()} (an unpaired surrogate or an odd number of bytes)`, { file, position: { line } });
      }
      return;
    }
    default: {
      const never: never = encoding;
      throw new UsageError(`unknown encoding '${String(never)}' (use one of ${TEXT_ENCODINGS.join(', ')})`);
    }
  }
}

/** A strict decoder for one encoding, fed chunk by chunk; it strips a leading byte-order mark. */
interface ChunkDecoder {
  write(chunk: Uint8Array): string;
  end(): string;
}

function chunkDecoder(encoding: TextEncodingName): ChunkDecoder {
  switch (encoding) {
    case 'utf-8':
    case 'utf-8-bom':
    case 'utf-16le':
    case 'utf-16be': {
      const label = encoding === 'utf-8-bom' ? 'utf-8' : encoding;
      const decoder = new TextDecoder(label, { fatal: true, ignoreBOM: false });
      return { write: (chunk) => decoder.decode(chunk, { stream: true }), end: () => decoder.decode() };
    }
    case 'euc-kr':
    case 'cp949': {
      // Only used on bytes that Cp949Scanner accepted, so iconv-lite's replacement characters never appear.
      const decoder = iconv.getDecoder('cp949');
      return { write: (chunk) => decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)), end: () => decoder.end() ?? '' };
    }
    default: {
      const never: never = encoding;
      throw new UsageError(`unknown encoding '${String(never)}' (use one of ${TEXT_ENCODINGS.join(', ')})`);
    }
  }
}

/** Decode `bytes` to text, detecting the encoding unless one is given; never lenient. */
export function decodeText(bytes: Uint8Array, options: DecodeOptions = {}): DecodedText {
  const { file } = options;
  const declared = options.encoding ?? bomEncoding(bytes);
  let encoding: TextEncodingName;
  let text: string | undefined;
  if (declared !== undefined) {
    encoding = declared;
    checkEncoded(bytes, encoding, file);
  } else {
    // Rule 2, the common case, decoded once; rules 3–5 check what they accept.
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      encoding = 'utf-8';
    } catch {
      encoding = detectEncoding(bytes, file);
    }
  }
  if (text === undefined) {
    const decoder = chunkDecoder(encoding);
    text = decoder.write(bytes) + decoder.end();
  }
  checkNoNul(text, file);
  return { text, encoding };
}

export interface ReadTextOptions extends Omit<DecodeOptions, 'file'> {
  /** What the file is, for the error when it cannot be read: `cannot read <what> (ENOENT)`. Default `file`. */
  what?: string;
}

function cannotRead(file: string, error: unknown, what = 'file'): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputError(`cannot read ${what} (${code ?? (error as Error).message})`, { file }, { cause: error });
}

/** Read a text file, detecting its encoding; see the rule at the top of this module. */
export function readTextFile(file: string, options: ReadTextOptions = {}): DecodedText {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw cannotRead(file, error, options.what);
  }
  return decodeText(bytes, { encoding: options.encoding, file });
}

// ---------------------------------------------------------------------------------------------------
// Streams: the same rule, in two passes over the file (memory bounded by one chunk): the first decides
// the encoding (or finds the first bad byte), the second decodes. So a stream yields nothing from a file
// that decodeText would refuse, and the same text from one it accepts.

async function* fileChunks(file: string, what?: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(file);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    throw cannotRead(file, error, what);
  } finally {
    stream.destroy();
  }
}

async function readHead(file: string, length: number, what?: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
    const buffer = new Uint8Array(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } catch (error) {
    throw cannotRead(file, error, what);
  } finally {
    await handle?.close();
  }
}

/** True when the file decodes in `encoding` without an error and without a NUL character. */
async function decodesCleanly(file: string, encoding: TextEncodingName, what?: string): Promise<boolean> {
  if (encoding === 'euc-kr' || encoding === 'cp949') {
    const scanner = new Cp949Scanner();
    for await (const chunk of fileChunks(file, what)) {
      if (chunk.indexOf(0) >= 0) return false;
      scanner.push(chunk);
    }
    scanner.end();
    return scanner.firstBad === undefined;
  }
  const decoder = chunkDecoder(encoding);
  try {
    for await (const chunk of fileChunks(file, what)) if (decoder.write(chunk).includes('\0')) return false;
    return !decoder.end().includes('\0');
  } catch (error) {
    if (error instanceof InputError) throw error;
    return false;
  }
}

/**
 * The first pass over a file: its encoding (detected by the rule at the top of this module, or the one
 * named), checked to the end. Any problem is thrown by reading the file whole with `readTextFile`,
 * which names the line and column: only a broken file costs the memory of holding it.
 */
async function settleFileEncoding(file: string, named: TextEncodingName | undefined, what?: string): Promise<TextEncodingName> {
  const declared = named ?? bomEncoding(await readHead(file, 3, what));
  let settled: TextEncodingName | undefined;
  if (declared !== undefined) settled = (await decodesCleanly(file, declared, what)) ? declared : undefined;
  else if (await decodesCleanly(file, 'utf-8', what)) settled = 'utf-8';
  else {
    const evidence = new EncodingEvidence();
    let nul = false;
    for await (const chunk of fileChunks(file, what)) {
      evidence.push(chunk);
      nul ||= chunk.indexOf(0) >= 0;
    }
    const verdict = evidence.verdict(file);
    settled = nul ? undefined : verdict;
  }
  if (settled !== undefined) return settled;
  readTextFile(file, { encoding: named, what });
  throw new TextEncodingError('changed while being read', { file });
}

export interface TextStream {
  encoding: TextEncodingName;
  /** The decoded text in chunks (a chunk may end anywhere, even inside a line; never inside a character). */
  chunks: AsyncGenerator<string>;
}

/**
 * Opens a text file for streaming: detects (or checks) its encoding in a first pass, then decodes it
 * chunk by chunk. Errors name the file and, for bad bytes, the line and column.
 */
export async function openTextFile(file: string, options: ReadTextOptions = {}): Promise<TextStream> {
  const encoding = await settleFileEncoding(file, options.encoding, options.what);
  async function* chunks(): AsyncGenerator<string> {
    const decoder = chunkDecoder(encoding);
    try {
      for await (const chunk of fileChunks(file, options.what)) {
        const text = decoder.write(chunk);
        if (text !== '') yield text;
      }
      const rest = decoder.end();
      if (rest !== '') yield rest;
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new TextEncodingError(`changed while being read: it is no longer valid ${encoding.toUpperCase()}`, { file });
    }
  }
  return { encoding, chunks: chunks() };
}

/** Encode text (for tests and for writing files Korean Windows tools can open). */
export function encodeText(text: string, encoding: TextEncodingName): Uint8Array {
  switch (encoding) {
    case 'utf-8':
      return new TextEncoder().encode(text);
    case 'utf-8-bom': {
      const body = new TextEncoder().encode(text);
      const bytes = new Uint8Array(body.length + UTF8_BOM.length);
      bytes.set(UTF8_BOM);
      bytes.set(body, UTF8_BOM.length);
      return bytes;
    }
    case 'utf-16le':
    case 'utf-16be':
      return iconv.encode(text, encoding, { addBOM: true });
    case 'euc-kr':
    case 'cp949':
      return iconv.encode(text, 'cp949');
    default: {
      const never: never = encoding;
      throw new Error(`unknown encoding ${String(never)}`);
    }
  }
}
