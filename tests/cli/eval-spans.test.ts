import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function hanlab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

// A KBMC-format sentence (published layout: morphemes joined by spaces, label-first tags).
const SENTENCE = '전신 적 다한증 은 신체 전체 에 땀 이 과도 하 게 나 는 질환 이 다 .';
const TAGS = 'Disease-B Disease-I Disease-I O Body-B Body-I O Body-B O O O O O O O O O O';
const GOLD = [
  { label: 'Disease', start: 0, end: 8 },
  { label: 'Body', start: 11, end: 16 },
  { label: 'Body', start: 19, end: 20 },
];

test('hanlab eval spans: per-label and micro P/R/F1 with counts, base vs fine-tuned Delta, KBMC gold, bad spans named by line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-eval-spans-'));
  try {
    const write = (name: string, lines: unknown[]) => {
      const file = path.join(dir, name);
      writeFileSync(file, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
      return file;
    };
    const base = write('base.jsonl', [{ id: 's1', text: SENTENCE, gold: GOLD, pred: [GOLD[0], { label: 'Body', start: 11, end: 13, text: '신체' }] }]);
    const tuned = write('tuned.jsonl', [{ id: 's1', text: SENTENCE, gold: GOLD, pred: [] }]);
    const kbmc = path.join(dir, 'KBMC.tsv');
    writeFileSync(kbmc, `Sentence\tTags\n${SENTENCE}\t${TAGS}\n`);
    const predOnly = write('pred-only.jsonl', [{ pred: GOLD }]);
    const badText = write('bad-text.jsonl', [{ text: SENTENCE, gold: GOLD, pred: [] }, { text: SENTENCE, gold: GOLD, pred: [{ label: 'Body', start: 11, end: 13, text: '전체' }] }]);
    const otherGold = write('other-gold.jsonl', [{ text: SENTENCE, gold: GOLD.slice(1), pred: [] }]);

    const [single, compared, json, fromKbmc, bad, mismatch] = await Promise.all([
      hanlab(['eval', 'spans', '--records', base, '--labels', 'Disease,Body,Treatment']),
      hanlab(['eval', 'spans', '--base', base, '--tuned', tuned]),
      hanlab(['eval', 'spans', '--base', base, '--tuned', tuned, '--json']),
      hanlab(['eval', 'spans', '--kbmc', kbmc, '--records', predOnly, '--json']),
      hanlab(['eval', 'spans', '--records', badText]),
      hanlab(['eval', 'spans', '--base', base, '--tuned', otherGold]),
    ]);
    assert.equal(single.code, 0, single.stderr);
    assert.match(single.stdout, /\| Disease \| 1\.0000 \| 1\.0000 \| 1\.0000 \| 1 \| 0 \| 0 \| 1 \|/);
    assert.match(single.stdout, /\| Body \| 0\.0000 \| 0\.0000 \| 0\.0000 \| 0 \| 1 \| 2 \| 2 \|/);
    assert.match(single.stdout, /\| Treatment \| 0\.0000 \| 0\.0000 \| 0\.0000 \| 0 \| 0 \| 0 \| 0 \|/);
    assert.match(single.stdout, /\| \*\*micro\*\* \| 0\.5000 \| 0\.3333 \| 0\.4000 \| 1 \| 1 \| 2 \| 3 \|/);

    assert.equal(compared.code, 0, compared.stderr);
    assert.ok(
      compared.stdout.startsWith(
        [
          '| 지표 | 베이스라인 | 파인튜닝 후 | Delta |',
          '|------|-----------|------------|-------|',
          '| Precision | 0.5000 | 0.0000 | -0.5000 |',
          '| Recall | 0.3333 | 0.0000 | -0.3333 |',
          '| **F1** | **0.4000** | **0.0000** | **-0.4000** |',
          '| TP | 1 | 0 | -1 |',
          '| FP | 1 | 0 | -1 |',
          '| FN | 2 | 3 | +1 |',
        ].join('\n'),
      ),
      compared.stdout,
    );
    const result = JSON.parse(json.stdout);
    assert.deepEqual(result.micro.map((row: { metric: string; delta: number }) => [row.metric, row.delta]), [
      ['precision', -0.5],
      ['recall', -1 / 3],
      ['f1', -0.4],
      ['tp', -1],
      ['fp', -1],
      ['fn', 1],
    ]);

    assert.equal(fromKbmc.code, 0, fromKbmc.stderr);
    const kb = JSON.parse(fromKbmc.stdout);
    assert.deepEqual([kb.micro.tp, kb.micro.fp, kb.micro.fn, kb.micro.f1], [3, 0, 0, 1]);

    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad-text\.jsonl:2, field "pred\[0\]": "text" is "전체" but the text at 11\.\.13 is "신체"/);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /other-gold\.jsonl:1, field "gold": gold spans differ/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
