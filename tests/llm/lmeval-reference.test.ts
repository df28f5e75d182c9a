/**
 * hanlab's re-statements against lm-eval's own code (the reference copy, run in Debian's Python):
 * the KorMedMCQA answer-extraction cascade and `exact_match_hf_evaluate` on random strings with Hangul
 * next to the letters, lm-eval's own tests of the filter, and the task templates rendered by jinja2.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { extractChoice, FILTER_FUNCTIONS } from '../../lib/llm/lmeval/filters.js';
import { exactMatch, type ExactMatchOptions } from '../../lib/llm/lmeval/metrics.js';
import { applyTemplate } from '../../lib/llm/lmeval/template.js';
import { loadTaskYaml, parseTaskConfig } from '../../lib/llm/lmeval/task-config.js';
import { shippedTasksDir } from '../../lib/llm/lmeval/task-index.js';
import path from 'node:path';
import { lmevalReference, runLmevalPytest, skipUnlessLmevalReference } from './lmeval-helpers.js';

const skip = skipUnlessLmevalReference();

/** Pieces that make the cascade's patterns and Python's Unicode `\b` / `\w` / `\s` matter. */
const TOKENS = [
  'A', 'B', 'C', 'D', 'E', 'a', 'b', 'c', 'd', 'e', 'F', 'x', 'Z', '정답', '정답은', '입니다', '답', '가', '힣', 'ㄱ', '一',
  ' ', '  ', '\n', '\t', ':', '：', '.', '*', '(', ')', '_', '-', ',', '1', '٣', '²', 'é', '\u0301', '\u3000', '\u00a0', '\u001c',
  '\u0085', '\ufeff', '\u0000', 'ß', 'İ', 'Σ', 'ǅ', '😀',
];
const text = fc.array(fc.constantFrom(...TOKENS), { maxLength: 14 }).map((parts) => parts.join(''));

const PATTERNS = [' ', '\n', '\\s+', '\\b[A-E]\\b', ',', '\\.$', '^정답', '[가-힣]+', '(?i)b', 'x*', '\\w+\\.', '\\d', '[^\\w\\s]', '\\B', '답$'];
const options: fc.Arbitrary<ExactMatchOptions> = fc.record(
  {
    ignoreCase: fc.boolean(),
    ignorePunctuation: fc.boolean(),
    ignoreNumbers: fc.boolean(),
    regexesToIgnore: fc.option(fc.array(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  },
  { requiredKeys: [] },
);

function pythonKwargs(o: ExactMatchOptions): Record<string, unknown> {
  const kwargs: Record<string, unknown> = {};
  if (o.ignoreCase !== undefined) kwargs.ignore_case = o.ignoreCase;
  if (o.ignorePunctuation !== undefined) kwargs.ignore_punctuation = o.ignorePunctuation;
  if (o.ignoreNumbers !== undefined) kwargs.ignore_numbers = o.ignoreNumbers;
  if (o.regexesToIgnore !== undefined) kwargs.regexes_to_ignore = o.regexesToIgnore;
  return kwargs;
}

describe('lm-eval KorMedMCQA filter and exact_match against the Python originals', { skip }, () => {
  test("lm-eval's own tests of the filter pass on the reference code, and hanlab's extractChoice gives every expected answer", () => {
    const { status, output } = runLmevalPytest();
    assert.equal(status, 0, output);
    assert.match(output, /16 passed/);
    const cases = lmevalReference<[string, string][]>('cases');
    assert.ok(cases.length >= 15);
    for (const [output, expected] of cases) assert.equal(extractChoice(output), expected, JSON.stringify(output));
    // test_kormedmcqa_extract_choice_filter, on hanlab's filter step
    const filter = FILTER_FUNCTIONS['!function utils.ExtractChoiceFilter'];
    assert.deepEqual(filter.apply([['정답: C'], ['정답은 A 입니다'], ['모르겠어요']], {}), [['C'], ['A'], ['']]);
  });

  test('extract_choice: 600 random strings, hanlab = Python', () => {
    const samples = fc.sample(text, { numRuns: 600, seed: 22 });
    samples.push('정답B', 'B정답', '가B.', 'ǅB', 'B\u0301', '_B_', '٣B', 'x정답 :  c', '정답은\u3000e\u3000입니다', '(b)', 'B.\nC.');
    const python = lmevalReference<string[]>('extract', samples);
    const mismatches = samples.map((sample, i) => [sample, extractChoice(sample), python[i]]).filter(([, ours, theirs]) => ours !== theirs);
    assert.deepEqual(mismatches, []);
  });

  test('exact_match_hf_evaluate: 600 random pairs and options, hanlab = Python', () => {
    const cases = fc.sample(fc.record({ pred: text, ref: text, options }), { numRuns: 600, seed: 2222 });
    cases.push({ pred: 'B\u0000', ref: 'B', options: {} }, { pred: 'b!\u0000', ref: 'B', options: { ignoreCase: true, ignorePunctuation: true } });
    const python = lmevalReference<number[]>('exact_match', cases.map((c) => ({ pred: c.pred, ref: c.ref, kwargs: pythonKwargs(c.options) })));
    const mismatches = cases.map((c, i) => ({ ...c, ours: exactMatch(c.pred, c.ref, c.options), python: python[i] })).filter((c) => c.ours !== c.python);
    assert.deepEqual(mismatches, []);
    assert.ok(python.some((score) => score === 1) && python.some((score) => score === 0), 'both outcomes occur');
  });
});

const docText = fc.array(fc.constantFrom('가', '나', '정답', 'A', 'b', ' ', '\n', '\t', '\u3000', '\u001c', '\u0085', '\ufeff', '{', '}', '%', '"', "'", '\\', '😀'), { maxLength: 10 }).map((parts) => parts.join(''));
const doc = fc.record({ question: docText, A: docText, B: docText, C: docText, D: docText, E: docText, answer: fc.integer({ min: 1, max: 5 }), year: fc.integer({ min: 2012, max: 2023 }) });

describe('task templates rendered by nunjucks = jinja2 (as lm-eval configures it)', { skip }, () => {
  test("the shipped KorMedMCQA templates and Python string methods, on 150 random documents", () => {
    const task = parseTaskConfig(loadTaskYaml(path.join(shippedTasksDir(), 'kormedmcqa', 'doctor.yaml')), 'doctor.yaml');
    const templates = [
      task.docToText as string,
      task.docToTarget as string,
      task.fewshot.docToText as string,
      '{{ question.lstrip() }}|{{ A.rstrip() }}|{{ B.strip(" 가") }}',
      '{{ question.split() | join("/") }}|{{ A.split("가") | join("+") }}|{{ B.split(None, 1) | join("/") }}',
      '{{ question.replace("가", "나") }}|{{ A.upper() }}|{{ B.lower() }}|{{ year }}|{{ ["x", "y", "z"][-1] }}',
      "{{ C | regex_replace('\\\\s+', ' ') }}|{{ '%s' }}\n",
    ];
    const docs = fc.sample(doc, { numRuns: 150, seed: 7 });
    const requests = docs.flatMap((d) => templates.map((template) => ({ template, doc: d })));
    const python = lmevalReference<string[]>('render', requests);
    const mismatches = requests.map((r, i) => ({ ...r, ours: applyTemplate(r.template, r.doc), jinja2: python[i] })).filter((r) => r.ours !== r.jinja2);
    assert.deepEqual(mismatches.slice(0, 3), []);
  });
});
