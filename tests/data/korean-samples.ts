/**
 * Real Korean text for the encoding tests: KLUE NER sentence blocks (data/klue-ner, CC BY-SA) and NSMC
 * reviews taken from the shipped CP949 file (data/nsmc/ratings_test.cp949.txt), written out in the
 * encodings and line ends users have, and the byte positions that fall inside a multi-byte character.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import iconv from 'iconv-lite';
import { encodeText } from '../../lib/data/encoding.js';

export const KLUE_DEV = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
export const NSMC_CP949 = 'data/nsmc/ratings_test.cp949.txt';

/** The encodings the fuzz and tear tests write. */
export const SAMPLE_ENCODINGS = ['utf-8', 'utf-8-bom', 'cp949'] as const;
export type SampleEncoding = (typeof SAMPLE_ENCODINGS)[number];

function encodableInCp949(text: string): boolean {
  return iconv.decode(iconv.encode(text, 'cp949'), 'cp949') === text;
}

let klueCache: string[] | undefined;

/** KLUE NER sentence blocks (header plus syllable lines, no trailing blank line) that CP949 can encode. */
export function klueBlocks(): string[] {
  klueCache ??= readFileSync(KLUE_DEV, 'utf8')
    .split('\n\n')
    .map((block) => block.replace(/^(##(?! klue-ner).*\n)+/, '')) // the preamble's comment lines
    .filter((block) => block.startsWith('## klue-ner') && encodableInCp949(block));
  return klueCache;
}

let nsmcCache: string[] | undefined;

/** NSMC review lines (`id<TAB>document<TAB>label`) decoded from the real CP949 file, header excluded. */
export function nsmcRows(): string[] {
  nsmcCache ??= iconv.decode(readFileSync(NSMC_CP949), 'cp949').split('\r\n').slice(1);
  return nsmcCache;
}

/** Text as a file in `encoding`, with CRLF line ends when asked. */
export function encodeSample(text: string, encoding: SampleEncoding, crlf = false): Uint8Array {
  return encodeText(crlf ? text.replace(/\n/g, '\r\n') : text, encoding);
}

/** Where a character starts and how many bytes it has, in an encoded sample. */
export interface EncodedChar {
  offset: number;
  length: number;
  /** 1-based line and column (in characters) of the character. */
  line: number;
  column: number;
}

/** Every multi-byte character of `text` encoded as `encoding` (offsets include a BOM). */
export function multibyteChars(text: string, encoding: SampleEncoding): EncodedChar[] {
  const chars: EncodedChar[] = [];
  let offset = encoding === 'utf-8-bom' ? 3 : 0;
  let line = 1;
  let column = 0;
  for (const char of text) {
    const length = encoding === 'cp949' ? iconv.encode(char, 'cp949').length : Buffer.byteLength(char, 'utf8');
    column++;
    if (length > 1) chars.push({ offset, length, line, column });
    if (char === '\n') {
      line++;
      column = 0;
    }
    offset += length;
  }
  return chars;
}

/**
 * A temporary folder removed when the test file ends, and a writer that puts each file in a fresh
 * subfolder under the name given (readers take meaning from names: `doctor-test.csv`, `config.ini`).
 */
export function tempWriter(prefix: string): (name: string, bytes: Uint8Array | string) => string {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  return (name, bytes) => {
    const dir = path.join(root, String(++count));
    mkdirSync(dir);
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
}
