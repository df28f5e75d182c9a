import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { parquetWriteBuffer } from 'hyparquet-writer';
import {
  formatMcqaPrompt,
  lengthStats,
  loadKorMedMcqa,
  MCQA_INSTRUCTION,
  MCQA_LETTERS,
  mcqaFileRole,
  parseMcqaAnswer,
  readKorMedMcqaFile,
  summarizeKorMedMcqa,
  type McqaLetter,
} from '../../lib/data/kormedmcqa.js';
import { InputError } from '../../lib/errors.js';

const FIXTURES = 'tests/fixtures/kormedmcqa';

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hanlab-mcqa-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | ArrayBuffer): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content instanceof ArrayBuffer ? new Uint8Array(content) : content);
  return file;
}

const csvField = (value: string): string => `"${value.replace(/"/g, '""')}"`;

describe('loadKorMedMcqa', () => {
  test('reads the published-format fixtures: subset and split from the file names, 1-based answers as letters', async () => {
    const data = await loadKorMedMcqa(FIXTURES);
    assert.deepEqual(
      data.files.map((f) => [path.relative(FIXTURES, f.file), f.subset, f.split, f.count]),
      [
        ['dentist-test.csv', 'dentist', 'test', 2],
        ['doctor-test.csv', 'doctor', 'test', 3],
        [path.join('instruction-style', 'nurse.csv'), 'nurse', null, 2],
        ['nurse-test.csv', 'nurse', 'test', 2],
        ['pharm-test.csv', 'pharm', 'test', 3],
      ],
    );
    assert.deepEqual(data.skipped, []);
    const doctor = data.questions.filter((q) => q.subset === 'doctor');
    assert.deepEqual(doctor.map((q) => q.answer), ['A', 'B', 'B']);
    assert.equal(doctor[0].subject, '내과');
    assert.equal(doctor[0].year, 2099);
    assert.equal(doctor[0].qNumber, 1);
    assert.equal(doctor[0].options.B, '황색포도알균');
    // Question 3 spans two lines in the file and has doubled quotes.
    assert.equal(doctor[2].question, '생후 6개월 남아가 "숨쉬기 힘들어 한다"는 보호자의 말에 따라 내원하였다.\n겨울철이며 쌕쌕거림과 콧물이 있다. 가장 가능성이 높은 원인 병원체는?');
    assert.deepEqual(doctor.map((q) => q.source.line), [2, 3, 4]);
    // Letter answers (one lower-case) in the instruction-style file.
    const letters = data.questions.filter((q) => q.split === null);
    assert.deepEqual(letters.map((q) => q.answer), ['B', 'B']);
  });

  test('subsets and splits can be chosen; what is left out is listed, not silently dropped', async () => {
    const data = await loadKorMedMcqa(FIXTURES, { subsets: ['pharm', 'nurse'], splits: ['test'] });
    assert.deepEqual([...new Set(data.questions.map((q) => q.subset))], ['nurse', 'pharm']);
    assert.equal(data.questions.length, 5);
    assert.deepEqual(
      data.skipped.map((s) => [path.relative(FIXTURES, s.file), s.reason]),
      [
        ['dentist-test.csv', 'subset dentist not in pharm, nurse'],
        ['doctor-test.csv', 'subset doctor not in pharm, nurse'],
        [path.join('instruction-style', 'nurse.csv'), 'split (unknown) not in test'],
      ],
    );
  });

  test("reads the Hub's Parquet layout (refs/convert/parquet: {config}/{split}/0000.parquet) with int64 answers", async () => {
    const file = write(
      path.join('hub', 'doctor', 'test', '0000.parquet'),
      parquetWriteBuffer({
        columnData: [
          { name: 'subject', data: ['내과'], type: 'STRING' },
          { name: 'year', data: [2099n], type: 'INT64' },
          { name: 'period', data: [1n], type: 'INT64' },
          { name: 'q_number', data: [7n], type: 'INT64' },
          { name: 'question', data: ['테스트용으로 쓴 문항이다. 정답은?'], type: 'STRING' },
          ...MCQA_LETTERS.map((letter) => ({ name: letter, data: [`보기 ${letter}`], type: 'STRING' as const })),
          { name: 'answer', data: [4n], type: 'INT64' },
          { name: 'cot', data: [null], type: 'STRING' },
        ],
      }),
    );
    const data = await loadKorMedMcqa(path.join(dir, 'hub'));
    assert.equal(data.questions.length, 1);
    const [q] = data.questions;
    assert.deepEqual([q.subset, q.split, q.answer, q.qNumber, q.cot, q.source.line, q.source.row], ['doctor', 'test', 'D', 7, null, null, 1]);
    assert.equal(q.source.file, file);
  });

  test('a bad answer is an error naming file, line and field', async () => {
    const header = 'question,A,B,C,D,E,answer\n';
    for (const [answer, shown] of [
      ['6', "'6'"],
      ['0', "'0'"],
      ['F', "'F'"],
      ['AB', "'AB'"],
      ['"C. 비타민"', "'C. 비타민'"],
      ['', 'nothing'],
    ]) {
      const file = write('nurse-dev.csv', `${header}문항 하나,a,b,c,d,e,1\n문항 둘,a,b,c,d,e,${answer}\n`);
      await assert.rejects(loadKorMedMcqa([file]), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.equal(error.line, 3);
        assert.equal(error.field, 'answer');
        assert.equal(error.message, `${file}:3, field "answer": answer must be 1–5 (1 = A) or a letter A–E, got ${shown}`);
        return true;
      });
    }
    await assert.rejects(loadKorMedMcqa([write('pharm-dev.csv', `${header}문항,a,b,,d,e,1\n`)]), /pharm-dev\.csv:2, field "C": C is empty/);
    await assert.rejects(loadKorMedMcqa([write('doctor-dev.csv', 'question,A,B,C,D,answer\n문항,a,b,c,d,1\n')]), /has no 'E' column/);
    await assert.rejects(loadKorMedMcqa([write('questions.csv', `${header}문항,a,b,c,d,e,1\n`)]), /cannot tell the subset from the file name/);
    const named = await loadKorMedMcqa([path.join(dir, 'questions.csv')], { subset: 'pharm' });
    assert.equal(named.questions[0].subset, 'pharm');
  });

  test('mcqaFileRole reads the published and Hub file names', () => {
    assert.deepEqual(mcqaFileRole('data/doctor-test.csv'), { subset: 'doctor', split: 'test' });
    assert.deepEqual(mcqaFileRole('x/nurse/dev-00000-of-00001.parquet'), { subset: 'nurse', split: 'dev' });
    assert.deepEqual(mcqaFileRole('cache/refs-convert-parquet/dentist/fewshot/0000.parquet'), { subset: 'dentist', split: 'fewshot' });
    assert.deepEqual(mcqaFileRole('data/study-002/questions/pharm.csv'), { subset: 'pharm', split: null });
    assert.deepEqual(mcqaFileRole('other.csv'), { subset: null, split: null });
  });

  test('property: questions written as CSV (commas, quotes, line breaks, Korean) load back exactly', async () => {
    const cell = fc
      .array(fc.constantFrom('가', '나', '힣', ' ', ',', '"', '\n', '(', 'A', '1', '.', '?'), { minLength: 1, maxLength: 15 })
      .map((c) => c.join(''))
      .filter((t) => t.trim() !== '' && t === t.trim());
    const question = fc.record({ question: cell, options: fc.tuple(cell, cell, cell, cell, cell), answer: fc.integer({ min: 1, max: 5 }), asLetter: fc.boolean() });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(question, { minLength: 1, maxLength: 8 }), async (items) => {
        const lines = ['question,A,B,C,D,E,answer'];
        for (const item of items) {
          const answer = item.asLetter ? MCQA_LETTERS[item.answer - 1] : String(item.answer);
          lines.push([item.question, ...item.options, answer].map(csvField).join(','));
        }
        const file = write(`round/dentist-train-${++run}.csv`, lines.join('\n') + '\n');
        const loaded = await readKorMedMcqaFile(file);
        assert.deepEqual(
          loaded.map((q) => [q.question, MCQA_LETTERS.map((l) => q.options[l]), q.answer]),
          items.map((item) => [item.question, item.options, MCQA_LETTERS[item.answer - 1]]),
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe('parseMcqaAnswer', () => {
  test('1–5 are 1-based, A–E in either case are letters, nothing else is accepted', () => {
    assert.deepEqual(['1', '2', '3', '4', '5'].map(parseMcqaAnswer), ['A', 'B', 'C', 'D', 'E']);
    assert.deepEqual([1, 5n, ' 3 ', 'c', 'E'].map(parseMcqaAnswer), ['A', 'E', 'C', 'C', 'E']);
    assert.deepEqual(['0', '6', '1.0', 'F', 'AB', '', '정답: C', null, undefined, 2.5].map(parseMcqaAnswer), Array(10).fill(null));
  });

  test('property: any other string is refused', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (text) => {
        fc.pre(!/^\s*([1-5]|[A-Ea-e])\s*$/.test(text));
        assert.equal(parseMcqaAnswer(text), null);
      }),
      { numRuns: 500 },
    );
  });
});

describe('formatMcqaPrompt', () => {
  test("reproduces study 002's instruction record exactly", () => {
    const prompt = formatMcqaPrompt({
      question:
        '65세 여자가 혀의 통증으로 내원하였다. 혈액검사 결과 혈색소 수치가 10.5 g/dL이고, 평균적혈구용적(mean corpuscular volume, MCV)이 증가하였다. 진단을 위한 추가적인 검사 항목은?',
      options: { A: '항핵항체(ANA)', B: '류마티스인자(RF)', C: '비타민B12(cobalamin)', D: '갑상샘자극호르몬(TSH)', E: '알칼리인산분해효소(ALP)' },
      answer: 'C',
    });
    // The "question" and "instruction" fields of study 002's example, verbatim.
    assert.equal(
      prompt.input,
      '65세 여자가 혀의 통증으로 내원하였다. 혈액검사 결과 혈색소 수치가 10.5 g/dL이고, 평균적혈구용적(mean corpuscular volume, MCV)이 증가하였다. 진단을 위한 추가적인 검사 항목은?\nA. 항핵항체(ANA)\nB. 류마티스인자(RF)\nC. 비타민B12(cobalamin)\nD. 갑상샘자극호르몬(TSH)\nE. 알칼리인산분해효소(ALP)\n정답:',
    );
    assert.equal(prompt.instruction, '질문을 보고, 제시된 [A-E] 중 정답을 맞추세요.');
    assert.equal(prompt.instruction, MCQA_INSTRUCTION);
    assert.equal(prompt.answer, 'C');
    assert.equal(prompt.text, `${MCQA_INSTRUCTION}\n\n${prompt.input}`);
  });
});

describe('EDA', () => {
  test('lengthStats counts characters (code points) and takes the median as numpy does', () => {
    assert.deepEqual(lengthStats(['가', '가나다', '가나', '😀😀😀😀']), { count: 4, min: 1, median: 2.5, max: 4, mean: 2.5 });
    assert.deepEqual(lengthStats(['abc']), { count: 1, min: 3, median: 3, max: 3, mean: 3 });
    assert.deepEqual(lengthStats([]), { count: 0, min: 0, median: 0, max: 0, mean: 0 });
  });

  test('property: min ≤ median ≤ max and the mean lies between them', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 50 }), (texts) => {
        const s = lengthStats(texts);
        assert.equal(s.count, texts.length);
        assert.ok(s.min <= s.median && s.median <= s.max);
        assert.ok(s.min <= s.mean + 1e-9 && s.mean <= s.max + 1e-9);
      }),
    );
  });

  test('summarizeKorMedMcqa gives per-subset counts, gold letters and prompt lengths', async () => {
    const data = await loadKorMedMcqa(FIXTURES, { splits: ['test'] });
    const summary = summarizeKorMedMcqa(data.questions);
    assert.deepEqual(
      summary.subsets.map((s) => [s.subset, s.count]),
      [
        ['doctor', 3],
        ['nurse', 2],
        ['dentist', 2],
        ['pharm', 3],
      ],
    );
    const doctor = summary.subsets[0];
    assert.deepEqual(doctor.answers, { A: 1, B: 2, C: 0, D: 0, E: 0 } satisfies Record<McqaLetter, number>);
    const promptLengths = data.questions.filter((q) => q.subset === 'doctor').map((q) => [...formatMcqaPrompt(q).text].length).sort((a, b) => a - b);
    assert.deepEqual([doctor.promptLength.min, doctor.promptLength.median, doctor.promptLength.max], [promptLengths[0], promptLengths[1], promptLengths[2]]);
    assert.equal(summary.overall.count, 10);
  });
});
