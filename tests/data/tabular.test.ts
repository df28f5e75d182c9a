import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readTrainingConfig } from '../../lib/data/config-ini.js';
import { detectTableFormat, readTable } from '../../lib/data/tabular.js';
import { labelCounts, loadTextClassification, sortLabelValues, toDataFrame, type LabeledTexts, type TextClassificationDataset } from '../../lib/data/text-classification.js';
import { loadTrainValidation, splitTrainValidation, stratifiedQuotas } from '../../lib/data/train-validation.js';
import { InputError, UsageError } from '../../lib/errors.js';

const NSMC_TEST = 'data/nsmc/ratings_test.txt';
const NSMC_TEST_CP949 = 'data/nsmc/ratings_test.cp949.txt';
const NSMC_TRAIN = 'data/nsmc/ratings_train.first14274.txt';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hanlab-tabular-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Uint8Array | ArrayBuffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, content instanceof ArrayBuffer ? new Uint8Array(content) : content);
  return file;
}

/** RFC 4180 field: always quoted, quotes doubled (what pandas writes for fields that need it). */
function quoteField(field: string): string {
  return `"${field.replace(/"/g, '""')}"`;
}

function toDelimited(rows: { text: string; label: string }[], delimiter: string): string {
  return [['text', 'label'], ...rows.map((r) => [r.text, r.label])].map((r) => r.map(quoteField).join(delimiter)).join('\n') + '\n';
}

function parquetOf(rows: { text: string; label: string }[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'text', data: rows.map((r) => r.text), type: 'STRING' },
      { name: 'label', data: rows.map((r) => BigInt(r.label)), type: 'INT64' },
    ],
  });
}

describe('loadTextClassification on the real NSMC files', () => {
  // Loaded once: each full read of the 50,000-row file takes about a second on a busy 2-core machine.
  let nsmcTest: Promise<TextClassificationDataset> | null = null;
  const loadNsmcTest = (): Promise<TextClassificationDataset> => (nsmcTest ??= loadTextClassification(NSMC_TEST, { onInvalid: 'collect' }));

  test('the test file: three empty reviews are an error by default, naming file, line and column', async () => {
    await assert.rejects(loadTextClassification(NSMC_TEST), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.file, NSMC_TEST);
      assert.equal(error.line, 5748);
      assert.equal(error.field, 'document');
      assert.match(error.message, /text is empty; fix the row or load with onInvalid: 'collect'/);
      return true;
    });
  });

  test('the test file with onInvalid: collect: 49,997 usable reviews, the three empty ones listed by line', async () => {
    const ds = await loadNsmcTest();
    assert.deepEqual(ds.source, { file: NSMC_TEST, encoding: 'utf-8', format: 'tsv', textColumn: 'document', labelColumn: 'label' });
    assert.equal(ds.texts.length, 49_997);
    assert.deepEqual(ds.labelNames, ['0', '1']);
    assert.deepEqual(
      ds.problems.map((p) => [p.line, p.field, p.kind]),
      [
        [5748, 'document', 'missing text'],
        [7901, 'document', 'missing text'],
        [27099, 'document', 'missing text'],
      ],
    );
    // MANIFEST: 25,173 positive / 24,827 negative over all 50,000 rows; two of the empty ones are positive.
    assert.deepEqual(labelCounts(ds), [
      { label: '0', count: 24_827 - 1 },
      { label: '1', count: 25_173 - 2 },
    ]);
    assert.equal(ds.texts[0], '굳 ㅋ');
    assert.equal(ds.lines[0], 2);
    // Reviews that pandas wrote with doubled quotes come back as the original text.
    assert.ok(ds.texts.some((t) => t.startsWith('"스토리, 연출, 연기, 비주얼 등 영화의 기본 조차 안된 영화에 무슨 평을 해.')));
    assert.ok(ds.texts.includes('"""결혼은 현실이에요 징징징"" 성현아 벗겨놓고 이 정도 얘기 밖에 못 하냐."'));
    // Duplicates agree with an independent count.
    const seen = new Map<string, number>();
    let repeats = 0;
    let conflicting = 0;
    ds.texts.forEach((text, i) => {
      const first = seen.get(text);
      if (first === undefined) seen.set(text, ds.labels[i]);
      else {
        repeats++;
        if (first !== ds.labels[i]) conflicting++;
      }
    });
    assert.equal(ds.duplicates.count, repeats);
    assert.equal(ds.duplicates.conflictingLabels, conflicting);
    assert.equal(ds.duplicates.count, 840);
    assert.equal(ds.duplicates.rows.length, 840);
  });

  test('the CP949 copy (CRLF line ends) gives exactly the same data set', async () => {
    const utf8 = await loadNsmcTest();
    const cp949 = await loadTextClassification(NSMC_TEST_CP949, { onInvalid: 'collect' });
    assert.equal(cp949.source.encoding, 'cp949');
    assert.equal(cp949.source.format, 'tsv');
    assert.deepEqual(cp949.texts, utf8.texts);
    assert.deepEqual(cp949.labels, utf8.labels);
    assert.deepEqual(cp949.lines, utf8.lines);
    assert.deepEqual(
      cp949.problems.map((p) => p.line),
      utf8.problems.map((p) => p.line),
    );
  });

  test('the training sample: 14,274 reviews, 7,082 positive / 7,192 negative (as MANIFEST.md says)', async () => {
    const ds = await loadTextClassification(NSMC_TRAIN);
    assert.equal(ds.texts.length, 14_274);
    assert.deepEqual(labelCounts(ds), [
      { label: '0', count: 7_192 },
      { label: '1', count: 7_082 },
    ]);
    assert.deepEqual(ds.problems, []);
  });
});

describe('formats', () => {
  const sampleRows = async (): Promise<{ text: string; label: string }[]> => {
    const ds = await loadTextClassification(NSMC_TRAIN);
    return ds.texts.slice(0, 300).map((text, i) => ({ text, label: ds.labelNames[ds.labels[i]] }));
  };

  test('the same NSMC rows as CSV, TSV, JSON, JSON Lines and Parquet load identically, each detected by content', async () => {
    const rows = await sampleRows();
    const files: [string, string][] = [
      [write('sample.csv', toDelimited(rows, ',')), 'csv'],
      [write('sample.tsv', toDelimited(rows, '\t')), 'tsv'],
      [write('sample-tab.csv', toDelimited(rows, '\t')), 'tsv'],
      [write('sample.txt', toDelimited(rows, '\t')), 'tsv'],
      [write('sample-comma.txt', toDelimited(rows, ',')), 'csv'],
      [write('sample.json', JSON.stringify(rows.map((r) => ({ text: r.text, label: Number(r.label) })), null, 2)), 'json'],
      [write('sample-lines.json', rows.map((r) => JSON.stringify(r)).join('\n') + '\n'), 'jsonl'],
      [write('sample.jsonl', rows.map((r) => JSON.stringify(r)).join('\n')), 'jsonl'],
      [write('sample.parquet', parquetOf(rows)), 'parquet'],
      [write('parquet-without-extension.bin', parquetOf(rows)), 'parquet'],
      [write('sample-cp949.csv', iconv.encode(toDelimited(rows, ','), 'cp949')), 'csv'],
    ];
    const expectedTexts = rows.map((r) => r.text);
    for (const [file, format] of files) {
      const ds = await loadTextClassification(file);
      assert.equal(ds.source.format, format, file);
      assert.deepEqual(ds.texts, expectedTexts, file);
      assert.deepEqual(
        ds.labels.map((id) => ds.labelNames[id]),
        rows.map((r) => r.label),
        file,
      );
    }
  });

  test('detectTableFormat: Parquet magic wins over the extension; a .parquet that is not Parquet is an error', () => {
    const magic = new TextEncoder().encode('PAR1....PAR1');
    assert.equal(detectTableFormat('x.csv', magic), 'parquet');
    assert.throws(() => detectTableFormat('x.parquet', new TextEncoder().encode('a,b\n')), /not a Parquet file/);
    assert.equal(detectTableFormat('x.json', new TextEncoder().encode('  [{"a":1}]')), 'json');
    assert.equal(detectTableFormat('x.json', new TextEncoder().encode('{"a":1}\n{"a":2}')), 'jsonl');
    assert.equal(detectTableFormat('x', new TextEncoder().encode('{"a":1}')), 'jsonl');
    assert.throws(() => detectTableFormat('x.txt', new TextEncoder().encode('just words\n')), /x\.txt:1: cannot tell the table format/);
  });

  test('line numbers point at the row: CSV with a multi-line field, pretty-printed JSON, JSON Lines', async () => {
    const csv = write('lines.csv', 'text,label\n"첫 줄\n둘째 줄",1\n"좋아요",\n"괜찮아요",0\n');
    const csvData = await loadTextClassification(csv, { onInvalid: 'collect' });
    assert.deepEqual(csvData.lines, [2, 5]);
    assert.deepEqual(
      csvData.problems.map((p) => [p.line, p.field, p.kind]),
      [[4, 'label', 'missing label']],
    );
    await assert.rejects(loadTextClassification(csv), /lines\.csv:4, field "label": label is empty/);

    const json = write('lines.json', JSON.stringify([{ text: '가', label: 1 }, { text: null, label: 0 }, { text: '다', label: 0 }], null, 2));
    const jsonData = await loadTextClassification(json, { onInvalid: 'collect' });
    assert.deepEqual(jsonData.lines, [2, 10]);
    assert.deepEqual(
      jsonData.problems.map((p) => [p.line, p.row, p.kind]),
      [[6, 2, 'missing text']],
    );

    const jsonl = write('lines.jsonl', '{"text":"가","label":1}\n\n{"text":"나"}\n{"text":["x"],"label":0}\n{"text":"라","label":[1,2]}\n');
    const jsonlData = await loadTextClassification(jsonl, { onInvalid: 'collect' });
    assert.deepEqual(
      jsonlData.problems.map((p) => [p.line, p.kind]),
      [
        [3, 'missing label'],
        [4, 'invalid text'],
        [5, 'invalid label'],
      ],
    );
    await assert.rejects(loadTextClassification(write('bad.jsonl', '{"text":"가","label":1}\n{"text": oops}\n')), /bad\.jsonl:2: not valid JSON/);
  });

  test('Parquet rows with a missing label are reported by row number', async () => {
    const file = write(
      'nulls.parquet',
      parquetWriteBuffer({
        columnData: [
          { name: 'review', data: ['좋다', '별로', '그냥'], type: 'STRING' },
          { name: 'label', data: ['pos', null, 'neg'], type: 'STRING' },
        ],
      }),
    );
    await assert.rejects(loadTextClassification(file), /nulls\.parquet, field "label": label is missing \(row 2\)/);
    const ds = await loadTextClassification(file, { onInvalid: 'collect' });
    assert.deepEqual(ds.texts, ['좋다', '그냥']);
    assert.deepEqual(ds.labelNames, ['neg', 'pos']);
    assert.deepEqual(ds.problems.map((p) => [p.line, p.row]), [[null, 2]]);
  });

  test('broken CSV is an error with its line', async () => {
    await assert.rejects(loadTextClassification(write('ragged.csv', 'text,label\n가,1\n나\n')), /ragged\.csv:3: cannot parse as CSV/);
    await assert.rejects(loadTextClassification(write('open-quote.tsv', 'text\tlabel\n"가\t1\n')), /open-quote\.tsv:2: cannot parse as TSV: Quote Not Closed/);
    await assert.rejects(loadTextClassification(write('dup-header.csv', 'text,text,label\n')), /dup-header\.csv:1: column name 'text' appears twice/);
  });
});

describe('columns and labels', () => {
  test('text and label columns are found among the study-004 names, in order, then case-insensitively, or named', async () => {
    const review = await loadTextClassification(write('review.csv', 'id,review,labels\n1,좋아요,pos\n'));
    assert.equal(review.source.textColumn, 'review');
    assert.equal(review.source.labelColumn, 'labels');
    const both = await loadTextClassification(write('both.csv', 'document,text,label\n문서,본문,1\n'));
    assert.equal(both.source.textColumn, 'text');
    const upper = await loadTextClassification(write('upper.csv', 'Sentence,Label\n문장,1\n'));
    assert.deepEqual([upper.source.textColumn, upper.source.labelColumn], ['Sentence', 'Label']);
    const named = await loadTextClassification(write('named.csv', '본문,감성\n재밌다,긍정\n'), { textColumn: '본문', labelColumn: '감성' });
    assert.deepEqual(named.texts, ['재밌다']);
    await assert.rejects(
      loadTextClassification(write('nocol.csv', 'body,label\n가,1\n')),
      /nocol\.csv: has no text column: looked for text, content, review, document, sentence among columns body, label; name it with textColumn/,
    );
    await assert.rejects(loadTextClassification(write('nocol2.csv', 'text,label\n가,1\n'), { labelColumn: 'y' }), /field "y": has no label column 'y'/);
  });

  test('labels: integers sort numerically, other labels by code point; labelOrder fixes ids and rejects others', async () => {
    assert.deepEqual(sortLabelValues(['10', '2', '-1', '2']), ['-1', '2', '10']);
    assert.deepEqual(sortLabelValues(['중립', '긍정', '부정']), ['긍정', '부정', '중립']);
    const file = write('korean-labels.csv', 'text,label\n최고,긍정\n최악,부정\n글쎄,중립\n');
    const ordered = await loadTextClassification(file, { labelOrder: ['부정', '중립', '긍정'] });
    assert.deepEqual(ordered.labelNames, ['부정', '중립', '긍정']);
    assert.deepEqual(ordered.labels, [2, 0, 1]);
    await assert.rejects(loadTextClassification(file, { labelOrder: ['부정', '긍정'] }), /korean-labels\.csv:4, field "label": label '중립' is not one of 부정, 긍정/);
    const collected = await loadTextClassification(file, { labelOrder: ['부정', '긍정'], onInvalid: 'collect' });
    assert.deepEqual(collected.problems.map((p) => [p.line, p.kind]), [[4, 'unknown label']]);
    assert.equal(collected.texts.length, 2);
  });

  test('duplicates are kept and counted, with conflicting labels counted apart', async () => {
    const ds = await loadTextClassification(write('dups.tsv', 'text\tlabel\n재밌다\t1\n별로\t0\n재밌다\t1\n재밌다\t0\n별로 \t0\n'));
    assert.equal(ds.texts.length, 5);
    assert.equal(ds.duplicates.count, 2);
    assert.equal(ds.duplicates.conflictingLabels, 1);
    assert.deepEqual(ds.duplicates.rows, [
      { line: 4, row: 3, firstLine: 2, firstRow: 1, sameLabel: true },
      { line: 5, row: 4, firstLine: 2, firstRow: 1, sameLabel: false },
    ]);
  });

  test('untrusted column names and JSON keys cannot pollute prototypes', async () => {
    const json = write('proto.jsonl', '{"text":"가","label":1,"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}\n');
    const table = await readTable(json);
    assert.deepEqual(table.columns, ['text', 'label', '__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(table.rows[0].values), null);
    const csv = await readTable(write('proto.csv', '__proto__,text,label\nx,가,1\n'));
    assert.equal(csv.rows[0].values.__proto__, 'x');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('property: rows written as CSV / TSV / JSON Lines load back exactly (quotes, commas, tabs, newlines, Korean)', async () => {
    const cell = fc
      .array(fc.oneof(fc.constantFrom('가', '힣', 'ㅋ', ' ', ',', '\t', '"', '\n', "'", 'a', '1', '!', '😀'), fc.string({ maxLength: 3 })), {
        minLength: 1,
        maxLength: 12,
      })
      .map((parts) => parts.join('').replace(/\r/g, ''))
      .filter((text) => text.trim() !== '');
    const rowsArb = fc.array(fc.record({ text: cell, label: fc.constantFrom('0', '1', '2') }), { minLength: 1, maxLength: 25 });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(rowsArb, async (rows) => {
        run++;
        for (const [name, content] of [
          [`p${run}.csv`, toDelimited(rows, ',')],
          [`p${run}.tsv`, toDelimited(rows, '\t')],
          [`p${run}.jsonl`, rows.map((r) => JSON.stringify(r)).join('\n')],
        ] as const) {
          const ds = await loadTextClassification(write(name, content));
          assert.deepEqual(ds.texts, rows.map((r) => r.text), name);
          assert.deepEqual(ds.labels.map((id) => ds.labelNames[id]), rows.map((r) => r.label), name);
          assert.deepEqual(ds.labelNames, sortLabelValues(rows.map((r) => r.label)));
        }
      }),
      { numRuns: 60 },
    );
  });

  test('property: each record of a pretty-printed JSON array gets the line it starts on', async () => {
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }));
    const record = fc.record({ text: fc.string({ maxLength: 10 }), label: fc.integer({ min: 0, max: 3 }), extra: value });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 12 }), fc.constantFrom(0, 1, 2, '\t'), async (records, indent) => {
        const table = await readTable(write(`lines-${++run}.json`, JSON.stringify(records, null, indent)));
        const expected: number[] = [];
        let line = indent === 0 ? 1 : 2;
        for (const r of records) {
          expected.push(line);
          if (indent !== 0) line += JSON.stringify(r, null, indent).split('\n').length;
        }
        assert.deepEqual(table.rows.map((r) => r.line), expected);
      }),
      { numRuns: 100 },
    );
  });

  test('property: rows written as Parquet load back exactly', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ text: fc.string({ minLength: 1, maxLength: 20 }).filter((t) => t.trim() !== ''), label: fc.constantFrom('0', '1', '7') }), {
          minLength: 1,
          maxLength: 30,
        }),
        async (rows) => {
          const ds = await loadTextClassification(write(`p${++run}.parquet`, parquetOf(rows)));
          assert.deepEqual(ds.texts, rows.map((r) => r.text));
          assert.deepEqual(ds.labels.map((id) => ds.labelNames[id]), rows.map((r) => r.label));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('splitTrainValidation', () => {
  const toy = (sizes: number[]): LabeledTexts => {
    const labels = sizes.flatMap((size, id) => Array.from({ length: size }, () => id));
    return { texts: labels.map((_, i) => `t${i}`), labels, labelNames: sizes.map((_, id) => `c${id}`) };
  };

  test('property: quotas sum to round(n × ratio) and give each class floor or ceil of its share', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 6 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (sizes, ratio) => {
        const n = sizes.reduce((a, b) => a + b, 0);
        fc.pre(n >= 2);
        const quotas = stratifiedQuotas(sizes, ratio);
        assert.equal(quotas.reduce((a, b) => a + b, 0), Math.min(n - 1, Math.max(1, Math.round(n * ratio))));
        quotas.forEach((q, c) => {
          assert.ok(q >= Math.floor(sizes[c] * ratio) && q <= Math.ceil(sizes[c] * ratio), `class ${c}: ${q} of ${sizes[c]}`);
        });
      }),
      { numRuns: 500 },
    );
  });

  test('property: the split partitions the data, is stratified by the quotas, keeps order, and depends only on the seed', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (sizes, ratio, seed) => {
        const data = toy(sizes);
        fc.pre(data.texts.length >= 2);
        const a = splitTrainValidation(data, { ratio, seed });
        const b = splitTrainValidation(data, { ratio, seed });
        assert.deepEqual(a, b);
        const all = [...a.trainIndices, ...a.validationIndices].sort((x, y) => x - y);
        assert.deepEqual(all, data.texts.map((_, i) => i));
        assert.deepEqual(a.validationIndices, [...a.validationIndices].sort((x, y) => x - y));
        const quotas = stratifiedQuotas(sizes, ratio);
        const perClass = sizes.map((_, c) => a.validation.labels.filter((l) => l === c).length);
        assert.deepEqual(perClass, quotas);
        assert.deepEqual(a.validation.texts, a.validationIndices.map((i) => data.texts[i]));
      }),
      { numRuns: 200 },
    );
  });

  test('different seeds choose different validation rows; bad ratios and tiny sets are refused', () => {
    const data = toy([50, 50]);
    const one = splitTrainValidation(data, { ratio: 0.2, seed: 1 });
    const two = splitTrainValidation(data, { ratio: 0.2, seed: 2 });
    assert.notDeepEqual(one.validationIndices, two.validationIndices);
    assert.throws(() => splitTrainValidation(data, { ratio: 1, seed: 1 }), UsageError);
    assert.throws(() => splitTrainValidation(data, { ratio: 0, seed: 1 }), /between 0 and 1/);
    assert.throws(() => splitTrainValidation(toy([1]), { ratio: 0.5, seed: 1 }), /at least 2 examples/);
  });

  test('the shipped config.ini splits the NSMC training sample 90/10 per class with seed 42', async () => {
    const config = readTrainingConfig('data/nsmc/config.ini');
    const data = await loadTrainValidation(config.trainFile, { validFile: config.validFile, splitRatio: config.splitRatio, seed: config.seed, numLabels: config.numLabels });
    assert.equal(data.validation.texts.length, Math.round(14_274 * 0.1));
    assert.equal(data.train.texts.length + data.validation.texts.length, 14_274);
    assert.deepEqual(data.labelNames, ['0', '1']);
    // 7,192 negative and 7,082 positive reviews: 10% of each class, rounded either way.
    const counts = labelCounts(data.validation).map((c) => c.count);
    assert.ok(counts[0] === 719 || counts[0] === 720, `negative: ${counts[0]}`);
    assert.ok(counts[1] === 708 || counts[1] === 709, `positive: ${counts[1]}`);
    assert.equal(data.split?.seed, 42);
    await assert.rejects(loadTrainValidation(config.trainFile, { splitRatio: 0.2, numLabels: 3 }), /has 2 labels \(0, 1\) but num_labels is 3/);
  });

  test('with a validation file its labels must be among the training labels', async () => {
    const train = write('tv-train.csv', 'text,label\n좋아,pos\n싫어,neg\n');
    const valid = write('tv-valid.csv', 'text,label\n그래,pos\n몰라,neutral\n');
    await assert.rejects(loadTrainValidation(train, { validFile: valid }), /tv-valid\.csv:3, field "label": label 'neutral' is not one of neg, pos/);
    const ok = await loadTrainValidation(train, { validFile: write('tv-valid-ok.csv', 'text,label\n그래,pos\n') });
    assert.deepEqual(ok.validation.labels, [1]);
    assert.equal(ok.split, null);
    await assert.rejects(loadTrainValidation(train, {}), /set valid_file or split_ratio/);
  });
});

describe('toDataFrame', () => {
  test('gives a danfojs DataFrame with text, label name and id', async () => {
    const df = await toDataFrame({ texts: ['좋다', '별로', '그냥'], labels: [1, 0, 1], labelNames: ['부정', '긍정'] }, { limit: 2 });
    assert.deepEqual(df.shape, [2, 3]);
    assert.deepEqual(df.columns, ['text', 'label', 'label_id']);
    assert.deepEqual(df['label'].values, ['긍정', '부정']);
  });
});
