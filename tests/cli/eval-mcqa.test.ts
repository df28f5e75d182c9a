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

const OPTIONS = { A: '항핵항체(ANA)', B: '류마티스인자(RF)', C: '비타민B12(cobalamin)', D: '갑상샘자극호르몬(TSH)', E: '알칼리인산분해효소(ALP)' };

/** `correct` right answers (in varied formats), then wrong ones, then `unextractable` ones. */
function answers(subset: string, total: number, correct: number, unextractable = 0): string[] {
  const right = ['C', '정답: C', 'C. 비타민B12', '(C)', '비타민B12(cobalamin)'];
  return Array.from({ length: total }, (_, i) => {
    const answer = i < correct ? right[i % right.length] : i < total - unextractable ? '정답: A' : '잘 모르겠습니다';
    return JSON.stringify({ id: `${subset}-${i}`, subset, gold: i % 2 ? 'C' : 3, answer, options: OPTIONS });
  });
}

test('hanlab eval mcqa: per-subset accuracy, base vs fine-tuned with points, ▴ / ▾ and a CI; bad records named by line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-eval-mcqa-'));
  try {
    const base = path.join(dir, 'base.jsonl');
    const tuned = path.join(dir, 'tuned.jsonl');
    writeFileSync(base, [...answers('doctor', 20, 6, 2), ...answers('nurse', 40, 20)].join('\n') + '\n');
    writeFileSync(tuned, [...answers('doctor', 20, 9), ...answers('nurse', 40, 18)].join('\n') + '\n');
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify({ gold: 'C', answer: 'C' }) + '\n' + JSON.stringify({ gold: 'F', answer: 'C' }) + '\n');
    const [single, compared, json, badGold, unpaired] = await Promise.all([
      hanlab(['eval', 'mcqa', '--records', base, '--subset-sizes', 'doctor=435,nurse=878']),
      hanlab(['eval', 'mcqa', '--base', base, '--tuned', tuned, '--resamples', '500', '--seed', '3']),
      hanlab(['eval', 'mcqa', '--base', base, '--tuned', tuned, '--resamples', '500', '--seed', '3', '--json']),
      hanlab(['eval', 'mcqa', '--records', bad]),
      hanlab(['eval', 'mcqa', '--base', base, '--tuned', bad]),
    ]);
    assert.equal(single.code, 0, single.stderr);
    assert.match(single.stdout, /\| doctor \| 20 \| 6 \| 2 \| 30\.00% \|/);
    assert.match(single.stdout, /\| 전체·문항 가중 micro \| 60 \| 26 \| 2 \| 43\.33% \|/);
    assert.match(single.stdout, /\| 전체·세트 크기 가중 \| 60 \| \| \| 43\.37% \|/); // (0.3·435 + 0.5·878) / 1313 = 0.43374
    assert.match(single.stdout, /\| 전체·세트 평균 macro \| 60 \| \| \| 40\.00% \|/);
    assert.match(single.stdout, /답변: 추출 실패 2건/);
    assert.match(single.stdout, /\| doctor \| doctor-19 \| no-choice \| 잘 모르겠습니다 \|/);

    assert.equal(compared.code, 0, compared.stderr);
    assert.match(compared.stdout, /\| doctor \(20\) \| 30\.00% \| \*\*45\.00%\*\* \| \+15\.00 \| ▴ 50\.00% \| \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\] \|/);
    assert.match(compared.stdout, /\| nurse \(40\) \| 50\.00% \| \*\*45\.00%\*\* \| -5\.00 \| ▾ 10\.00% \|/);
    assert.match(compared.stdout, /부트스트랩 500회, 세트별 층화 재표집, 백분위수 구간, 시드 3/);
    const result = JSON.parse(json.stdout);
    assert.equal(result.micro.differencePoints.toFixed(6), (((27 - 26) / 60) * 100).toFixed(6));
    assert.equal(result.micro.ci.resamples, 500);
    assert.ok(result.micro.ci.low <= result.micro.differencePoints && result.micro.differencePoints <= result.micro.ci.high);

    assert.equal(badGold.code, 2);
    assert.match(badGold.stderr, /bad\.jsonl:2, field "gold": gold must be a letter A-E or 1-5, got "F"/);
    assert.equal(unpaired.code, 2);
    assert.match(unpaired.stderr, /bad\.jsonl:2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
