import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CONVERTER_STEPS, seedJsonToBio, seedStep, type SeedStepName } from '../../lib/ner/seed-converter.js';
import { KLUE_NER_TAGS } from '../../lib/metrics/klue.js';

const LABELS = KLUE_NER_TAGS as readonly string[];
const tokensOf = (text: string) => Array.from(text);

/** Study 003's print format: `['안(B-PS)', '현(I-PS)', ...]` for the non-O tokens. */
function printed(tokens: readonly string[], tags: readonly string[]): string {
  const parts = tags.flatMap((tag, i) => (tag === 'O' ? [] : [`'${tokens[i]}(${tag})'`]));
  return `[${parts.join(', ')}]`;
}

/**
 * Study 003's wrong-case list, verbatim: its input text (the study's own copy of KLUE, which writes
 * 7.2㎞), the model answer, and what its json_to_bio printed as "내 코드의 변환 결과(Bio)" (case 5
 * printed none). The list was printed after the fence fix and before the unit map.
 */
const WRONG_CASES: { input: string; answer: string; printed: string | null }[] = [
  {
    input: "안현수는 15일 밤(한국시간) 러시아 소치 아이스버그 스케이팅 팰리스에서 열린 2014 소치 동계올림픽 쇼트트랙 남자 1000m결승에서 금메달을 획득했다.",
    answer: "{\"PS\": [\"안현수\"], \"DT\": [\"15일\"], \"LC\": [\"한국\", \"러시아 소치 아이스버그 스케이팅 팰리스\", \"소치\"], \"TI\": [\"밤\", \"1000m\"], \"QT\": [\"한국\", \"2014\", \"동계올림픽\", \"남자\", \"1000m\", \"금메달\"]}",
    printed: "['안(B-PS)', '현(I-PS)', '수(I-PS)', '1(B-DT)', '5(I-DT)', '일(I-DT)', '밤(B-TI)', '한(B-QT)', '국(I-QT)', '소(B-LC)', '치(I-LC)', '2(B-QT)', '0(I-QT)', '1(I-QT)', '4(I-QT)', '동(B-QT)', '계(I-QT)', '올(I-QT)', '림(I-QT)', '픽(I-QT)', '남(B-QT)', '자(I-QT)', '1(B-QT)', '0(I-QT)', '0(I-QT)', '0(I-QT)', 'm(I-QT)', '금(B-QT)', '메(I-QT)', '달(I-QT)']",
  },
  {
    input: "중국 정부는 이번 폭발로 파손되거나 안전 우려가 제기되는 톈진항 주변 주택들을 사고가 나기 전 시장가격으로 사들인다는 방침을 세웠다.",
    answer: "{\"OG\": [\"중국 정부\"], \"LC\": [\"톈진항\"], \"DT\": []}",
    printed: "['톈(B-LC)', '진(I-LC)', '항(I-LC)']",
  },
  {
    input: "블리스의 성장기. 엔딩크레딧 음악이 좋다.",
    answer: "{\"PS\": [\"블리스\"], \"QT\": [\"엔딩크레딧\"]}",
    printed: "['블(B-PS)', '리(I-PS)', '스(I-PS)', '엔(B-QT)', '딩(I-QT)', '크(I-QT)', '레(I-QT)', '딧(I-QT)']",
  },
  {
    input: "예를 들어 하나면 얘기하자면 이소룡이 영춘권을 처음 배웠을 때는 14살이었습니다.",
    answer: "{\"PS\": [\"이소룡\"], \"QT\": [\"14살\"]}",
    printed: "['이(B-PS)', '소(I-PS)', '룡(I-PS)', '1(B-QT)', '4(I-QT)', '살(I-QT)']",
  },
  {
    input: "한편 지난 20일 '비정상회담'은 개편 1주년을 맞아 멤버 6명의 하차 소식을 전하면서 시청자들의 아쉬움을 사고 있다.",
    answer: "{\"DT\": [\"20일\"], \"QT\": [\"1주년\", \"6명\"]}",
    printed: null,
  },
  {
    input: "코난은탐정인데 추리를 안하고 왜액션만하지",
    answer: "{\"PS\": [\"코난\"], \"QT\": [\"탐정\"]}",
    printed: "['코(B-PS)', '난(I-PS)', '탐(B-QT)', '정(I-QT)']",
  },
  {
    input: "헤닝은 영국 맨체스터 인근 솔포드에서 부인, 두 십대 자녀와 함께 살며 택시를 몰던 평범한 시민이었지만 고통받는 시리아 사람들의 모습을 보고 구호활동에 뛰어들었다.",
    answer: "{\"PS\": [\"헤닝\"], \"LC\": [\"영국 맨체스터\", \"솔포드\", \"시리아\"], \"QT\": [\"두 십대\"]}",
    printed: "['헤(B-PS)', '닝(I-PS)', '솔(B-LC)', '포(I-LC)', '드(I-LC)', '시(B-LC)', '리(I-LC)', '아(I-LC)']",
  },
  {
    input: "결국, 정씨는 지난달 말 서울의 한 병원에 찾아가 검사를 받던 중 외상성 경막하출혈 진단을 받았다.",
    answer: "{\"PS\": [\"정\"], \"DT\": [\"지난달 말\"], \"LC\": [\"서울\"], \"QT\": [\"한\"]}",
    printed: "['정(B-PS)', '서(B-LC)', '울(I-LC)', '한(B-QT)']",
  },
  {
    input: "선발로 나와 후반 16분까지 7.2㎞를 뛰어 적지 않은 활동량은 기록했으나 선전으로 평가되기에는 부족한 면이 있었다.",
    answer: "{\"TI\": [\"후반 16분\"], \"QT\": [\"7.2km\"]}",
    printed: "[]",
  },
  {
    input: "하루에 한번씩 안빠지고 맨날본다 ㅋㅋ",
    answer: "{\"QT\": [\"하루\"], \"TI\": [\"한번\"], \"DT\": [\"매일\"]}",
    printed: "['하(B-QT)', '루(I-QT)', '한(B-TI)', '번(I-TI)']",
  },
];

describe('seed converter: study 003, reproduced', () => {
  test('the fence step prints exactly what the study printed for its wrong cases', () => {
    let compared = 0;
    for (const c of WRONG_CASES) {
      if (c.printed === null) continue;
      const tokens = tokensOf(c.input);
      assert.equal(printed(tokens, seedStep('fence', tokens, c.answer)), c.printed, c.input);
      compared++;
    }
    assert.equal(compared, 9);
  });

  test('original: found entities run to the end of the sentence, later ones overwrite (the F1 = 0 bug)', () => {
    const tokens = tokensOf('예를 들어 하나면 얘기하자면 이소룡이 영춘권을');
    const tags = seedStep('original', tokens, '{"PS": ["이소룡"], "QT": ["하나"]}');
    // 하나 (QT) starts at 6 and runs to the end; 이소룡 (PS) was placed first and is overwritten.
    assert.deepEqual(tags.slice(0, 8), ['O', 'O', 'O', 'O', 'O', 'O', 'B-QT', 'I-QT']);
    assert.ok(tags.slice(7).every((tag) => tag === 'I-QT'));
  });

  test('original and whitespace: a multi-word entity is never found (spaces removed on one side only)', () => {
    const tokens = tokensOf('중국 정부는 이번 폭발로 톈진항 주변');
    for (const step of ['original', 'whitespace', 'fence', 'units'] as SeedStepName[]) {
      const tags = seedStep(step, tokens, '{"OG": ["중국 정부"]}');
      assert.ok(tags.every((tag) => tag === 'O'), step);
    }
  });

  test('first find only: a string listed twice lands on the same place', () => {
    const tokens = tokensOf('소치에서 소치로');
    assert.deepEqual(seedStep('whitespace', tokens, '{"LC": ["소치", "소치"]}'), ['B-LC', 'I-LC', 'O', 'O', 'O', 'O', 'O', 'O']);
  });

  test('later spans overwrite earlier ones, even into invalid IOB2', () => {
    const tokens = tokensOf('서울시청 앞');
    assert.deepEqual(seedStep('whitespace', tokens, '{"OG": ["서울시청"], "LC": ["울시"]}'), ['B-OG', 'B-LC', 'I-LC', 'I-OG', 'O', 'O']);
  });

  test('the greedy regex already strips ```json fences: whitespace and fence steps agree on fenced answers', () => {
    const tokens = tokensOf('블리스의 성장기. 엔딩크레딧 음악이 좋다.');
    const fenced = '```json\n{\n    "PS": ["블리스"]\n}\n```';
    assert.deepEqual(seedStep('whitespace', tokens, fenced), seedStep('fence', tokens, fenced));
    assert.equal(seedStep('fence', tokens, fenced)[0], 'B-PS');
  });

  test('fence: single quotes are retried as double quotes; other failures give all-O', () => {
    const tokens = tokensOf('코난은탐정인데');
    assert.equal(seedStep('fence', tokens, "{'PS': ['코난']}")[0], 'B-PS');
    assert.equal(seedStep('whitespace', tokens, "{'PS': ['코난']}")[0], 'O');
    assert.ok(seedStep('fence', tokens, '{"PS": ["코난"').every((tag) => tag === 'O'));
  });

  test('units: km→㎞ finds the study\'s ㎞ but breaks KLUE v1.1\'s ASCII km, 1000m and MBC', () => {
    const study = tokensOf('후반 16분까지 7.2㎞를 뛰어');
    assert.equal(seedStep('units', study, '{"QT": ["7.2km"]}')[9], 'B-QT');
    assert.equal(seedStep('fence', study, '{"QT": ["7.2km"]}')[9], 'O');
    const v11 = tokensOf('후반 16분까지 7.2km를 뛰어 1000m결승 MBC');
    assert.ok(seedStep('units', v11, '{"QT": ["7.2km", "1000m"], "OG": ["MBC"]}').every((tag) => tag === 'O'));
    assert.equal(seedJsonToBio(v11, '{"QT": ["7.2km"]}')[9], 'O');
  });

  test('where the Python would raise (a list answer, a number entity), the sentence gets all-O', () => {
    const tokens = tokensOf('수학 A형의 1등급 커트라인');
    assert.ok(seedStep('original', tokens, '[1, 2]').every((tag) => tag === 'O'));
    assert.ok(seedStep('original', tokens, '{"QT": [1, "1등급"]}').every((tag) => tag === 'O'));
    assert.equal(seedStep('whitespace', tokens, '{"QT": [1, "1등급"]}')[7], 'B-QT');
  });

  test('Python code points: an astral character counts as one', () => {
    const tokens = ['😀', '서', '울'];
    assert.deepEqual(seedStep('whitespace', tokens, '{"LC": ["서울"]}'), ['O', 'B-LC', 'I-LC']);
    assert.deepEqual(seedStep('original', tokens, '{"LC": ["서울"]}'), ['O', 'B-LC', 'I-LC']);
  });
});

describe('CONVERTER_STEPS', () => {
  test('the steps in order, ending with alignAnswer', () => {
    assert.deepEqual(CONVERTER_STEPS.map((s) => s.name), ['original', 'whitespace', 'fence', 'units', 'align']);
    for (const step of CONVERTER_STEPS) assert.ok(step.title && step.description);
  });

  test('every step returns tokens.length tags for any answer (2,000 runs)', () => {
    const syllable = fc.constantFrom('서', '울', ' ', 'k', 'm', '㎞', '1');
    fc.assert(
      fc.property(fc.array(syllable, { maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 40 }), (tokens, answer) => {
        for (const step of CONVERTER_STEPS) assert.equal(step.convert(tokens, answer, LABELS).length, tokens.length);
      }),
      { numRuns: 2_000 },
    );
  });
});
