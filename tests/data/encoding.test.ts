import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { decodeText, detectEncoding, encodeText, isValidUtf8, readTextFile, TextEncodingError } from '../../lib/data/encoding.js';
import { InputError } from '../../lib/errors.js';

const NSMC_UTF8 = 'data/nsmc/ratings_test.txt';
const NSMC_CP949 = 'data/nsmc/ratings_test.cp949.txt';

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
        assert.match(error.message, /^reviews\.tsv:3: not UTF-8 and not CP949\/EUC-KR \(byte 0xff/);
        return true;
      },
    );
    // A well-formed pair that CP949 leaves unassigned (row 2, cell 0xE8), in text that is not UTF-8.
    assert.throws(() => decodeText(Uint8Array.from([0x61, 0x0a, 0xa2, 0xe8]), { file: 'x.txt' }), /x\.txt:2: bytes that are not a EUC-KR character/);
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

  test('property: Hangul encoded as CP949 is detected as EUC-KR exactly when it stays in KS X 1001, and decodes back', () => {
    fc.assert(
      fc.property(fc.array(hangulSyllable, { minLength: 6, maxLength: 60 }), fc.constantFrom('', ' ', '. '), (syllables, separator) => {
        const text = syllables.join(separator);
        const bytes = iconv.encode(text, 'cp949');
        // Rule 2 (valid UTF-8 wins) applies to rare short strings; this property is about rule 3.
        fc.pre(!isValidUtf8(bytes));
        const inKsX1001 = syllables.every((s) => iconv.encode(s, 'cp949').every((b) => b >= 0xa1));
        const decoded = decodeText(bytes);
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
