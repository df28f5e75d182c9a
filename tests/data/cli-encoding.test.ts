/**
 * Issue 14's "silent wrong answers" reproduced through the commands users run: CP949 answers, gold and
 * notebooks give the same results as their UTF-8 originals; a broken byte is one line on stderr naming
 * the file, line and column, exit 2, no stack trace.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { encodeText } from '../../lib/data/encoding.js';
import { readNotebook, sourceText } from '../../lib/notebook/nbformat.js';

const DEV = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
const REPLAY = 'data/replay/study003-wrong-cases.jsonl';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-cli-encoding-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hanlab(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function write(relative: string, bytes: Uint8Array | string): string {
  const file = path.join(work, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return file;
}

/** One line on stderr, `hanlab <command>: <file>:<line>: ...`, and no stack frame. */
function assertOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /^\s+at /m);
}

/** `text` with the last `lost` bytes of the first 3-byte character of line `line` removed. */
function tear(text: string, line: number, lost: 1 | 2): Uint8Array {
  const lines = text.split('\n');
  const before = Buffer.byteLength(lines.slice(0, line - 1).join('\n') + '\n');
  const chars = [...lines[line - 1]];
  const index = chars.findIndex((c) => Buffer.byteLength(c) === 3);
  const start = before + Buffer.byteLength(chars.slice(0, index).join(''));
  const bytes = Buffer.from(text);
  return Uint8Array.from([...bytes.subarray(0, start + 3 - lost), ...bytes.subarray(start + 3)]);
}

describe('hanlab align / explain on CP949 and broken files', () => {
  const answersText = readFileSync(REPLAY, 'utf8');
  const cp949Answers = write('cp949/answers.jsonl', iconv.encode(answersText.replace(/\n/g, '\r\n'), 'cp949'));

  test('CP949 answers give the F1 of the UTF-8 ones (0.6462; it was 0.0606 with exit 0)', () => {
    const f1 = (answers: string) => {
      const run = hanlab('align', '--gold', DEV, '--answers', answers, '--answered-only', '--json');
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout) as { sentences: number; f1: { tag: number } };
    };
    const utf8 = f1(REPLAY);
    assert.equal(utf8.sentences, 10);
    assert.equal(utf8.f1.tag.toFixed(4), '0.6462');
    assert.deepEqual(f1(cp949Answers), utf8);
  });

  test('CP949 gold as well: the same diagnosis', () => {
    const ids = new Set(answersText.trim().split('\n').map((line) => (JSON.parse(line) as { id: string }).id));
    const blocks = readFileSync(DEV, 'utf8').split('\n\n').filter((block) => ids.has(/^## (\S+)\t/m.exec(block)?.[1] ?? ''));
    assert.equal(blocks.length, 10);
    const goldText = blocks.join('\n\n') + '\n';
    const utf8Gold = write('gold/utf8.tsv', goldText);
    const cp949Gold = write('gold/cp949.tsv', iconv.encode(goldText, 'cp949'));
    const utf8 = hanlab('align', '--gold', utf8Gold, '--answers', REPLAY, '--json');
    const cp949 = hanlab('align', '--gold', cp949Gold, '--answers', cp949Answers, '--json');
    assert.equal(cp949.code, 0, cp949.stderr);
    assert.equal(cp949.stdout, utf8.stdout);
  });

  test('explain prints the same Korean for CP949 answers (it printed mojibake)', () => {
    const utf8 = hanlab('explain', '--gold', DEV, '--answers', REPLAY, '--answered-only', '--limit', '2');
    const cp949 = hanlab('explain', '--gold', DEV, '--answers', cp949Answers, '--answered-only', '--limit', '2');
    assert.equal(cp949.code, 0, cp949.stderr);
    assert.match(cp949.stdout, /안현수/);
    assert.equal(cp949.stdout, utf8.stdout);
  });

  test('a single broken byte in the answers: one line naming file, line and column, exit 2 (it silently changed F1)', () => {
    for (const lost of [1, 2] as const) {
      const torn = write(`torn-${lost}/answers.jsonl`, tear(answersText, 7, lost));
      for (const command of ['align', 'explain']) {
        const result = hanlab(command, '--gold', DEV, '--answers', torn, '--answered-only');
        assertOneLineError(result, new RegExp(`^hanlab ${command}: ${torn.replace(/[.\\/]/g, '\\$&')}:7: broken UTF-8 at column \\d+: the 3-byte character`));
      }
    }
  });

  test('--encoding names the encoding: a tiny CP949 file the rule cannot judge reads with it; a wrong name is an error', () => {
    const gold = write('tiny/gold.tsv', '## s1\t짱이얌\n짱\tO\n이\tO\n얌\tO\n');
    const answers = write('tiny/answers.jsonl', iconv.encode('{"id": "s1", "answer": "{\\"PS\\": [\\"짱이얌\\"]}"}\n', 'cp949'));
    assertOneLineError(hanlab('align', '--gold', gold, '--answers', answers), /answers\.jsonl:1: broken UTF-8 at column \d+: .*name its encoding/);
    const named = hanlab('align', '--gold', gold, '--answers', answers, '--encoding', 'utf-8', '--json');
    assertOneLineError(named, /answers\.jsonl:1: not valid UTF-8 at column \d+/);
    const cp949Gold = write('tiny/gold.cp949.tsv', iconv.encode('## s1\t짱이얌\n짱\tO\n이\tO\n얌\tO\n', 'cp949'));
    const right = hanlab('align', '--gold', cp949Gold, '--answers', answers, '--encoding', 'cp949', '--json');
    assert.equal(right.code, 0, right.stderr);
    assert.equal(JSON.parse(right.stdout).parseOutcomes.missing, 0);
    assertOneLineError(hanlab('align', '--gold', gold, '--answers', answers, '--encoding', 'latin1'), /--encoding must be one of utf-8, utf-8-bom, utf-16le, utf-16be, euc-kr, cp949, not "latin1"/);
  });
});

test('hanlab eval ner: CP949 gold and predictions score as UTF-8 ones; a 2-byte loss at line 89 is reported at line 89 (it said "line 1 … offset 19")', () => {
  const small = readFileSync('tests/fixtures/klue-small.tsv', 'utf8');
  const cp949 = write('eval/gold.cp949.tsv', iconv.encode(small, 'cp949'));
  const utf8 = hanlab('eval', 'ner', '--gold', 'tests/fixtures/klue-small.tsv', '--pred', 'tests/fixtures/klue-small.tsv', '--json');
  for (const extra of [[], ['--encoding', 'cp949']]) {
    const result = hanlab('eval', 'ner', '--gold', cp949, '--pred', cp949, '--json', ...extra);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, utf8.stdout);
  }
  assertOneLineError(hanlab('eval', 'ner', '--gold', cp949, '--pred', cp949, '--encoding', 'utf-8'), /gold\.cp949\.tsv:1: not valid UTF-8 at column \d+/);
  const torn = write('eval/gold.tsv', tear(small, 89, 2));
  assertOneLineError(hanlab('eval', 'ner', '--gold', torn, '--pred', torn), /gold\.tsv:89: broken UTF-8 at column 1: the 3-byte character 0xED is cut short \(0x09 follows\)/);
});

describe('notebooks in CP949 or with a BOM', () => {
  const NOTEBOOK = 'tests/fixtures/reports/sentiment.ipynb';
  const text = readFileSync(NOTEBOOK, 'utf8');

  test('hanlab report writes the same report from a CP949 notebook and one with a BOM; a broken byte is exit 2', () => {
    const render = (variant: string, bytes: Uint8Array | string) => {
      const input = write(`report-${variant}/sentiment.ipynb`, bytes);
      const out = path.join(work, `report-${variant}`, 'out');
      const result = hanlab('report', input, '--out', out);
      assert.equal(result.code, 0, result.stderr);
      return readFileSync(path.join(out, 'news-sentiment.md'), 'utf8');
    };
    const expected = render('utf8', text);
    assert.match(expected, /감성/);
    assert.equal(render('cp949', iconv.encode(text, 'cp949')), expected);
    assert.equal(render('bom', encodeText(text, 'utf-8-bom')), expected);
    const line = text.split('\n').findIndex((l) => /[가-힣]/.test(l)) + 1;
    const torn = write('report-torn/sentiment.ipynb', tear(text, line, 1));
    assertOneLineError(hanlab('report', torn, '--out', path.join(work, 'report-torn', 'out')), new RegExp(`sentiment\\.ipynb:${line}: broken UTF-8 at column \\d+`));
  });

  test('hanlab run executes a CP949 notebook and writes it back as UTF-8 with the Korean intact', () => {
    const source = readFileSync('tests/fixtures/notebooks/success.ipynb', 'utf8');
    const input = write('run/success.ipynb', iconv.encode(source, 'cp949'));
    const out = path.join(work, 'run', 'out.ipynb');
    const result = hanlab('run', input, '--out', out, '--timeout', '60');
    assert.equal(result.code, 0, result.stderr);
    const saved = readNotebook(out);
    assert.equal(sourceText(saved.cells[0].source), sourceText(readNotebook('tests/fixtures/notebooks/success.ipynb').cells[0].source));
    assert.match(readFileSync(out, 'utf8'), /개체명 F1/);
    const torn = write('run/torn.ipynb', tear(source, source.split('\n').findIndex((l) => /[가-힣]/.test(l)) + 1, 2));
    assertOneLineError(hanlab('run', torn, '--out', path.join(work, 'run', 'torn-out.ipynb')), /torn\.ipynb:\d+: broken UTF-8 at column \d+/);
  });
});
