/**
 * Every text reader decodes through lib/data/encoding.ts: CP949 files give exactly what their UTF-8
 * originals give, a byte-order mark is accepted, and a broken byte is an error at its real line and
 * column — never U+FFFD or mojibake passed on as data (issue 14, "silent wrong answers").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readTrainingConfig } from '../../lib/data/config-ini.js';
import { encodeText, TextEncodingError, type TextEncodingName } from '../../lib/data/encoding.js';
import { readKbmc } from '../../lib/data/kbmc.js';
import { type KlueSentence, readKlueNer, streamKlueNer } from '../../lib/data/klue-ner.js';
import { loadKluePartition } from '../../lib/data/klue-partition.js';
import { readKorMedMcqaFile } from '../../lib/data/kormedmcqa.js';
import { readTable } from '../../lib/data/tabular.js';
import { readAnswers } from '../../lib/ner/answers.js';
import { readNotebook } from '../../lib/notebook/nbformat.js';
import { tempWriter } from './korean-samples.js';

const write = tempWriter('hanlab-readers-');

const KLUE_SMALL = 'tests/fixtures/klue-small.tsv';
const REPLAY = 'data/replay/study003-wrong-cases.jsonl';
const NOTEBOOK = 'tests/fixtures/reports/sentiment.ipynb';

/** A UTF-8 file's text in `encoding` (CP949 via iconv-lite). */
function reencode(file: string, encoding: TextEncodingName, crlf = false): Uint8Array {
  const text = readFileSync(file, 'utf8');
  return encodeText(crlf ? text.replace(/\n/g, '\r\n') : text, encoding);
}

/** The bytes of a UTF-8 file with the last `lost` bytes of the first 3-byte character on `line` removed. */
function tornAt(file: string, line: number, lost: 1 | 2): { bytes: Uint8Array; column: number } {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const before = Buffer.byteLength(lines.slice(0, line - 1).join('\n') + (line > 1 ? '\n' : ''));
  const chars = [...lines[line - 1]];
  const index = chars.findIndex((c) => Buffer.byteLength(c) === 3);
  assert.ok(index >= 0, `line ${line} has a 3-byte character`);
  const start = before + Buffer.byteLength(chars.slice(0, index).join(''));
  const bytes = readFileSync(file);
  return { bytes: Uint8Array.from([...bytes.subarray(0, start + 3 - lost), ...bytes.subarray(start + 3)]), column: index + 1 };
}

/** Asserts `error` is a TextEncodingError at `file:line`, `column`. */
function at(file: string, line: number, column: number): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof TextEncodingError, String(error));
    assert.deepEqual([error.file, error.line, error.column], [file, line, column], error.message);
    assert.ok(error.message.startsWith(`${file}:${line}: `), error.message);
    return true;
  };
}

async function streamAll(file: string): Promise<KlueSentence[]> {
  const sentences: KlueSentence[] = [];
  for await (const sentence of streamKlueNer(file)) sentences.push(sentence);
  return sentences;
}

describe('KLUE NER TSV (readKlueNer and streamKlueNer)', () => {
  const expected = readKlueNer(KLUE_SMALL);

  test('CP949, a BOM and CRLF give exactly the sentences of the UTF-8 file, in both readers', async () => {
    for (const [encoding, crlf] of [['cp949', false], ['cp949', true], ['utf-8-bom', false], ['utf-8-bom', true]] as const) {
      const file = write(`klue-${encoding}.tsv`, reencode(KLUE_SMALL, encoding, crlf));
      assert.deepEqual(readKlueNer(file), expected, `${encoding} crlf=${crlf}`);
      assert.deepEqual(await streamAll(file), expected, `${encoding} crlf=${crlf} (stream)`);
    }
  });

  test('a 1- or 2-byte loss at line 89 is an error at line 89 in both readers, before any sentence is streamed', async () => {
    for (const lost of [1, 2] as const) {
      const { bytes, column } = tornAt(KLUE_SMALL, 89, lost);
      const file = write('klue-torn.tsv', bytes);
      assert.throws(() => readKlueNer(file), at(file, 89, column));
      let yielded = 0;
      await assert.rejects(async () => {
        for await (const _ of streamKlueNer(file)) yielded++;
      }, at(file, 89, column));
      assert.equal(yielded, 0);
    }
  });

  test('the encoding can be named; naming the wrong one is an error, not mojibake', () => {
    const file = write('klue.cp949.tsv', reencode(KLUE_SMALL, 'cp949'));
    assert.deepEqual(readKlueNer(file, { encoding: 'cp949' }), expected);
    assert.throws(() => readKlueNer(file, { encoding: 'utf-8' }), /not valid UTF-8 at column/);
  });
});

describe('model answers JSONL (readAnswers)', () => {
  const gold = readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv');
  const expected = readAnswers(REPLAY, gold);

  test('a CP949 answers file (Korean Windows tools) gives the same answers as the UTF-8 one', () => {
    assert.equal(expected.answered, 10);
    for (const encoding of ['cp949', 'utf-8-bom'] as const) {
      const file = write(`answers-${encoding}.jsonl`, reencode(REPLAY, encoding, true));
      assert.deepEqual(readAnswers(file, gold), expected, encoding);
    }
  });

  test('a single broken byte is an error at its line and column, not a silently different answer', () => {
    const { bytes, column } = tornAt(REPLAY, 7, 2);
    const file = write('answers-torn.jsonl', bytes);
    assert.throws(() => readAnswers(file, gold), at(file, 7, column));
    const missing = path.join(path.dirname(write('other.jsonl', '')), 'none.jsonl');
    assert.throws(() => readAnswers(missing, gold), /none\.jsonl: cannot read the answers file \(ENOENT\)/);
  });
});

describe('notebooks (readNotebook, as hanlab run and hanlab report read them)', () => {
  const expected = readNotebook(NOTEBOOK);

  test('a CP949 notebook and one with a UTF-8 BOM read exactly as the UTF-8 one', () => {
    for (const encoding of ['cp949', 'utf-8-bom'] as const) {
      assert.deepEqual(readNotebook(write(`nb-${encoding}.ipynb`, reencode(NOTEBOOK, encoding))), expected, encoding);
    }
  });

  test('a notebook with a broken byte is an error at its line and column', () => {
    const line = readFileSync(NOTEBOOK, 'utf8').split('\n').findIndex((l) => /[가-힣]/.test(l)) + 1;
    const { bytes, column } = tornAt(NOTEBOOK, line, 1);
    const file = write('nb-torn.ipynb', bytes);
    assert.throws(() => readNotebook(file), at(file, line, column));
  });
});

describe('the other readers in lib/data', () => {
  test('tables (readTable): CP949 TSV as the UTF-8 one; a torn byte is an error at its line, not CP949 mojibake', async () => {
    const utf8 = write('reviews.tsv', readFileSync('data/nsmc/ratings_test.txt').subarray(0, 20_000).toString('utf8').replace(/\n[^\n]*$/, '\n'));
    const expected = await readTable(utf8);
    const cp949 = await readTable(write('reviews-cp949.tsv', reencode(utf8, 'cp949')));
    assert.equal(cp949.encoding, 'cp949');
    assert.deepEqual(cp949.rows, expected.rows);
    const { bytes, column } = tornAt(utf8, 89, 2);
    const torn = write('reviews-torn.tsv', bytes);
    await assert.rejects(readTable(torn), at(torn, 89, column));
  });

  test('Parquet strings that are not UTF-8 are an error naming the row and column, not U+FFFD', async () => {
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'text', data: [new TextEncoder().encode('좋은 영화'), Uint8Array.from(iconv.encode('나쁜 영화', 'cp949'))] },
        { name: 'label', data: [1n, 0n] },
      ],
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'label', type: 'INT64', repetition_type: 'REQUIRED' },
      ],
    });
    const file = write('cp949-strings.parquet', new Uint8Array(buffer));
    await assert.rejects(readTable(file), (error: unknown) => {
      assert.match(String((error as Error).message), /cp949-strings\.parquet, field "text": row 2: the string is not UTF-8 \(bytes b3 aa bb db 20 bf b5 c8 ad\)/);
      return true;
    });
  });

  test('KBMC and KorMedMCQA files: CP949 reads as UTF-8 does, a torn byte names its line', async () => {
    const kbmc = 'tests/fixtures/kbmc/kbmc-sample.tsv';
    const expected = await readKbmc(kbmc);
    const cp949 = await readKbmc(write('KBMC.tsv', reencode(kbmc, 'cp949')));
    assert.deepEqual(cp949.sentences.map((s) => [s.sentence, s.tags]), expected.sentences.map((s) => [s.sentence, s.tags]));
    const { bytes, column } = tornAt(kbmc, 3, 1);
    const torn = write('KBMC-torn.tsv', bytes);
    await assert.rejects(readKbmc(torn), at(torn, 3, column));

    const mcqa = 'tests/fixtures/kormedmcqa/doctor-test.csv';
    const questions = await readKorMedMcqaFile(mcqa);
    const cpFile = write('doctor-test.csv', reencode(mcqa, 'cp949'));
    assert.deepEqual((await readKorMedMcqaFile(cpFile)).map((q) => [q.question, q.options, q.answer]), questions.map((q) => [q.question, q.options, q.answer]));
  });

  test('config.ini and the KLUE partition: CP949 comments and a BOM are read; a torn byte names its line', () => {
    const config = 'data/nsmc/config.ini';
    const withoutPaths = (c: ReturnType<typeof readTrainingConfig>) => ({ ...c, file: '', trainFile: '', validFile: '', outputDir: '', checkpointDir: '' });
    const expected = readTrainingConfig(config);
    for (const encoding of ['cp949', 'utf-8-bom'] as const) {
      assert.deepEqual(withoutPaths(readTrainingConfig(write('config.ini', reencode(config, encoding, true)))), withoutPaths(expected), encoding);
    }
    const { bytes, column } = tornAt(config, 1, 2);
    const torn = write('config.ini', bytes);
    assert.throws(() => readTrainingConfig(torn), at(torn, 1, column));

    const partition = write('partition.json', encodeText(readFileSync('data/klue-ner/partition.json', 'utf8'), 'utf-8-bom'));
    assert.deepEqual(loadKluePartition(partition), loadKluePartition('data/klue-ner/partition.json'));
  });
});
