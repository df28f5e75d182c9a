import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KlueSentence } from '../../lib/data/klue-ner.js';
import { InputError } from '../../lib/errors.js';
import { buildReplay, replayLine } from '../../scripts/build-replay.js';
import { skipUnlessRequired } from '../notebook/jupyter.js';

const SEEDS = '../shared/seeds';
const REPLAY = 'data/replay';
const REPLAY_FILES = ['study003-debug-dump.jsonl', 'study003-wrong-cases.jsonl', 'study003-fenced-answers.jsonl'];

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-build-replay-'));
after(() => rmSync(work, { recursive: true, force: true }));

function sentence(id: string, text: string): KlueSentence {
  const tokens = [...text];
  return { id, annotated: text, text, tokens, tags: tokens.map(() => 'O'), line: 1 };
}

const DEV = [
  sentence('dev-km', '거리는 7.2km 였다.'),
  sentence('dev-un-seoul', '유엔은 서울에서 3일 회의를 열었다.'),
  sentence('dev-un', '유엔 총회가 열렸다.'),
];

// The three places study 003 prints answers, in its order, with the decoy `[Input]:` of its code.
const STUDY = `f.write(f"[Input]: {input_text}\\n")
Output:
[Input]: 거리는 7.2㎞ 였다.
[Model Output]: {"QT": ["7.2㎞"]}
[True Tags]: ['O']
==================================================

[Input]: 어디에도 없는 문장.
[Model Output]: {}
[True Tags]: []
==================================================

...생략...

JSON Error: \`\`\`json
{"OG": ["유엔"]}
\`\`\`

JSON Error: \`\`\`json
{"LC": ["서울"], "DT": ["3 일"]}
\`\`\`

... 생략 ...

틀린 케이스:

입력: 유엔은 서울에서 3일 회의를 열었다.

모델 생성(JSON): {"OG": ["유엔"], "LC": ["서울"]}

실제 정답(Target): []

\`\`\`
`;

describe('scripts/build-replay.ts', () => {
  test('matches answers by exact text, by normalised text and by listed entities; ambiguous or unknown ones are left out with a reason', () => {
    const [dump, cases, fenced] = buildReplay(STUDY, DEV, 'study.txt');
    assert.deepEqual(dump.answers, [
      { id: 'dev-km', answer: '{"QT": ["7.2㎞"]}', source: '003 debug dump (F1 = 0 run), item 1', matched_by: 'sentence text (NFKC, case and whitespace ignored)' },
    ]);
    assert.equal(dump.printed, 2);
    assert.deepEqual(dump.leftOut, ['003 debug dump (F1 = 0 run), item 2: its sentence fits 0 dev sentences']);
    assert.deepEqual(cases.answers, [
      { id: 'dev-un-seoul', answer: '{"OG": ["유엔"], "LC": ["서울"]}', source: '003 wrong-case list, case 1', matched_by: 'sentence text' },
    ]);
    assert.equal(fenced.printed, 2);
    assert.deepEqual(fenced.answers.map((a) => [a.id, a.source, a.answer]), [['dev-un-seoul', '003 "JSON Error" dump, item 2', '```json\n{"LC": ["서울"], "DT": ["3 일"]}\n```']]);
    assert.deepEqual(fenced.leftOut, ['"JSON Error" item 1 fits 2 dev sentences']);
  });

  test('a text without the study markers, or a fenced answer that is not entity JSON, is an InputError naming the file', () => {
    assert.throws(() => buildReplay('Output:\nnothing here\n', DEV, 'other.txt'), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /^other\.txt: no "Output:\\n\[Input\]:" after line 1/);
      return true;
    });
    const broken = STUDY.replace('{"OG": ["유엔"]}', '{"OG": "유엔"}');
    assert.throws(() => buildReplay(broken, DEV, 'study.txt'), /^InputError: study\.txt:15: 003 "JSON Error" dump, item 1: expected \{"<type>": \["<entity>", \.\.\.\], \.\.\.\}/);
  });

  test('lines are written as Python json.dumps(ensure_ascii=False) wrote them', () => {
    const line = replayLine({ id: 'x', answer: '```json\n{"PS": ["안\\현수"]}\t\u0001\n```', source: 's', matched_by: 'm' });
    assert.equal(line, '{"id": "x", "answer": "```json\\n{\\"PS\\": [\\"안\\\\현수\\"]}\\t\\u0001\\n```", "source": "s", "matched_by": "m"}\n');
  });

  const missing = existsSync(SEEDS) ? undefined : `${SEEDS} is absent: the study texts live beside the repository, not in it`;
  test('regenerates data/replay/*.jsonl byte for byte from the text of study 003', { skip: skipUnlessRequired(missing, 'HANLAB_REQUIRE_SEEDS') }, () => {
    assert.equal(missing, undefined, missing);
    const studies = readdirSync(SEEDS).filter((name) => /^003_.*\.txt$/.test(name));
    assert.equal(studies.length, 1, `expected one study 003 text in ${SEEDS}, found ${studies.join(', ') || 'none'}`);
    const out = path.join(work, 'replay');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build-replay.ts', path.join(SEEDS, studies[0]), '--out', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      run.stdout,
      'study003-debug-dump.jsonl: 5 of 5 answers matched\nstudy003-wrong-cases.jsonl: 10 of 10 answers matched\nstudy003-fenced-answers.jsonl: 7 of 8 answers matched\n',
    );
    assert.match(run.stderr, /left out: "JSON Error" item 6 fits 10 dev sentences/);
    for (const name of REPLAY_FILES) {
      assert.ok(readFileSync(path.join(out, name)).equals(readFileSync(path.join(REPLAY, name))), `${name} differs from ${REPLAY}/${name}`);
    }
  });
});
