import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose, explainSentence, type GoldSentence } from '../../lib/diagnosis/diagnose.js';
import { formatDiagnosis, formatExplanation, formatWorstSentences } from '../../lib/diagnosis/format.js';
import { seedStep } from '../../lib/ner/seed-converter.js';
import { alignAnswer } from '../../lib/ner/align.js';
import { parseKlueNer } from '../../lib/data/klue-ner.js';
import { KLUE_NER_TAGS } from '../../lib/metrics/klue.js';

const LABELS = KLUE_NER_TAGS as readonly string[];

/** KLUE dev sentences (ids and tags as in data/klue-ner), written in KLUE's TSV format. */
function klue(id: string, annotated: string): GoldSentence {
  const tokens: string[] = [];
  const tags: string[] = [];
  const pattern = /<([^<>:]+):([A-Z]{2})>|([^<]+)/g;
  for (const match of annotated.matchAll(pattern)) {
    if (match[3] !== undefined) {
      for (const ch of match[3]) {
        tokens.push(ch);
        tags.push('O');
      }
    } else {
      Array.from(match[1]).forEach((ch, i) => {
        tokens.push(ch);
        tags.push((i === 0 ? 'B-' : 'I-') + match[2]);
      });
    }
  }
  const tsv = [`## ${id}\t${annotated}`, ...tokens.map((t, i) => `${t}\t${tags[i]}`)].join('\n') + '\n';
  return parseKlueNer(tsv, { file: id })[0];
}

const CHINA = klue('klue-ner-v1_dev_03378-wikitree', '<중국 정부:OG>는 이번 폭발로 파손되거나 안전 우려가 제기되는 <톈진항:LC> 주변 주택들을 사고가 나기 전 시장가격으로 사들인다는 방침을 세웠다.');
const LEE = klue('klue-ner-v1_dev_00643-nsmc', '예를 들어 <하나:QT>면 얘기하자면 <이소룡:PS>이 영춘권을 처음 배웠을 때는 <14살:QT>이었습니다.');
const BLISS = klue('klue-ner-v1_dev_03825-nsmc', '<블리스:PS>의 성장기. 엔딩크레딧 음악이 좋다.');
const NEWS = klue('klue-ner-v1_dev_00090-wikitree', "한편 <지난 20일:DT> '비정상회담'은 개편 <1주년:DT>을 맞아 멤버 <6명:QT>의 하차 소식을 전하면서 시청자들의 아쉬움을 사고 있다.");

describe('explainSentence', () => {
  test('a fenced answer placed right: parse steps, entity table, all gold correct', () => {
    const ex = explainSentence(CHINA, '```json\n{\n    "OG": ["중국 정부"],\n    "LC": ["톈진항"]\n}\n```', LABELS);
    assert.equal(ex.outcome, 'fenced');
    assert.equal(ex.errors, 0);
    assert.deepEqual(ex.fates.map((f) => f.fate), ['correct', 'correct']);
    assert.deepEqual(ex.diffs.map((d) => d.kind), ['correct', 'correct']);
    assert.ok(ex.parse?.steps.some((s) => s.step === 'fence' && s.ok));
  });

  test('marks wrong type, wrong boundary, missed and spurious spans (study 003 wrong case 5)', () => {
    const ex = explainSentence(NEWS, '{"DT": ["20일"], "QT": ["1주년", "6명", "멤버"]}', LABELS);
    assert.deepEqual(
      ex.diffs.map((d) => [d.kind, d.gold?.text ?? null, d.pred?.text ?? null]),
      [
        ['wrong_boundary', '지난 20일', '20일'],
        ['wrong_type', '1주년', '1주년'],
        ['spurious', null, '멤버'],
        ['correct', '6명', '6명'],
      ],
    );
    assert.deepEqual(ex.fates.map((f) => f.fate), ['wrong_boundary', 'wrong_type', 'correct']);
    assert.equal(ex.errors, 5);
  });

  test('each lost gold entity names its cause: not_found with a hint, unknown_label, overlap, not_predicted', () => {
    const ex = explainSentence(LEE, '{"PER": ["이소룡"], "QT": ["하나", "하나", "14샬"]}', LABELS);
    assert.deepEqual(ex.entities.map((e) => e.status), ['unknown_label', 'exact', 'overlap', 'not_found']);
    assert.equal(ex.entities[3].hint?.text, '14살');
    assert.deepEqual(
      ex.fates.map((f) => [f.entity.text, f.fate, f.cause ?? null]),
      [
        ['하나', 'correct', null],
        ['이소룡', 'not_placed', 'unknown_label'],
        ['14살', 'not_placed', 'not_found'],
      ],
    );
    // A hint too far from the gold text (similarity < 0.5) does not claim the gold entity.
    const far = explainSentence(LEE, '{"QT": ["하나", "열네살"]}', LABELS);
    assert.equal(far.entities[1].hint?.text, '14살');
    assert.equal(far.fates[2].fate, 'not_predicted');
    const plain = explainSentence(LEE, '{"QT": ["하나"]}', LABELS);
    assert.deepEqual(plain.fates.map((f) => f.fate), ['correct', 'not_predicted', 'not_predicted']);
  });

  test('an answer that does not parse loses every gold entity at the parse stage', () => {
    const ex = explainSentence(BLISS, '블리스가 주인공입니다', LABELS);
    assert.equal(ex.outcome, 'no_json');
    assert.deepEqual(ex.fates.map((f) => [f.fate, f.cause, f.mentioned]), [['not_parsed', 'no_json', true]]);
    const missing = explainSentence(BLISS, undefined, LABELS);
    assert.equal(missing.outcome, 'missing');
    assert.equal(missing.answer, null);
    assert.ok(missing.predTags.every((t) => t === 'O'));
  });

  test('with a seed step as tagger, an entity the aligner places but the step drops is a converter loss', () => {
    const ex = explainSentence(CHINA, '{"OG": ["중국 정부"], "LC": ["톈진항"]}', LABELS, {
      tagger: (tokens, answer) => seedStep('fence', tokens, answer),
      taggerName: 'fence',
    });
    assert.equal(ex.tagger, 'fence');
    assert.deepEqual(ex.fates.map((f) => [f.fate, f.cause ?? null]), [['not_placed', 'converter'], ['correct', null]]);
  });

  test('formatExplanation shows the answer, steps, entity table and the token table', () => {
    const text = formatExplanation(explainSentence(LEE, '{"PER": ["이소룡"], "QT": ["하나", "열네살"]}', LABELS));
    assert.match(text, /== 문장 klue-ner-v1_dev_00643-nsmc/);
    assert.match(text, /unknown_label/);
    assert.match(text, /가장 가까운 텍스트: "14살"/);
    assert.match(text, /\*\s+36\s+1\s+B-QT\s+O/);
  });
});

describe('diagnose', () => {
  const items = [
    { sentence: CHINA, answer: '```json\n{"OG": ["중국 정부"], "LC": ["톈진항"]}\n```' },
    { sentence: LEE, answer: '{"PER": ["이소룡"], "QT": ["하나", "14살"]}' },
    { sentence: BLISS, answer: '없음' },
    { sentence: NEWS },
  ];

  test('counts parse outcomes, entity statuses and the fate of every gold entity', () => {
    const d = diagnose(items, LABELS);
    assert.equal(d.sentences, 4);
    assert.equal(d.answered, 3);
    assert.equal(d.nonEmptyAnswers, 3);
    assert.equal(d.parseOutcomes.fenced, 1);
    assert.equal(d.parseOutcomes.strict, 1);
    assert.equal(d.parseOutcomes.no_json, 1);
    assert.equal(d.parseOutcomes.missing, 1);
    assert.equal(d.entityStatuses.exact, 4);
    assert.equal(d.entityStatuses.unknown_label, 1);
    assert.equal(d.gold, 2 + 3 + 1 + 3);
    assert.deepEqual({ ...d.fates }, { correct: 4, not_parsed: 4, wrong_type: 0, wrong_boundary: 0, not_placed: 1, not_predicted: 0 });
    assert.equal(d.notParsedBy.missing, 3);
    assert.equal(d.notParsedBy.no_json, 1);
    assert.equal(d.notPlacedBy.unknown_label, 1);
    assert.equal(d.causes[0].key, 'not_parsed:missing');
    assert.deepEqual(d.causes[0].examples, ['klue-ner-v1_dev_00090-wikitree']);
    assert.equal(d.alarm, null);
    assert.ok(Math.abs(d.f1.tag - 8 / 13) < 1e-12); // P = 4/4, R = 4/9
  });

  test('worst sentences first, error-free ones left out', () => {
    const d = diagnose(items, LABELS);
    assert.deepEqual(d.worst.map((i) => d.explanations[i].id), [
      'klue-ner-v1_dev_00090-wikitree',
      'klue-ner-v1_dev_00643-nsmc',
      'klue-ner-v1_dev_03825-nsmc',
    ]);
    assert.match(formatWorstSentences(d, 1), /00090/);
  });

  test('the F1 = 0 alarm: study 003\'s first converter on its own debug-dump answers', () => {
    const answers = [
      { sentence: CHINA, answer: '```json\n{\n    "OG": ["중국 정부"],\n    "LC": ["톈진항"]\n}\n```' },
      { sentence: BLISS, answer: '{}' },
      { sentence: LEE, answer: '{"PS": ["이소룡"], "QT": ["하나"], "DT": ["14살"]}' },
    ];
    const d = diagnose(answers, LABELS, { tagger: (tokens, answer) => seedStep('original', tokens, answer), taggerName: 'original' });
    assert.equal(d.f1.tag, 0);
    assert.ok(d.f1.answer > 0.5);
    assert.equal(d.alarm?.kind, 'zero_f1');
    assert.deepEqual(d.alarm?.causes.map((c) => c.key), ['wrong_boundary', 'not_placed:converter']);
    const text = formatDiagnosis(d);
    assert.match(text, /F1 = 0 경보/);
    assert.match(text, /경계가 틀림 \[wrong_boundary\]/);
    // The same answers through alignAnswer: no alarm.
    const fixed = diagnose(answers, LABELS);
    assert.equal(fixed.alarm, null);
    assert.ok(fixed.f1.tag > 0.7);
  });

  test('the alarm also fires when tag F1 is far below what the answers say', () => {
    const answers = [CHINA, LEE, NEWS].map((sentence) => ({
      sentence,
      answer: JSON.stringify(Object.fromEntries(groupByType(sentence))),
    }));
    // A converter that loses every sentence but the first: tag F1 0.4, answer F1 1.
    const lossy = (tokens: readonly string[], answer: string) =>
      tokens.length === CHINA.tokens.length ? alignAnswer(tokens, answer, LABELS).tags : tokens.map(() => 'O');
    const d = diagnose(answers, LABELS, { tagger: lossy });
    assert.equal(d.f1.answer, 1);
    assert.ok(Math.abs(d.f1.tag - 0.4) < 1e-12);
    assert.equal(d.alarm?.kind, 'far_below_answers');
    assert.match(formatDiagnosis(d), /훨씬 낮습니다/);
    assert.equal(diagnose(answers, LABELS).alarm, null);
  });

  test('all labels unknown (PER/LOC instead of PS/LC): F1 = 0 alarm naming unknown_label', () => {
    const d = diagnose([{ sentence: CHINA, answer: '{"ORG": ["중국 정부"], "LOC": ["톈진항"]}' }], LABELS);
    assert.equal(d.alarm?.kind, 'zero_f1');
    assert.equal(d.alarm?.causes[0].key, 'not_placed:unknown_label');
    assert.equal(diagnose([{ sentence: CHINA, answer: '{"ORG": ["중국 정부"], "LOC": ["톈진항"]}' }], LABELS, { aliases: true }).alarm, null);
  });

  test('no alarm without non-empty answers', () => {
    assert.equal(diagnose([{ sentence: CHINA, answer: '  ' }, { sentence: LEE }], LABELS).alarm, null);
  });
});

function groupByType(sentence: GoldSentence): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let start = -1;
  const tags = [...sentence.tags, 'O'];
  tags.forEach((tag, i) => {
    if (start >= 0 && !tag.startsWith('I-')) {
      const type = sentence.tags[start].slice(2);
      groups.set(type, [...(groups.get(type) ?? []), sentence.tokens.slice(start, i).join('')]);
      start = -1;
    }
    if (tag.startsWith('B-')) start = i;
  });
  return groups;
}
