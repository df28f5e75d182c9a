import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import {
  decodeText,
  detectEncoding,
  encodeText,
  isValidUtf8,
  openTextFile,
  parseEncodingName,
  readTextFile,
  scanUtf8,
  TextEncodingError,
  type TextEncodingName,
} from '../../lib/data/encoding.js';
import { InputError } from '../../lib/errors.js';

const NSMC_UTF8 = 'data/nsmc/ratings_test.txt';
const NSMC_CP949 = 'data/nsmc/ratings_test.cp949.txt';

/** The 2,350 Hangul syllables of KS X 1001 (EUC-KR rows 0xB0–0xC8). */
const KS_X_1001_SYLLABLES: string[] = [];
for (let lead = 0xb0; lead <= 0xc8; lead++) {
  for (let trail = 0xa1; trail <= 0xfe; trail++) KS_X_1001_SYLLABLES.push(iconv.decode(Buffer.from([lead, trail]), 'cp949'));
}

/** Hangul syllables U+AC00–U+D7A3 (all 11,172 are in CP949). */
const hangulSyllable = fc.integer({ min: 0xac00, max: 0xd7a3 }).map((code) => String.fromCharCode(code));
/** Text as Korean reviews look: syllables, jamo, ASCII letters, digits, punctuation, spaces. */
const koreanText = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: hangulSyllable },
      { weight: 1, arbitrary: fc.constantFrom('ㅋ', 'ㅎ', 'ㅠ', 'ㅜ', 'ㄷ') },
      { weight: 2, arbitrary: fc.constantFrom(' ', '.', ',', '!', '?', '~', '^', '\n', 'a', 'Z', '0', '9', '"') },
    ),
    { minLength: 1, maxLength: 80 },
  )
  .map((chars) => chars.join(''));

describe('detectEncoding / decodeText', () => {
  test('the real NSMC CP949 file is detected as CP949 and decodes to the UTF-8 file, line for line', () => {
    const cp949 = readTextFile(NSMC_CP949);
    const utf8 = readTextFile(NSMC_UTF8);
    assert.equal(cp949.encoding, 'cp949');
    assert.equal(utf8.encoding, 'utf-8');
    const cpLines = cp949.text.split('\r\n');
    const utfLines = utf8.text.split('\n');
    assert.equal(cpLines.length, 50_001); // the header and 50,000 reviews, no final line break
    assert.equal(cpLines[50_000], '6070594\t마무리는 또 왜이래\t0');
    assert.deepEqual(cpLines, utfLines);
    // 똠 is outside KS X 1001, so this file needs the UHC extension, i.e. it is CP949, not EUC-KR.
    assert.equal(detectEncoding(iconv.encode('똠방각하', 'cp949')), 'cp949');
    assert.equal(detectEncoding(iconv.encode('한국어 영화 리뷰', 'cp949')), 'euc-kr');
  });

  test('byte-order marks decide first, and are removed from the text', () => {
    const text = '가나다 abc';
    for (const encoding of ['utf-8-bom', 'utf-16le', 'utf-16be'] as const) {
      const bytes = encodeText(text, encoding);
      assert.equal(detectEncoding(bytes), encoding);
      assert.deepEqual(decodeText(bytes), { text, encoding });
    }
    assert.deepEqual(decodeText(new TextEncoder().encode('plain ascii')), { text: 'plain ascii', encoding: 'utf-8' });
  });

  test('a short CP949 text that is also valid UTF-8 is read as UTF-8 (the documented ambiguity); forcing the encoding fixes it', () => {
    const bytes = Uint8Array.from([0xc5, 0xa1]);
    assert.equal(isValidUtf8(bytes), true);
    assert.deepEqual(decodeText(bytes), { text: 'š', encoding: 'utf-8' });
    const forced = decodeText(bytes, { encoding: 'cp949' });
    assert.equal(forced.encoding, 'cp949');
    assert.deepEqual(Uint8Array.from(iconv.encode(forced.text, 'cp949')), bytes);
    assert.match(forced.text, /^[\uac00-\ud7a3]$/);
  });

  test('bytes that are neither UTF-8 nor CP949 are an error naming the file and line', () => {
    const bytes = Uint8Array.from([...new TextEncoder().encode('id\ttext\n1\tok\n2\t'), 0xff, 0x41, 0x0a]);
    assert.throws(
      () => decodeText(bytes, { file: 'reviews.tsv' }),
      (error: unknown) => {
        assert.ok(error instanceof TextEncodingError);
        assert.ok(error instanceof InputError);
        assert.equal(error.file, 'reviews.tsv');
        assert.equal(error.line, 3);
        assert.equal(error.column, 3);
        assert.equal(error.offset, 15);
        assert.match(error.message, /^reviews\.tsv:3: not UTF-8 and not CP949\/EUC-KR: at column 3, 0xFF cannot start a CP949 character/);
        return true;
      },
    );
    // A well-formed pair that CP949 leaves unassigned (row 2, cell 0xE8), in text that is not UTF-8.
    assert.throws(() => decodeText(Uint8Array.from([0x61, 0x0a, 0xa2, 0xe8]), { file: 'x.txt' }), /: x\.txt:2: not UTF-8 and not CP949\/EUC-KR: at column 1, 0xA2 0xE8 is not an assigned CP949 character/);
    // A lead byte cut from its trail by a line end, and one at the very end of the file.
    assert.throws(() => decodeText(iconv.encode('가나\n다라\n', 'cp949').subarray(0, 8), { file: 'y.txt' }), /: y\.txt:2: .* at column 2, 0xB6 is a lead byte at the end of the file/);
    assert.throws(() => decodeText(Uint8Array.from([0xb0, 0xa1, 0xb3, 0x0a, 0xb0, 0xa1]), { file: 'z.txt' }), /: z\.txt:1: .* at column 2, 0xB3 is a lead byte without its second byte/);
  });

  test('forcing UTF-8 on CP949 bytes is an error, not mojibake', () => {
    const bytes = readFileSync(NSMC_CP949).subarray(0, 200);
    assert.throws(() => decodeText(bytes, { encoding: 'utf-8', file: NSMC_CP949 }), /not valid UTF-8/);
  });

  test('property: Korean text encoded as UTF-8 (with or without BOM) is detected and decoded exactly', () => {
    fc.assert(
      fc.property(koreanText, fc.boolean(), (text, bom) => {
        const encoding = bom ? 'utf-8-bom' : 'utf-8';
        const decoded = decodeText(encodeText(text, encoding));
        assert.deepEqual(decoded, { text, encoding });
      }),
      { numRuns: 300 },
    );
  });

  test('property: Hangul encoded as CP949 decodes back exactly, as EUC-KR exactly when it stays in KS X 1001, or is refused by the documented rule', () => {
    // Uniformly drawn syllables are mostly rare UHC ones (8,822 of 11,172); real text is mostly KS X 1001.
    const syllable = fc.oneof({ weight: 1, arbitrary: hangulSyllable }, { weight: 4, arbitrary: fc.constantFrom(...KS_X_1001_SYLLABLES) });
    fc.assert(
      fc.property(fc.array(syllable, { minLength: 6, maxLength: 60 }), fc.constantFrom('', ' ', '. '), (syllables, separator) => {
        const text = syllables.join(separator);
        const bytes = iconv.encode(text, 'cp949');
        // Rule 2 (valid UTF-8 wins) applies to rare short strings; this property is about rules 3 and 4.
        fc.pre(!isValidUtf8(bytes));
        const inKsX1001 = syllables.every((s) => iconv.encode(s, 'cp949').every((b) => b >= 0xa1));
        const scan = scanUtf8(bytes);
        let decoded;
        try {
          decoded = decodeText(bytes);
        } catch (error) {
          // Refused only where the rule says so: as many well-formed UTF-8 sequences as ill-formed ones,
          // or no KS X 1001 Hangul at all.
          assert.ok(error instanceof TextEncodingError);
          assert.ok(scan.multibyte >= scan.invalid || syllables.every((s) => !KS_X_1001_SYLLABLES.includes(s)), error.message);
          return;
        }
        assert.equal(decoded.text, text);
        assert.equal(decoded.encoding, inKsX1001 ? 'euc-kr' : 'cp949');
      }),
      { numRuns: 300 },
    );
  });

  test('readTextFile names a missing file', () => {
    assert.throws(() => readTextFile('data/nsmc/no-such-file.txt'), /data\/nsmc\/no-such-file\.txt: cannot read file/);
  });
});

/** The TextEncodingError `fn` throws (fails the test when it throws something else or nothing). */
function encodingError(fn: () => unknown): TextEncodingError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TextEncodingError, String(error));
    return error;
  }
  assert.fail('expected a TextEncodingError');
}

/** `bytes` without `count` bytes starting at `at`. */
function without(bytes: Uint8Array, at: number, count: number): Uint8Array {
  return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + count)]);
}

describe('broken UTF-8 is refused where it breaks, never read as CP949', () => {
  const SMALL = readFileSync('tests/fixtures/klue-small.tsv');

  test('a 2-byte loss at line 89 of a real KLUE file names line 89 and its column (it was "line 1 … offset 19")', () => {
    const lines = readFileSync('tests/fixtures/klue-small.tsv', 'utf8').split('\n');
    assert.equal(lines[88], '합\tO');
    const at = Buffer.byteLength(lines.slice(0, 88).join('\n') + '\n');
    const torn = without(SMALL, at + 1, 2); // 합 = ED 95 A9 keeps only ED
    const error = encodingError(() => decodeText(torn, { file: 'klue.tsv' }));
    assert.equal(error.line, 89);
    assert.equal(error.column, 1);
    assert.equal(error.offset, at);
    assert.match(
      error.message,
      /^klue\.tsv:89: broken UTF-8 at column 1: the 3-byte character 0xED is cut short \(0x09 follows\); 1 bad and \d+ good multi-byte sequences, so the file is damaged UTF-8, not CP949/,
    );
    assert.equal(error.message.includes('\n'), false);
  });

  test('a cut inside every multi-byte character of a real Korean line: an error at that line and column', () => {
    const text = '## klue-ner-v1_dev_00001-wikitree\t<B:PS> 씨는 사법시험 합격증이 위조된 것인지 알 수 없었고, 면접…\n';
    const prefix = 'id\ttext\n1\t첫 줄\n';
    const bytes = new TextEncoder().encode(prefix + text);
    const base = Buffer.byteLength(prefix);
    let checked = 0;
    let column = 0;
    for (let offset = base; offset < bytes.length; ) {
      const char = String.fromCodePoint(new TextDecoder().decode(bytes.subarray(offset, offset + 4)).codePointAt(0) as number);
      const length = Buffer.byteLength(char);
      column++;
      for (let cut = offset + 1; cut < offset + length; cut++) {
        const error = encodingError(() => decodeText(bytes.subarray(0, cut), { file: 'cut.tsv' }));
        assert.deepEqual([error.line, error.column, error.offset], [3, column, offset], `cut at byte ${cut}`);
        assert.match(error.message, /the file ends\)/);
        checked++;
      }
      offset += length;
    }
    assert.equal(checked, 48); // 24 characters of 3 bytes (23 Hangul syllables and '…'), 2 cuts inside each
  });

  test('label files torn inside a character were read as CP949 mojibake (吏덈퀝 for 질병); every such tear is now an error at its line', () => {
    const text = ['질병', '신체', '치료', '질병', '신체', '치료'].map((label, i) => JSON.stringify({ id: i, gold: label, pred: '질병' })).join('\n') + '\n';
    const bytes = new TextEncoder().encode(text);
    const chars = [...text];
    let offset = 0;
    let line = 1;
    let tears = 0;
    for (const char of chars) {
      const length = Buffer.byteLength(char);
      for (let lost = 1; lost < length; lost++) {
        const error = encodingError(() => decodeText(without(bytes, offset + length - lost, lost), { file: 'labels.jsonl' }));
        assert.equal(error.line, line);
        tears++;
      }
      if (char === '\n') line++;
      offset += length;
    }
    assert.equal(tears, 24 * 2);
  });

  test('the rule measured on real data: CP949 text has far fewer well-formed than ill-formed UTF-8 sequences', () => {
    const nsmc = scanUtf8(readFileSync(NSMC_CP949));
    assert.ok(nsmc.multibyte / nsmc.invalid < 0.25, `${nsmc.multibyte} / ${nsmc.invalid}`);
    const klue = scanUtf8(iconv.encode(readFileSync('tests/fixtures/klue-small.tsv', 'utf8'), 'cp949'));
    assert.ok(klue.multibyte / klue.invalid < 0.15, `${klue.multibyte} / ${klue.invalid}`);
    const utf8 = scanUtf8(SMALL);
    assert.deepEqual([utf8.invalid, utf8.firstInvalid], [0, undefined]);
    assert.ok(utf8.multibyte > 1000);
  });

  test('NSMC reviews three to a file: every CP949 file is read exactly, none refused', () => {
    const reviews = iconv.decode(readFileSync(NSMC_CP949), 'cp949').split('\r\n').slice(1);
    let files = 0;
    for (let i = 0; i + 3 <= reviews.length; i += 3) {
      const text = reviews.slice(i, i + 3).join('\n') + '\n';
      const decoded = decodeText(iconv.encode(text, 'cp949'));
      if (decoded.text !== text) assert.fail(`reviews ${i + 1}–${i + 3} read as ${decoded.encoding}: ${JSON.stringify(decoded.text)}`);
      files++;
    }
    assert.equal(files, 16_666);
  });

  test('a tiny CP949 file is refused when the rule cannot tell, and read exactly once its encoding is named', () => {
    // 짱 is C2 AF in CP949, a well-formed UTF-8 pair: as many good as bad sequences.
    const bytes = iconv.encode('짱이얌\n', 'cp949');
    const error = encodingError(() => decodeText(bytes, { file: 'one.txt' }));
    assert.match(error.message, /^one\.txt:1: broken UTF-8 at column 2/);
    assert.deepEqual(decodeText(bytes, { encoding: 'cp949' }), { text: '짱이얌\n', encoding: 'cp949' });
    // A lone syllable cut to two bytes is a valid CP949 hanja; without any Hangul it is not taken for CP949.
    const cut = new TextEncoder().encode('{"label": "굿"}\n').subarray(0, 13);
    assert.match(encodingError(() => decodeText(cut, { file: 'cut.json' })).message, /^cut\.json:1: not UTF-8 \(at column 12, .*\), and read as CP949 it holds no Hangul/);
  });

  test('a NUL byte is an error: UTF-16 without a byte-order mark is not read as text with NULs', () => {
    const utf16 = iconv.encode('id,text\n1,abc\n', 'utf-16le');
    const error = encodingError(() => decodeText(utf16, { file: 'u16.csv' }));
    assert.match(error.message, /^u16\.csv:1: NUL character at column 2: not a text file, or UTF-16 without a byte-order mark/);
    const cp949WithNul = Uint8Array.from([...iconv.encode('가나다라\n마바', 'cp949'), 0, 0x0a]);
    assert.deepEqual([encodingError(() => decodeText(cp949WithNul)).line, encodingError(() => decodeText(cp949WithNul)).column], [2, 3]);
    // With a byte-order mark, or with the encoding named, too.
    assert.equal(encodingError(() => decodeText(encodeText('a\n\0', 'utf-8-bom'))).line, 2);
    assert.equal(encodingError(() => decodeText(new TextEncoder().encode('a\0'), { encoding: 'utf-8' })).column, 2);
  });

  test('a file whose byte-order mark says UTF-8 or UTF-16 must be valid in it', () => {
    const bom = encodeText('가나\n다라\n', 'utf-8-bom');
    const error = encodingError(() => decodeText(without(bom, 3 + 7 + 2, 1), { file: 'bom.txt' }));
    assert.deepEqual([error.line, error.column], [2, 1]);
    assert.match(error.message, /^bom\.txt:2: not valid UTF-8 at column 1: the 3-byte character 0xEB 0x8B is cut short \(0xEB follows\)/);
    const odd = encodeText('가나', 'utf-16le').subarray(0, 5);
    assert.throws(() => decodeText(odd, { file: 'odd.txt' }), /odd\.txt:1: not valid UTF-16LE \(an unpaired surrogate or an odd number of bytes\)/);
  });

  test('a named encoding skips detection but still refuses bad bytes with line and column', () => {
    const cp949 = iconv.encode('첫 줄\n둘째 줄\n', 'cp949');
    assert.equal(decodeText(cp949, { encoding: 'euc-kr' }).text, '첫 줄\n둘째 줄\n');
    const forcedUtf8 = encodingError(() => decodeText(cp949, { encoding: 'utf-8', file: 'f.txt' }));
    // 첫 is C3 B9 in CP949, also the UTF-8 of 'ù': the first bad byte is the space's neighbour 줄.
    assert.deepEqual([forcedUtf8.line, forcedUtf8.column], [1, 3]);
    assert.match(forcedUtf8.message, /^f\.txt:1: not valid UTF-8 at column 3/);
    const utf8 = new TextEncoder().encode('첫 줄\n둘째 줄\n');
    const forcedCp949 = encodingError(() => decodeText(utf8, { encoding: 'cp949', file: 'g.txt' }));
    assert.match(forcedCp949.message, /^g\.txt:1: not valid CP949 at column \d+: /);
    // A BOM is dropped when UTF-8 is named, and the BOM variant accepts a file without one.
    assert.equal(decodeText(encodeText('가', 'utf-8-bom'), { encoding: 'utf-8' }).text, '가');
    assert.equal(decodeText(encodeText('가', 'utf-8'), { encoding: 'utf-8-bom' }).text, '가');
  });

  test('parseEncodingName accepts the usual spellings and names the choices otherwise', () => {
    const cases: [string, TextEncodingName][] = [['UTF8', 'utf-8'], ['utf-8', 'utf-8'], ['EUC_KR', 'euc-kr'], ['cp949', 'cp949'], ['windows-949', 'cp949'], [' utf-16LE ', 'utf-16le']];
    for (const [given, expected] of cases) assert.equal(parseEncodingName(given), expected);
    assert.throws(() => parseEncodingName('latin1', '--encoding'), /--encoding must be one of utf-8, utf-8-bom, utf-16le, utf-16be, euc-kr, cp949, not "latin1"/);
  });
});

describe('openTextFile (streams) follows the same rule', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-encoding-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  async function streamed(file: string, encoding?: TextEncodingName): Promise<{ text: string; encoding: TextEncodingName }> {
    const stream = await openTextFile(file, { encoding });
    let text = '';
    for await (const chunk of stream.chunks) text += chunk;
    return { text, encoding: stream.encoding };
  }

  test('the real NSMC files stream to the same text as readTextFile (64 KiB chunks end inside characters)', async () => {
    for (const file of [NSMC_UTF8, NSMC_CP949]) assert.deepEqual(await streamed(file), readTextFile(file));
    const bom = path.join(work, 'bom.txt');
    writeFileSync(bom, encodeText(readFileSync(NSMC_UTF8, 'utf8'), 'utf-8-bom'));
    assert.deepEqual(await streamed(bom), readTextFile(bom));
  });

  test('a broken file is refused before any text is yielded, with the same message as readTextFile', async () => {
    const bytes = readFileSync(NSMC_UTF8);
    const torn = path.join(work, 'torn.txt');
    const at = bytes.length - 1000;
    let lead = at;
    while (bytes[lead] < 0xe0) lead++;
    writeFileSync(torn, without(bytes, lead + 1, 2));
    const whole = encodingError(() => readTextFile(torn));
    await assert.rejects(() => openTextFile(torn), (error: unknown) => error instanceof TextEncodingError && error.message === whole.message);
    assert.ok((whole.line as number) > 49_000);
  });

  test('a named encoding is checked in the first pass too; a missing file names the file', async () => {
    assert.equal((await streamed(NSMC_CP949, 'cp949')).text, readTextFile(NSMC_UTF8).text.replace(/\n/g, '\r\n'));
    await assert.rejects(() => openTextFile(NSMC_CP949, { encoding: 'utf-8' }), /not valid UTF-8 at column/);
    await assert.rejects(() => openTextFile(NSMC_UTF8, { encoding: 'cp949' }), /ratings_test\.txt:2: not valid CP949 at column/);
    await assert.rejects(() => openTextFile(path.join(work, 'missing.txt'), { what: 'the file' }), /missing\.txt: cannot read the file \(ENOENT\)/);
  });
});
