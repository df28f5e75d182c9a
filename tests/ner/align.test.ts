import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alignAnswer, entityTypesOf, type AlignResult } from '../../lib/ner/align.js';
import { readKlueNer } from '../../lib/data/klue-ner.js';
import { bioToJson } from '../../lib/ner/bio-to-json.js';
import { KLUE_NER_TAGS } from '../../lib/metrics/klue.js';
import { f1Score } from '../../lib/metrics/seqeval.js';

const LABELS = KLUE_NER_TAGS as readonly string[];
const tokensOf = (text: string) => Array.from(text);

/** The placed entities as `TYPE:text` in sentence order, read back from the tags. */
function placed(tokens: readonly string[], result: AlignResult): string[] {
  const out: string[] = [];
  let current: { type: string; start: number } | undefined;
  const close = (end: number) => {
    if (current) out.push(`${current.type}:${tokens.slice(current.start, end).join('')}@${current.start}`);
    current = undefined;
  };
  result.tags.forEach((tag, i) => {
    if (tag.startsWith('B-')) {
      close(i);
      current = { type: tag.slice(2), start: i };
    } else if (tag === 'O') close(i);
  });
  close(result.tags.length);
  return out;
}

function align(text: string, answer: string, options = {}) {
  const tokens = tokensOf(text);
  const result = alignAnswer(tokens, answer, LABELS, options);
  return { tokens, result, placed: placed(tokens, result) };
}

/** Valid IOB2: every I-X follows B-X or I-X. */
function isValidIob2(tags: readonly string[]): boolean {
  return tags.every((tag, i) => {
    if (tag === 'O' || tag.startsWith('B-')) return true;
    if (!tag.startsWith('I-')) return false;
    const prev = i > 0 ? tags[i - 1] : 'O';
    return prev !== 'O' && prev.slice(2) === tag.slice(2);
  });
}

describe('alignAnswer: answer shapes', () => {
  const text = '중국 정부는 이번 폭발로 파손되거나 안전 우려가 제기되는 톈진항 주변 주택들을'; // KLUE dev 03378
  const expected = ['OG:중국 정부@0', 'LC:톈진항@32'];

  test('{LABEL: [string, ...]}', () => {
    const { result, placed: p } = align(text, '{"OG": ["중국 정부"], "LC": ["톈진항"]}');
    assert.deepEqual(p, expected);
    assert.equal(result.parse.shape, 'label_map');
    assert.deepEqual(result.entities.map((e) => e.status), ['exact', 'exact']);
  });

  test('{LABEL: string}', () => {
    assert.deepEqual(align(text, '{"OG": "중국 정부", "LC": "톈진항"}').placed, expected);
  });

  test('{"entities": ...} holding either shape', () => {
    const a = align(text, '{"entities": {"OG": ["중국 정부"], "LC": "톈진항"}}');
    assert.deepEqual(a.placed, expected);
    assert.equal(a.result.parse.shape, 'entities_wrapper');
    const b = align(text, '{"entities": [{"text": "중국 정부", "label": "OG"}, {"text": "톈진항", "label": "LC"}]}');
    assert.deepEqual(b.placed, expected);
    assert.equal(b.result.parse.shape, 'entities_wrapper');
  });

  test('a list of {text|entity|word, label|type|tag}', () => {
    const { result, placed: p } = align(text, '[{"entity": "중국 정부", "type": "OG"}, {"word": "톈진항", "tag": "LC"}]');
    assert.deepEqual(p, expected);
    assert.equal(result.parse.shape, 'list');
  });

  test('a ```json fenced answer (study 003) is placed like a plain one', () => {
    const { result, placed: p } = align(text, '```json\n{\n    "OG": ["중국 정부"],\n    "LC": ["톈진항"]\n}\n```');
    assert.deepEqual(p, expected);
    assert.equal(result.parse.status, 'fenced');
  });

  test('a Python-dict answer is repaired and placed', () => {
    const { result, placed: p } = align(text, "{'OG': ['중국 정부'], 'LC': ['톈진항'], 'DT': None}");
    assert.deepEqual(p, expected);
    assert.equal(result.parse.status, 'repaired');
    assert.equal(result.entities[2].status, 'invalid_value');
  });

  test('answers without an object or list give all-O tags and say why', () => {
    for (const [answer, status, shape] of [
      ['"중국 정부"', 'no_json', 'none'],
      ['42', 'no_json', 'none'],
      ['없음', 'no_json', 'none'],
      ['', 'empty', 'none'],
    ] as const) {
      const { tokens, result } = align(text, answer);
      assert.equal(result.parse.status, status, answer);
      assert.equal(result.parse.shape, shape, answer);
      assert.deepEqual(result.tags, new Array(tokens.length).fill('O'));
    }
  });
});

describe('alignAnswer: labels', () => {
  const text = '배우 이아현 씨가 가수 김원준 씨가 배우 박소현 씨에게 차였다고 폭로했다.'; // KLUE dev 00013

  test('labels match the tag set case-insensitively; the tag set can be types or IOB tags', () => {
    const { placed: p } = align(text, '{"ps": ["이아현"], "Ps": ["김원준"]}');
    assert.deepEqual(p, ['PS:이아현@3', 'PS:김원준@13']);
    const byTypes = alignAnswer(tokensOf(text), '{"ps": ["이아현"]}', ['PS', 'LC']);
    assert.equal(byTypes.tags[3], 'B-PS');
    assert.deepEqual(entityTypesOf(KLUE_NER_TAGS), ['DT', 'LC', 'OG', 'PS', 'QT', 'TI']);
  });

  test('labels outside the tag set are reported as unknown_label and not placed', () => {
    const { result, placed: p } = align(text, '{"PER": ["이아현"], "PS": ["박소현"]}');
    assert.deepEqual(p, ['PS:박소현@23']);
    assert.equal(result.entities[0].status, 'unknown_label');
    assert.equal(result.entities[0].occurrences, 1);
  });

  test('the alias map is off by default and maps PER→PS, LOC→LC, ORG→OG when on', () => {
    assert.deepEqual(align(text, '{"PER": ["이아현"]}', { aliases: true }).placed, ['PS:이아현@3']);
    assert.deepEqual(align(text, '{"person": ["이아현"]}', { aliases: { PERSON: 'PS' } }).placed, ['PS:이아현@3']);
    assert.deepEqual(align(text, '{"PER": ["이아현"]}', { aliases: { PER: 'NOPE' } }).placed, []);
  });

  test('__proto__ and constructor are ordinary unknown labels and never touch a prototype', () => {
    const { result } = align(text, '{"__proto__": ["이아현"], "constructor": ["김원준"], "PS": ["박소현"]}');
    assert.deepEqual(result.entities.map((e) => [e.label, e.status]), [
      ['__proto__', 'unknown_label'],
      ['constructor', 'unknown_label'],
      ['PS', 'exact'],
    ]);
    assert.equal(({} as Record<string, unknown>)[0], undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    const repaired = align(text, "{'__proto__': {'polluted': 'yes'}, 'toString': ['이아현']}");
    assert.deepEqual(repaired.result.entities.map((e) => e.status), ['invalid_value', 'unknown_label']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('alignAnswer: values', () => {
  const text = '아무리생각해도 8.5인데 그냥 9점 줌. 기본이상은 하는 영화.'; // KLUE dev 00045

  test('finite numbers become their decimal string', () => {
    const { result, placed: p } = align(text, '{"QT": [8.5]}');
    assert.deepEqual(p, ['QT:8.5@8']);
    assert.equal(result.entities[0].text, '8.5');
  });

  test('null, empty strings, nested objects, nested lists and booleans are invalid_value and skipped', () => {
    const { result, placed: p } = align(text, '{"QT": [null, "", "   ", {"a": 1}, ["9점"], true, "9점"], "DT": null}');
    assert.deepEqual(p, ['QT:9점@17']);
    assert.deepEqual(result.entities.map((e) => e.status), [
      'invalid_value', 'invalid_value', 'invalid_value', 'invalid_value', 'invalid_value', 'invalid_value', 'exact', 'invalid_value',
    ]);
    assert.deepEqual(result.entities.map((e) => e.reason ?? ''), [
      'null value', 'empty string', 'empty string', 'nested object', 'nested list', 'boolean value', '', 'null value',
    ]);
  });

  test('surrounding whitespace is trimmed (and still an exact match)', () => {
    const { result, placed: p } = align(text, '{"QT": ["  9점\\n"]}');
    assert.deepEqual(p, ['QT:9점@17']);
    assert.equal(result.entities[0].status, 'exact');
  });

  test('list items without text or label are invalid_value', () => {
    const { result } = align(text, '[{"text": "9점"}, {"label": "QT"}, "9점", {"text": "9점", "label": 3}]');
    assert.deepEqual(result.entities.map((e) => e.status), ['invalid_value', 'invalid_value', 'invalid_value', 'invalid_value']);
  });
});

describe('alignAnswer: matching ignores whitespace and compares NFKC characters', () => {
  test('중국정부 finds 중국 정부: status whitespace, inner space tagged I-', () => {
    const { result } = align('중국 정부는 이번 폭발로', '{"OG": ["중국정부"]}');
    assert.deepEqual(result.tags.slice(0, 6), ['B-OG', 'I-OG', 'I-OG', 'I-OG', 'I-OG', 'O']);
    assert.equal(result.entities[0].status, 'whitespace');
  });

  test('영동 고속도로 finds 영동고속도로 (KLUE dev 00190); a newline inside an entity is whitespace', () => {
    assert.deepEqual(align('태운 승합차가 영동고속도로 인천 방면으로', '{"LC": ["영동 고속도로"]}').placed, ['LC:영동고속도로@8']);
    const { result, placed: p } = align('<조니 뎁>이 가장 매력적으로', '{"PS": ["조니\\n뎁"]}');
    assert.deepEqual(p, ['PS:조니 뎁@1']);
    assert.equal(result.entities[0].status, 'whitespace');
  });

  test('km finds ㎞ and ㎞ finds km, ％ finds %, full-width digits find ASCII: status normalized', () => {
    const a = align('선발로 나와 후반 16분까지 7.2㎞를 뛰어', '{"QT": ["7.2km"]}');
    assert.deepEqual(a.placed, ['QT:7.2㎞@16']);
    assert.equal(a.result.entities[0].status, 'normalized');
    assert.deepEqual(align('자살장소에서 2.4km 떨어진', '{"QT": ["2.4㎞"]}').placed, ['QT:2.4km@7']); // KLUE dev 00311
    assert.deepEqual(align('평균 8.3% 인상했고', '{"QT": ["８.３％"]}').placed, ['QT:8.3%@3']); // KLUE dev 00022
  });

  test('decomposed Hangul finds composed Hangul', () => {
    const { result, placed: p } = align('저우쉰과 탕웨이. 오리엔트의 여배우', JSON.stringify({ PS: ['탕웨이'.normalize('NFD')] }));
    assert.deepEqual(p, ['PS:탕웨이@5']);
    assert.equal(result.entities[0].status, 'normalized');
  });

  test('an occurrence as written beats an earlier case-folded one', () => {
    assert.deepEqual(align('EXO 말고 Exodus의 약자 Exo', '{"PS": ["Exo"]}').placed, ['PS:Exo@7']);
    const folded = align('EXO 말고 엑소', '{"PS": ["Exo"]}');
    assert.deepEqual(folded.placed, ['PS:EXO@0']);
    assert.equal(folded.result.entities[0].status, 'normalized');
  });

  test('not_found carries the closest text in the sentence as a hint', () => {
    const { result } = align('하루에 한번씩 안빠지고 맨날본다 ㅋㅋ', '{"DT": ["매일"], "QT": ["한 번"], "TI": ["안 빠지구"]}');
    assert.equal(result.entities[0].status, 'not_found');
    assert.equal(result.entities[1].status, 'whitespace');
    assert.equal(result.entities[2].status, 'not_found');
    assert.equal(result.entities[2].hint?.text, '안빠지고');
    assert.equal(result.entities[2].hint?.start, 8);
  });
});

describe('alignAnswer: placement', () => {
  // KLUE dev 01535, as in study 003's first debug dump.
  const sochi = '안현수는 15일 밤(한국시간) 러시아 소치 아이스버그 스케이팅 팰리스에서 열린 2014 소치 동계올림픽 쇼트트랙 남자 1000m결승에서 금메달을 획득했다.';

  test('longest first: the long span claims its place and 소치 takes the next free occurrence', () => {
    const { result, placed: p } = align(sochi, '{"LC": ["소치", "러시아 소치 아이스버그 스케이팅 팰리스"]}');
    assert.deepEqual(p, ['LC:러시아 소치 아이스버그 스케이팅 팰리스@17', 'LC:소치@49']);
    assert.equal(result.entities[0].occurrences, 2);
  });

  test('a string listed n times claims n occurrences; one listing more than there are is overlap', () => {
    const text = '소치에서 소치로, 다시 소치';
    assert.deepEqual(align(text, '{"LC": ["소치", "소치"]}').placed, ['LC:소치@0', 'LC:소치@5']);
    const { result } = align(text, '{"LC": ["소치", "소치", "소치", "소치"]}');
    assert.deepEqual(result.entities.map((e) => e.status), ['exact', 'exact', 'exact', 'overlap']);
    assert.equal(result.entities[3].claimedBy, 0);
  });

  test('ties in length go in listing order, across labels', () => {
    const { placed: p, result } = align(sochi, '{"QT": ["한국"], "LC": ["한국"]}');
    assert.deepEqual(p, ['QT:한국@11']);
    assert.equal(result.entities[1].status, 'overlap');
  });

  test('allOccurrences places every free occurrence', () => {
    const { result, placed: p } = align('소치에서 소치로, 다시 소치', '{"LC": ["소치"]}', { allOccurrences: true });
    assert.deepEqual(p, ['LC:소치@0', 'LC:소치@5', 'LC:소치@13']);
    assert.equal(result.entities[0].spans.length, 3);
  });

  test('B- on the first token, I- on the rest including inner spaces; adjacent entities stay apart', () => {
    const { result } = align('윤 선수는 경기', '{"PS": ["윤 선수", "는"]}');
    assert.deepEqual(result.tags, ['B-PS', 'I-PS', 'I-PS', 'I-PS', 'B-PS', 'O', 'O', 'O']);
  });

  test('the study 003 debug-dump answer for this sentence, entity by entity', () => {
    const answer = '{"PS": ["안현수"], "DT": ["15일", "2014"], "LC": ["한국", "러시아 소치 아이스버그 스케이팅 팰리스"], "TI": ["밤"], "QT": ["1000m"]}';
    const { placed: p } = align(sochi, answer);
    assert.deepEqual(p, ['PS:안현수@0', 'DT:15일@5', 'TI:밤@9', 'LC:한국@11', 'LC:러시아 소치 아이스버그 스케이팅 팰리스@17', 'DT:2014@44', 'QT:1000m@66']);
  });
});

describe('alignAnswer: properties (fast-check)', () => {
  const syllable = fc.constantFrom('서', '울', '소', '치', '한', '국', ' ', '1', '0', 'k', 'm', '㎞', '%', '％', 'A', 'a', '\n');
  const tokens = fc.array(syllable, { maxLength: 40 });
  const anyAnswer = fc.string({ unit: 'binary', maxLength: 80 });
  // Structured answers made of pieces of the sentence, so that placement itself is exercised.
  const structuredAnswer = (toks: string[]) =>
    fc
      .array(
        fc.tuple(fc.constantFrom('PS', 'lc', 'OG', 'PER', '__proto__', 'QT'), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 6 }), fc.boolean()),
        { maxLength: 8 },
      )
      .map((items) => {
        const object: Record<string, unknown[]> = Object.create(null);
        for (const [label, start, length, spaced] of items) {
          let text = toks.slice(start, start + length).join('');
          if (spaced) text = text.split('').join(' ');
          (object[label] ??= []).push(text);
        }
        return JSON.stringify(object);
      });
  const answerFor = (toks: string[]) => fc.oneof(anyAnswer, structuredAnswer(toks));

  test('never throws; tags are tokens.length long, valid IOB2, and the same when placed twice (10,000 runs)', () => {
    fc.assert(
      fc.property(
        tokens.chain((toks) => fc.tuple(fc.constant(toks), answerFor(toks), fc.boolean())),
        ([toks, answer, all]) => {
          const first = alignAnswer(toks, answer, LABELS, { allOccurrences: all });
          assert.equal(first.tags.length, toks.length);
          assert.ok(isValidIob2(first.tags), JSON.stringify(first.tags));
          const second = alignAnswer(toks, answer, LABELS, { allOccurrences: all });
          assert.deepEqual(second.tags, first.tags);
          for (const entity of first.entities) {
            assert.equal(entity.spans.length > 0, ['exact', 'whitespace', 'normalized'].includes(entity.status));
          }
        },
      ),
      { numRuns: 10_000 },
    );
  });

  test('never throws on any string as answer or tokens (10,000 runs)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 3 }), { maxLength: 20 }), anyAnswer, (toks, answer) => {
        const result = alignAnswer(toks, answer, LABELS);
        assert.equal(result.tags.length, toks.length);
        assert.ok(isValidIob2(result.tags));
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('alignAnswer: hostile answers', () => {
  test('answers nested 100,000 deep do not throw (values too deep to print get their kind)', () => {
    const tokens = tokensOf('서울 시청');
    for (const answer of ['['.repeat(100_000), '['.repeat(100_000) + ']'.repeat(100_000), '{"PS": [' + '{"a":'.repeat(60_000) + '1' + '}'.repeat(60_000) + ']}']) {
      const result = alignAnswer(tokens, answer, LABELS);
      assert.deepEqual(result.tags, ['O', 'O', 'O', 'O', 'O']);
      for (const entity of result.entities) assert.equal(entity.status, 'invalid_value');
    }
  });
});

describe('alignAnswer: oracle round trip on KLUE dev', () => {
  test('the first 500 dev sentences: bioToJson(gold) aligned back scores F1 >= 0.99', () => {
    const sentences = readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv').slice(0, 500);
    const gold = sentences.map((s) => s.tags);
    const pred = sentences.map((s) => alignAnswer(s.tokens, JSON.stringify(bioToJson(s.tokens, s.tags)), LABELS).tags);
    const f1 = f1Score(gold, pred);
    assert.ok(f1 >= 0.99, `oracle F1 ${f1}`);
    // Where it is not perfect, the loss is inherent to the JSON route (same text, other place).
    const exact = pred.filter((tags, i) => tags.join() === gold[i].join()).length;
    assert.ok(exact >= 490, `${exact} of 500 sentences exact`);
  });
});
