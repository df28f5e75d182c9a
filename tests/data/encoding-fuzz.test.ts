/**
 * Fuzz test (fast-check) of the text readers over encodings and damage (issue 14). Samples are real Korean:
 * KLUE NER sentences (data/klue-ner) and NSMC reviews from the shipped CP949 file (data/nsmc), written as
 * UTF-8, UTF-8 with a BOM or CP949, with LF or CRLF line ends, then left whole or damaged: cut inside a
 * multi-byte character (a torn write), a strict part of one character lost, or 1–3 random bytes changed.
 *
 * The property, for every reader: it returns exactly what the bytes say in the encoding they were
 * written in — the records a clean UTF-8 file with that text gives — or it throws an InputError naming
 * the file with a line or field, in one line. Bytes that are not valid in their encoding must be
 * refused, and a UTF-8 file's refusal must point at the first bad byte's line and column. So no reader
 * ever hands on data decoded leniently (U+FFFD) or in the wrong encoding (mojibake).
 *
 * Samples hold at least one KLUE sentence or three reviews: below that the rule in lib/data/encoding.ts
 * cannot tell every CP949 text from UTF-8 (measured and documented there).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { TextEncodingError } from '../../lib/data/encoding.js';
import { type KlueSentence, parseKlueNer, readKlueNer, streamKlueNer } from '../../lib/data/klue-ner.js';
import { readTable } from '../../lib/data/tabular.js';
import { InputError } from '../../lib/errors.js';
import { readAnswers } from '../../lib/ner/answers.js';
import { readNotebook } from '../../lib/notebook/nbformat.js';
import { encodeSample, klueBlocks, multibyteChars, nsmcRows, SAMPLE_ENCODINGS, type SampleEncoding, tempWriter } from './korean-samples.js';

const writeFile = tempWriter('hanlab-fuzz-');

// ---------------------------------------------------------------------------------------------------
// Damage

type Damage = { kind: 'none' } | { kind: 'cut'; char: number; at: number } | { kind: 'loss'; char: number; start: number; count: number } | { kind: 'flips'; flips: [number, number][] };

/** A damage descriptor; positions are fractions, resolved against the sample's bytes by `applyDamage`. */
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'none' } as Damage) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cut' as const), char: fc.nat(), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('loss' as const), char: fc.nat(), start: fc.nat(), count: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flips' as const), flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }) }) },
);

/** The sample's bytes with the damage applied. Cuts and losses always fall inside one multi-byte character. */
function applyDamage(text: string, encoding: SampleEncoding, damage: Damage): Uint8Array {
  const bytes = encodeSample(text, encoding);
  const chars = multibyteChars(text, encoding);
  if (chars.length === 0 && (damage.kind === 'cut' || damage.kind === 'loss')) return bytes; // nothing to tear
  switch (damage.kind) {
    case 'none':
      return bytes;
    case 'cut': {
      const char = chars[damage.char % chars.length];
      return bytes.subarray(0, char.offset + 1 + (damage.at % (char.length - 1)));
    }
    case 'loss': {
      const char = chars[damage.char % chars.length];
      const count = 1 + (damage.count % (char.length - 1)); // a strict part of the character
      const start = char.offset + (damage.start % (char.length - count + 1));
      return Uint8Array.from([...bytes.subarray(0, start), ...bytes.subarray(start + count)]);
    }
    case 'flips': {
      const damaged = Uint8Array.from(bytes);
      for (const [position, value] of damage.flips) damaged[position % damaged.length] = value;
      return damaged;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The oracle: what the bytes say in the encoding they were written in, decoded strictly.

function declaredBy(bytes: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

/** The text of `bytes` in the encoding they were written in (a byte-order mark, if any, wins), or undefined if invalid. */
function strictText(bytes: Uint8Array, written: SampleEncoding): string | undefined {
  const encoding = declaredBy(bytes) ?? (written === 'cp949' ? 'cp949' : 'utf-8');
  if (encoding === 'cp949') {
    const text = iconv.decode(Buffer.from(bytes), 'cp949');
    return text.includes('\uFFFD') ? undefined : text; // CP949 maps nothing to U+FFFD
  }
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Line and column (in characters) of the first byte a lenient UTF-8 decoder replaces. */
function firstBadUtf8(bytes: Uint8Array): { line: number; column: number } {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const bad = text.indexOf('\uFFFD');
  const before = text.slice(0, bad).replace(/^\uFEFF/, '');
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: [...before.slice(lineStart)].length + 1 };
}

type Outcome<T> = { value: T } | { error: unknown };

async function outcome<T>(read: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { value: await read() };
  } catch (error) {
    return { error };
  }
}

/** One reader under test: how to read a file, and a file name that gives the format away. */
interface Reader<T> {
  name: string;
  fileName: string;
  read(file: string): T | Promise<T>;
}

/**
 * The property for one damaged sample: the reader's outcome against the oracle's (the same reader on a
 * clean UTF-8 file holding the strictly decoded text).
 */
async function check<T>(reader: Reader<T>, text: string, encoding: SampleEncoding, damage: Damage): Promise<void> {
  const bytes = applyDamage(text, encoding, damage);
  const file = writeFile(reader.fileName, bytes);
  const got = await outcome(() => reader.read(file));
  const truth = strictText(bytes, encoding);
  const context = `${reader.name} ${encoding} ${JSON.stringify(damage)}`;
  if ('error' in got) {
    const error = got.error;
    assert.ok(error instanceof InputError, `${context}: not an InputError: ${String(error)}`);
    assert.equal(error.file, file, `${context}: ${error.message}`);
    assert.ok(error.line !== undefined || error.field !== undefined, `${context}: no line or field: ${error.message}`);
    assert.ok(!error.message.includes('\n'), `${context}: more than one line: ${error.message}`);
    if (error instanceof TextEncodingError && truth === undefined && encoding !== 'cp949' && declaredBy(bytes) !== 'utf-16le' && declaredBy(bytes) !== 'utf-16be') {
      assert.deepEqual({ line: error.line, column: error.column }, firstBadUtf8(bytes), `${context}: ${error.message}`);
    }
    if (damage.kind === 'none') assert.fail(`${context}: a whole file was refused: ${error.message}`);
    return;
  }
  assert.notEqual(truth, undefined, `${context}: bytes that are not valid in their encoding were accepted`);
  const expected = await outcome(() => reader.read(writeFile(reader.fileName, new TextEncoder().encode(truth))));
  assert.ok('value' in expected, `${context}: read, but the same text as clean UTF-8 is refused: ${'error' in expected ? String(expected.error) : ''}`);
  assert.deepEqual(got.value, expected.value, `${context}: records differ from what the bytes say`);
}

// ---------------------------------------------------------------------------------------------------
// Samples and readers

const blocks = klueBlocks();
const reviews = nsmcRows();
const lineEnds = fc.boolean();

/** 1–3 real KLUE sentences as a KLUE TSV text. */
const klueText = fc
  .tuple(fc.array(fc.nat({ max: blocks.length - 1 }), { minLength: 1, maxLength: 3 }), lineEnds)
  .map(([picks, crlf]) => {
    const text = picks.map((i) => blocks[i]).join('\n\n') + '\n';
    return crlf ? text.replace(/\n/g, '\r\n') : text;
  });

/** 3–6 real NSMC reviews as the TSV NSMC ships. */
const reviewsText = fc
  .tuple(fc.array(fc.nat({ max: reviews.length - 1 }), { minLength: 3, maxLength: 6 }), lineEnds)
  .map(([picks, crlf]) => ['id\tdocument\tlabel', ...picks.map((i) => reviews[i])].join(crlf ? '\r\n' : '\n') + (crlf ? '\r\n' : '\n'));

/** Gold sentences whose first 20 characters hold Hangul, so that every answer line has some. */
const gold: KlueSentence[] = parseKlueNer(blocks.slice(0, 300).join('\n\n') + '\n').filter((s) => /[가-힣]/.test(s.text.slice(0, 20)));

/** Answers as study 003's model gave them: the gold entities of real sentences as JSON, one line each. */
const answersText = fc
  .tuple(fc.uniqueArray(fc.nat({ max: gold.length - 1 }), { minLength: 1, maxLength: 4 }), lineEnds)
  .map(([picks, crlf]) => {
    const lines = picks.map((i) => {
      const entities: Record<string, string[]> = {};
      for (const m of gold[i].annotated.matchAll(/<([^<>:]+):([A-Z]{2})>/g)) (entities[m[2]] ??= []).push(m[1]);
      return JSON.stringify({ id: gold[i].id, answer: JSON.stringify(entities, null, 0), note: gold[i].text.slice(0, 20) });
    });
    return lines.join(crlf ? '\r\n' : '\n') + '\n';
  });

/** A notebook with a KLUE sentence in a markdown cell and a review in a code cell, as Jupyter writes it. */
const notebookText = fc.tuple(fc.nat({ max: blocks.length - 1 }), fc.nat({ max: reviews.length - 1 })).map(([b, r]) =>
  JSON.stringify(
    {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { hanlab: { report: { title: '퍼징 노트북' } } },
      cells: [
        { cell_type: 'markdown', metadata: {}, source: blocks[b].split('\n')[0].split('\t')[1] },
        { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: [`const review = ${JSON.stringify(reviews[r].split('\t')[1])};\n`, 'console.log(review);'] },
      ],
    },
    null,
    1,
  ) + '\n',
);

const klueReader: Reader<KlueSentence[]> = { name: 'readKlueNer', fileName: 'klue.tsv', read: (file) => readKlueNer(file) };
const klueStreamReader: Reader<KlueSentence[]> = {
  name: 'streamKlueNer',
  fileName: 'klue.tsv',
  read: async (file) => {
    const sentences: KlueSentence[] = [];
    for await (const sentence of streamKlueNer(file)) sentences.push(sentence);
    return sentences;
  },
};
const tableReader: Reader<unknown> = {
  name: 'readTable',
  fileName: 'ratings.txt',
  read: async (file) => {
    const table = await readTable(file);
    return { columns: table.columns, rows: table.rows, format: table.format };
  },
};
const answersReader: Reader<unknown> = { name: 'readAnswers', fileName: 'answers.jsonl', read: (file) => readAnswers(file, gold) };
const notebookReader: Reader<unknown> = { name: 'readNotebook', fileName: 'fuzz.ipynb', read: (file) => readNotebook(file) };

const encodingArb = fc.constantFrom(...SAMPLE_ENCODINGS);
/** Runs per reader; raise HANLAB_FUZZ_RUNS for a deeper search (the tests use 150 to stay quick). */
const RUNS = Number(process.env.HANLAB_FUZZ_RUNS ?? 150);

describe('fuzz: readers over encodings, tears and byte flips', () => {
  for (const [reader, sample] of [
    [klueReader, klueText],
    [klueStreamReader, klueText],
    [tableReader, reviewsText],
    [answersReader, answersText],
    [notebookReader, notebookText],
  ] as const) {
    test(`${reader.name}: exactly what the bytes say in their encoding, or a one-line error naming file and line`, async () => {
      await fc.assert(
        fc.asyncProperty(sample, encodingArb, damageArb, (text, encoding, damage) => check(reader as Reader<unknown>, text, encoding, damage)),
        { numRuns: RUNS },
      );
    });
  }
});

describe('every tear position inside every multi-byte character of a real KLUE sentence', () => {
  test('cuts and losses in UTF-8, UTF-8 with BOM and CP949 are errors at the right line (and column for UTF-8), in both KLUE readers', async () => {
    const text = blocks[0] + '\n';
    let cases = 0;
    for (const encoding of SAMPLE_ENCODINGS) {
      const chars = multibyteChars(text, encoding);
      for (const [index, char] of chars.entries()) {
        for (let keep = 1; keep < char.length; keep++) {
          // A cut after `keep` bytes of the character, and the loss of the bytes after them.
          for (const damage of [{ kind: 'cut', char: index, at: keep - 1 }, { kind: 'loss', char: index, start: keep, count: char.length - keep - 1 }] as Damage[]) {
            const bytes = applyDamage(text, encoding, damage);
            if (strictText(bytes, encoding) !== undefined) continue; // a CP949 loss can leave other valid characters
            const file = writeFile('klue.tsv', bytes);
            const sync = await outcome(() => readKlueNer(file));
            const streamed = await outcome(() => klueStreamReader.read(file));
            for (const got of [sync, streamed]) {
              assert.ok('error' in got && got.error instanceof TextEncodingError, `${encoding} ${JSON.stringify(damage)}: ${'error' in got ? String(got.error) : 'read'}`);
              const error = got.error as TextEncodingError;
              assert.equal(error.line, char.line, error.message);
              if (encoding !== 'cp949') assert.equal(error.column, char.column, error.message);
            }
            cases++;
          }
        }
      }
    }
    assert.ok(cases > 300, `${cases} cases`);
  });
});
