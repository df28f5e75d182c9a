/**
 * Text encodings of Korean data files: detect, decode, and say which one was found.
 *
 * Detection rule (in this order, first match wins):
 *   1. A byte-order mark: EF BB BF → `utf-8-bom`; FF FE → `utf-16le`; FE FF → `utf-16be`.
 *   2. The bytes are valid UTF-8 (checked by the platform's fatal TextDecoder) → `utf-8`.
 *      Pure ASCII is reported as `utf-8` (it is both).
 *   3. Otherwise the bytes are read as CP949 (Windows code page 949, Unified Hangul Code), the
 *      superset of EUC-KR. If every double-byte pair lies in the KS X 1001 rows (lead and trail
 *      byte both 0xA1–0xFE) the file is reported as `euc-kr`, else as `cp949`; both decode the same.
 *   4. Bytes that are neither valid UTF-8 nor mapped CP949 → `TextEncodingError` naming the line.
 *
 * Why UTF-8 first: valid UTF-8 is very unlikely to be accidental for Korean text of any length, while
 * almost any byte soup is *structurally* CP949. The price: a very short CP949 text can happen to be
 * valid UTF-8 (the CP949 bytes of '킹', C5 A1, are also the UTF-8 of 'š') and is then read as UTF-8.
 * Pass `encoding` explicitly to override detection for such files.
 */
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { InputError } from '../errors.js';

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

/** The bytes are not text in any encoding we read. */
export class TextEncodingError extends InputError {}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  return prefix.every((b, i) => bytes[i] === b);
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

/**
 * Classify double-byte Korean text: 'euc-kr' when every pair is in the KS X 1001 area, 'cp949' when
 * some pair uses the UHC extension, or the byte offset of the first byte that cannot start or finish a
 * CP949 character. Hand-written because iconv-lite decodes both but does not say which subset was used.
 */
function classifyCp949(bytes: Uint8Array): { kind: 'euc-kr' | 'cp949' } | { badOffset: number } {
  let extended = false;
  for (let i = 0; i < bytes.length; i++) {
    const lead = bytes[i];
    if (lead < 0x80) continue;
    if (lead === 0x80 || lead === 0xff) return { badOffset: i };
    const trail = bytes[i + 1];
    if (trail === undefined) return { badOffset: i };
    const trailOk = (trail >= 0x41 && trail <= 0x5a) || (trail >= 0x61 && trail <= 0x7a) || (trail >= 0x81 && trail <= 0xfe);
    if (!trailOk) return { badOffset: i };
    if (!(lead >= 0xa1 && trail >= 0xa1)) extended = true;
    i++;
  }
  return { kind: extended ? 'cp949' : 'euc-kr' };
}

function lineAtByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

function lineAtChar(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 0x0a) line++;
  return line;
}

/** Detect the encoding of `bytes` by the rule at the top of this module. */
export function detectEncoding(bytes: Uint8Array, file?: string): TextEncodingName {
  if (startsWith(bytes, UTF8_BOM)) return 'utf-8-bom';
  if (startsWith(bytes, [0xff, 0xfe])) return 'utf-16le';
  if (startsWith(bytes, [0xfe, 0xff])) return 'utf-16be';
  if (isValidUtf8(bytes)) return 'utf-8';
  const cp = classifyCp949(bytes);
  if ('badOffset' in cp) {
    throw new TextEncodingError(
      `not UTF-8 and not CP949/EUC-KR (byte 0x${bytes[cp.badOffset].toString(16).padStart(2, '0')} at offset ${cp.badOffset}); ` +
        'convert the file to UTF-8 or pass the encoding explicitly',
      { file, line: lineAtByte(bytes, cp.badOffset) },
    );
  }
  return cp.kind;
}

/** Decode `bytes` to text, detecting the encoding unless one is given. */
export function decodeText(bytes: Uint8Array, options: DecodeOptions = {}): DecodedText {
  const { file } = options;
  const encoding = options.encoding ?? detectEncoding(bytes, file);
  switch (encoding) {
    case 'utf-8':
    case 'utf-8-bom': {
      const body = startsWith(bytes, UTF8_BOM) ? bytes.subarray(3) : bytes;
      try {
        return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body), encoding };
      } catch {
        throw new TextEncodingError(`not valid UTF-8 (try encoding 'cp949')`, { file });
      }
    }
    case 'utf-16le':
    case 'utf-16be': {
      // iconv-lite strips the BOM by default.
      return { text: iconv.decode(bytes, encoding), encoding };
    }
    case 'euc-kr':
    case 'cp949': {
      const text = iconv.decode(bytes, 'cp949');
      const bad = text.indexOf('\uFFFD');
      // CP949 maps nothing to U+FFFD, so a replacement character means an unmapped byte sequence.
      if (bad >= 0) {
        throw new TextEncodingError(`bytes that are not a ${encoding.toUpperCase()} character`, { file, line: lineAtChar(text, bad) });
      }
      return { text, encoding };
    }
    default: {
      const never: never = encoding;
      throw new TextEncodingError(`unknown encoding '${String(never)}' (use one of ${TEXT_ENCODINGS.join(', ')})`, { file });
    }
  }
}

/** Read a text file, detecting its encoding. */
export function readTextFile(file: string, options: Omit<DecodeOptions, 'file'> = {}): DecodedText {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new InputError(`cannot read file: ${(error as Error).message}`, { file }, { cause: error });
  }
  return decodeText(bytes, { ...options, file });
}

/** Encode text (for tests and for writing files Korean Windows tools can open). */
export function encodeText(text: string, encoding: TextEncodingName): Uint8Array {
  switch (encoding) {
    case 'utf-8':
      return new TextEncoder().encode(text);
    case 'utf-8-bom':
      return Uint8Array.from([...UTF8_BOM, ...new TextEncoder().encode(text)]);
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
