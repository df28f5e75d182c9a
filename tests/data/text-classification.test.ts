/** lib/data/text-classification.ts: text and label columns, label ids, unusable rows, duplicates, the DataFrame view. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { labelCounts, loadTextClassification, sortLabelValues, toDataFrame, type TextClassificationDataset } from '../../lib/data/text-classification.js';
import { InputError } from '../../lib/errors.js';
import { NSMC_TEST, NSMC_TEST_CP949, NSMC_TRAIN, tableWriter } from './table-files.js';

const write = tableWriter();

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
});

describe('toDataFrame', () => {
  test('gives a danfojs DataFrame with text, label name and id', async () => {
    const df = await toDataFrame({ texts: ['좋다', '별로', '그냥'], labels: [1, 0, 1], labelNames: ['부정', '긍정'] }, { limit: 2 });
    assert.deepEqual(df.shape, [2, 3]);
    assert.deepEqual(df.columns, ['text', 'label', 'label_id']);
    assert.deepEqual(df['label'].values, ['긍정', '부정']);
  });
});
