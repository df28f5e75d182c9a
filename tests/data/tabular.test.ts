/** lib/data/tabular.ts: reading the table formats (CSV, TSV, JSON, JSON Lines, Parquet), detected by content. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { detectTableFormat, readTable } from '../../lib/data/tabular.js';
import { loadTextClassification, sortLabelValues } from '../../lib/data/text-classification.js';
import { NSMC_TRAIN, parquetOf, tableWriter, toDelimited } from './table-files.js';

const write = tableWriter();

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

describe('reading tables', () => {
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
