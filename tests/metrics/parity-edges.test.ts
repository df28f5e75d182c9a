/**
 * Issue 15's edge paths one by one, with the reference's answer written out (the differential test,
 * reference-parity.test.ts, checks the same against the live references at scale), and the silent
 * wrong answers that are now clear errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ClassLabelError,
  classLabels,
  classificationReportEntries,
  classificationReportJson,
  formatClassificationReport as formatClsReport,
  precisionRecallFscoreSupport as clsPrfs,
  scoreClassification,
} from '../../lib/metrics/classification.js';
import { KLUE_BASELINE_LABELS, klueCharMacroF1, klueEntityMacroF1, klueScores } from '../../lib/metrics/klue.js';
import { MetricsJsonError, OrderedRecord, parseMetricsJson, previewJson, stringifyMetricsJson } from '../../lib/metrics/json.js';
import { MetricOptionError, averageScores, perLabelScores } from '../../lib/metrics/prf.js';
import { pythonFloatRepr } from '../../lib/metrics/report-text.js';
import {
  accuracyScore,
  classificationReport,
  entityCounts,
  f1Score,
  formatClassificationReport,
  performanceMeasure,
  precisionRecallFscoreSupport,
  precisionScore,
  recallScore,
  reportEntries,
  reportRecord,
} from '../../lib/metrics/seqeval.js';
import { defaultEntities, detectScheme, getEntities, schemeTransition, splitStrictTag, strictEntities, strictPrefixName } from '../../lib/ner/scheme.js';

describe('M3: key order with integer-like entity types', () => {
  const gold = [['B-10', 'B-2', 'B-x', 'O']];
  const pred = [['O', 'B-x', 'B-2', 'B-10']];
  test("report entries and JSON text keep seqeval's order (10, 2, x), which a JS object would not", () => {
    const report = classificationReport(gold, pred);
    assert.deepEqual(report.labels, ['10', '2', 'x']);
    assert.deepEqual(reportEntries(report).map(([key]) => key), ['10', '2', 'x', 'micro avg', 'macro avg', 'weighted avg']);
    assert.deepEqual(Object.keys(report.dict).slice(0, 3), ['2', '10', 'x']); // why the entries exist
    const text = stringifyMetricsJson(reportRecord(report));
    assert.ok(text.indexOf('"10"') < text.indexOf('"2"') && text.indexOf('"2"') < text.indexOf('"x"'), text);
  });
  test('classification JSON too', () => {
    const result = scoreClassification(['10', '2', 'x'], ['10', 'x', '2'], { zeroDivision: 0 });
    assert.deepEqual(classificationReportEntries(result).map(([key]) => key), ['10', '2', 'x', 'accuracy', 'macro avg', 'weighted avg']);
    assert.match(classificationReportJson(result), /^\{"10":.*"2":.*"x":.*"accuracy":/);
  });
});

describe('M4: one NaN encoding that round-trips', () => {
  test('NaN and infinities are written as Python writes them and read back', () => {
    const value = new OrderedRecord<unknown>([['b', NaN], ['a', [Infinity, -Infinity, 1.5, -0]], ['s', 'NaN'], ['t', 'x NaN y']]);
    const text = stringifyMetricsJson(value);
    assert.equal(text, '{"b":NaN,"a":[Infinity,-Infinity,1.5,0],"s":"NaN","t":"x NaN y"}');
    const back = parseMetricsJson(text) as Record<string, unknown>;
    assert.ok(Number.isNaN(back.b));
    assert.deepEqual(back.a, [Infinity, -Infinity, 1.5, 0]);
    assert.equal(back.s, 'NaN'); // a string stays a string
    assert.equal(back.t, 'x NaN y');
  });
  test('property: any JSON value with non-finite numbers round-trips', () => {
    const number = fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity));
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, number, fc.string(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        // -0 is written 0, as JSON.stringify does; NaN equals NaN here.
        assert.deepEqual(parseMetricsJson(stringifyMetricsJson(value)), normalize(value));
      }),
    );
  });
  test('the macro row of a report without entities and the KLUE entity figure stay NaN in JSON', () => {
    const report = classificationReport([['O']], [['O']], { zeroDivision: 0 });
    const klue = klueScores([['O']], [['O']]);
    assert.ok(Number.isNaN(klue.entity_macro_f1));
    const text = stringifyMetricsJson(new OrderedRecord<unknown>([...reportEntries(report), ['klue', klue]]));
    assert.match(text, /"macro avg":\{"precision":NaN,"recall":NaN,"f1-score":NaN,"support":0\}/);
    assert.match(text, /"entity_macro_f1":NaN/);
    const back = parseMetricsJson(text) as Record<string, { precision: number; entity_macro_f1: number }>;
    assert.ok(Number.isNaN(back['macro avg'].precision) && Number.isNaN(back.klue.entity_macro_f1));
  });
  test('too deep or cyclic values are a clear error, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(() => stringifyMetricsJson(deep), MetricsJsonError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => stringifyMetricsJson(cyclic), /refers to itself/);
    assert.equal(previewJson(deep, 10), '[[[[[[[[[[…');
  });
});

function normalize(value: unknown): unknown {
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value;
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

describe('M5: average', () => {
  const t = [['O', 'O', 'B-MISC', 'I-MISC', 'B-MISC', 'O', 'O'], ['B-PER', 'I-PER', 'O']];
  const p = [['O', 'O', 'B-MISC', 'I-MISC', 'B-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  test("average null gives one score per type (seqeval's docstring: array([0.5, 1. ]))", () => {
    assert.deepEqual(f1Score(t, p, { average: null }), [0.5, 1]);
    assert.deepEqual(precisionScore(t, p, { average: null }), [0.5, 1]);
    assert.deepEqual(recallScore(t, p, { average: null }), [0.5, 1]);
    const prfs = precisionRecallFscoreSupport(t, p);
    assert.deepEqual(prfs, { labels: ['MISC', 'PER'], precision: [0.5, 1], recall: [0.5, 1], fScore: [0.5, 1], support: [2, 1] });
  });
  test('unsupported averages raise instead of giving another average', () => {
    for (const average of ['mega', 'samples', 'binary', 'MICRO', 1]) {
      assert.throws(() => f1Score(t, p, { average: average as 'micro' }), MetricOptionError);
      assert.throws(() => precisionRecallFscoreSupport(t, p, { average: average as 'micro' }), /average must be null, 'micro', 'macro' or 'weighted'/);
      assert.throws(() => clsPrfs(['a'], ['a'], { average: average as 'micro' }), MetricOptionError);
    }
    assert.throws(() => averageScores([], null as unknown as 'micro'), MetricOptionError);
  });
});

describe('M6: suffix tags', () => {
  test("seqeval's suffix example and strict-mode suffix tokens", () => {
    const tags = ['O', 'O', 'O', 'MISC-B', 'MISC-I', 'MISC-I', 'O', 'PER-B', 'PER-I'];
    assert.deepEqual(defaultEntities(tags, { suffix: true }), [{ type: 'MISC', start: 3, end: 6 }, { type: 'PER', start: 7, end: 9 }]);
    assert.deepEqual(getEntities(['PER-B', 'PER-I', 'O', 'LOC-B'], { mode: 'strict', scheme: 'IOB2', suffix: true }), [{ type: 'PER', start: 0, end: 2 }, { type: 'LOC', start: 3, end: 4 }]);
    const token = splitStrictTag('ORG-COMPANY-I', undefined, undefined, { suffix: true });
    assert.deepEqual([strictPrefixName(token), token.type], ['I', 'ORG-COMPANY']);
    assert.equal(detectScheme([['PER-B', 'PER-I', 'O']], { suffix: true }), 'IOB2');
  });
  test('scores of suffix tags equal those of the same tags written as prefixes', () => {
    const flip = (tags: string[][]) => tags.map((s) => s.map((tag) => (tag === 'O' ? tag : `${tag.slice(2)}-${tag[0]}`)));
    const gold = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['O', 'I-ORG', 'I-ORG']];
    const pred = [['B-PER', 'O', 'O', 'B-LOC'], ['B-ORG', 'I-ORG', 'I-ORG']];
    for (const mode of ['default', 'strict'] as const) {
      const prefix = classificationReport(gold, pred, { mode, scheme: mode === 'strict' ? 'IOB2' : undefined });
      const suffix = classificationReport(flip(gold), flip(pred), { mode, scheme: mode === 'strict' ? 'IOB2' : undefined, suffix: true });
      assert.deepEqual(reportEntries(suffix), reportEntries(prefix));
    }
  });
  test('the scheme tables answer is_start / is_inside / is_end as seqeval (IOB1: I-PER then B-PER)', () => {
    assert.deepEqual(schemeTransition('IOB1', 'I-PER', 'B-PER'), { valid: true, start: true, inside: false, end: true });
    assert.deepEqual(schemeTransition('IOB2', 'O', 'E-PER'), { valid: false, start: false, inside: false, end: false });
    assert.deepEqual(strictEntities(['PER-B', 'PER-E', 'LOC-S'], 'IOBES', 0, { suffix: true }).map((e) => e.type), ['PER', 'LOC']);
  });
});

describe('M7 and M8: scikit-learn edge paths', () => {
  test('labels given, none of them in gold: values, as scikit-learn', () => {
    const result = scoreClassification(['2'], ['2'], { labels: ['x'], zeroDivision: 'warn' });
    assert.equal(result.accuracy, 1);
    assert.equal(result.confusionMatrixDefined, false);
    assert.equal(
      formatClsReport(result),
      '              precision    recall  f1-score   support\n\n           x       0.00      0.00      0.00         0\n\n' +
        '   micro avg       0.00      0.00      0.00         0\n   macro avg       0.00      0.00      0.00         0\nweighted avg       0.00      0.00      0.00         0\n',
    );
  });
  test("no sample right at all: scikit-learn 1.2 prints the support as 2.0 (float counts), byte for byte", () => {
    const result = scoreClassification(['a', 'b'], ['b', 'a'], { zeroDivision: 0 });
    assert.equal(result.supportIsFloat, true);
    assert.equal(
      formatClsReport(result),
      '              precision    recall  f1-score   support\n\n           a       0.00      0.00      0.00       1.0\n           b       0.00      0.00      0.00       1.0\n\n' +
        '    accuracy                           0.00       2.0\n   macro avg       0.00      0.00      0.00       2.0\nweighted avg       0.00      0.00      0.00       2.0\n',
    );
    assert.equal(scoreClassification(['a', 'b'], ['a', 'a']).supportIsFloat, false);
  });
  test('averaged precision_recall_fscore_support has support None, as scikit-learn', () => {
    assert.equal(clsPrfs(['a', 'b'], ['a', 'a'], { average: 'macro', zeroDivision: 0 }).support, null);
  });
});

describe('labels typed as scikit-learn types them', () => {
  const tok = (json: string) => ({ json });
  test('floats print 1.0, booleans True / False, ints as digits; numbers sort by value', () => {
    assert.deepEqual(classLabels([tok('1.0'), tok('2.0')], [tok('2.0'), tok('1')]).labels, ['1.0', '2.0']);
    assert.deepEqual(classLabels([tok('1'), tok('2')], [tok('2.0'), tok('1.0')]).labels, ['1', '2']); // gold's ints kept
    assert.deepEqual(classLabels([tok('1'), tok('2')], [tok('3.0'), tok('1.0')]).labels, ['1.0', '2.0', '3.0']); // a float member
    assert.deepEqual(classLabels([tok('10'), tok('9')], [tok('9'), tok('10')]).labels, ['9', '10']);
    assert.deepEqual(classLabels([true, false], [true, true]), { gold: ['True', 'False'], pred: ['True', 'True'], labels: ['False', 'True'], kind: 'bool' });
    assert.deepEqual(classLabels(['a', tok('2'), tok('1.0'), true], ['a', 'a', 'a', 'a']).gold, ['a', '2', '1.0', 'True']); // NumPy str array
    assert.equal(pythonFloatRepr(1e16), '1e+16');
  });
  test('continuous targets and mixed kinds are errors naming the sample', () => {
    assert.throws(() => classLabels([tok('1'), tok('2.5')], [tok('1'), tok('1')]), (e: unknown) => e instanceof ClassLabelError && e.side === 'gold' && e.index === 1 && /continuous is not supported/.test(e.message));
    assert.throws(() => classLabels(['a'], [tok('12')]), /Mix of label input types/);
  });
});

describe('KLUE', () => {
  test("the character figure sums per-tag F1 in KLUE-baseline's label order", () => {
    assert.deepEqual([...KLUE_BASELINE_LABELS], ['B-PS', 'I-PS', 'B-LC', 'I-LC', 'B-OG', 'I-OG', 'B-DT', 'I-DT', 'B-TI', 'I-TI', 'B-QT', 'I-QT', 'O']);
    const gold = [['B-PS', 'I-PS', 'O', 'B-LC', 'B-DT', 'I-DT', 'B-QT']];
    const pred = [['B-PS', 'O', 'O', 'B-LC', 'B-DT', 'B-TI', 'I-QT']];
    const counts = KLUE_BASELINE_LABELS.map((label) => ({
      label,
      trueSum: gold[0].filter((t) => t === label).length,
      predSum: pred[0].filter((t) => t === label).length,
      tpSum: gold[0].filter((t, i) => t === label && pred[0][i] === label).length,
    }));
    assert.equal(klueCharMacroF1(gold, pred), averageScores(counts, 'macro', { zeroDivision: 1 }).f1 * 100);
    assert.ok(perLabelScores(counts).length === 13);
  });
});

describe('silent wrong answers are clear errors now', () => {
  test("a flat string[] is a TypeError (seqeval: 'Found input variables without list of list.')", () => {
    const flat = ['B-PER', 'O'] as unknown as string[][];
    for (const run of [
      () => f1Score(flat, flat),
      () => precisionScore(flat, flat),
      () => classificationReport(flat, flat),
      () => entityCounts(flat, flat),
      () => klueEntityMacroF1(flat, flat),
      () => klueCharMacroF1(flat, flat),
      () => f1Score([['B-PER']], flat),
    ]) {
      assert.throws(run, (e: unknown) => e instanceof TypeError && /not a list of tags: pass string\[\]\[\]/.test(e.message));
    }
    assert.throws(() => f1Score([[1 as unknown as string]], [['O']]), TypeError);
  });
  test('zeroDivision other than 0, 1 or "warn" is an error in-process, as on the command line', () => {
    for (const zeroDivision of [2, true, '0', 'Warn', -1]) {
      const z = zeroDivision as 0;
      assert.throws(() => f1Score([['B-PER']], [['O']], { zeroDivision: z }), (e: unknown) => e instanceof MetricOptionError && /zeroDivision must be 0, 1 or 'warn'/.test(e.message));
      assert.throws(() => classificationReport([['B-PER']], [['O']], { zeroDivision: z }), MetricOptionError);
      assert.throws(() => scoreClassification(['a'], ['b'], { zeroDivision: z }), MetricOptionError);
      assert.throws(() => perLabelScores([{ label: 'a', trueSum: 1, predSum: 0, tpSum: 0 }], { zeroDivision: z }), MetricOptionError);
    }
  });
});

describe('graceful where seqeval crashes (documented in lib/metrics/seqeval.ts)', () => {
  test('a text report without entities renders (seqeval: max() arg is an empty sequence)', () => {
    assert.match(formatClassificationReport(classificationReport([['O']], [['O']], { zeroDivision: 0 })), /macro avg +nan +nan +nan +0\n/);
  });
  test('no sentences score like no entities (seqeval: TypeError); token accuracy of nothing is NaN', () => {
    assert.equal(f1Score([], [], { zeroDivision: 0 }), 0);
    assert.ok(Number.isNaN(accuracyScore([], [])));
    assert.deepEqual(performanceMeasure([['O', 'B-PER']], [['O', 'O']]), { TP: 0, FP: 0, FN: 1, TN: 1 });
  });
});
