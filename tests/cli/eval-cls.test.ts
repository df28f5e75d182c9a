import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GOLDEN = 'tests/fixtures/golden/classification';

/** Runs the real `hanlab` binary, as a user would. */
function hanlab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('hanlab eval cls: the text report and the confusion matrix, --json with scikit-learn keys, bad records named by line', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-eval-cls-'));
  try {
    const refs = JSON.parse(readFileSync(`${GOLDEN}/refs.json`, 'utf8'));
    const missing = path.join(dir, 'missing.jsonl');
    writeFileSync(missing, '{"gold": "긍정", "pred": "긍정"}\n{"gold": "부정"}\n');
    const mixed = path.join(dir, 'mixed.jsonl');
    writeFileSync(mixed, '{"gold": 1, "pred": 1}\n{"gold": "1", "pred": 0}\n');
    const broken = path.join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"gold": "a", "pred": "a"}\n{"gold": "a", "pred": \n');
    const csv = path.join(dir, 'records.csv');
    writeFileSync(csv, 'gold,pred\n긍정,긍정\n부정,긍정\n중립,중립\n');

    const [text, json, ordered, bad, badMix, badJson, fromCsv, help, noArgs] = await Promise.all([
      hanlab(['eval', 'cls', '--records', `${GOLDEN}/three-class.jsonl`, '--digits', '4']),
      hanlab(['eval', 'cls', '--records', `${GOLDEN}/never-predicted.jsonl`, '--zero-division', '0', '--json']),
      hanlab(['eval', 'cls', '--records', `${GOLDEN}/three-class.jsonl`, '--labels', '중립,부정,긍정', '--json']),
      hanlab(['eval', 'cls', '--records', missing]),
      hanlab(['eval', 'cls', '--records', mixed]),
      hanlab(['eval', 'cls', '--records', broken]),
      hanlab(['eval', 'cls', '--records', csv]),
      hanlab(['eval', 'cls', '--help']),
      hanlab(['eval', 'cls']),
    ]);

    assert.equal(text.code, 0, text.stderr);
    const ref = refs['three-class'];
    assert.ok(text.stdout.startsWith(ref.report_text_digits4), 'report byte for byte');
    assert.match(text.stdout, /혼동 행렬 \(행 = 정답, 열 = 예측; 600개 중 정답 485개\)/);
    assert.match(text.stdout, /\| \*\*정답: 긍정\*\* \| 181 \| 23 \| 19 \|/);

    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout);
    const never = refs['never-predicted'];
    assert.deepEqual(Object.keys(out), ['accuracy', 'report', 'confusion_matrix', 'labels']);
    assert.deepEqual(out.labels, never.labels);
    assert.deepEqual(out.confusion_matrix, never.confusion_matrix_rows_gold_cols_pred);
    assert.deepEqual(Object.keys(out.report), Object.keys(never.report));
    assert.ok(Math.abs(out.report['macro avg']['f1-score'] - never.macro_f1) <= 1e-9);
    assert.ok(Math.abs(out.accuracy - never.accuracy) <= 1e-9);
    assert.equal(json.stderr, ''); // zero_division 0: no warning

    const reordered = JSON.parse(ordered.stdout);
    assert.deepEqual(reordered.labels, ['중립', '부정', '긍정']);
    assert.deepEqual(Object.keys(reordered.report).slice(0, 3), ['중립', '부정', '긍정']);
    assert.deepEqual(reordered.confusion_matrix[0], [168, 22, 19]); // gold 중립 row, columns 중립 부정 긍정

    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /missing\.jsonl:2, field "pred": expected a label/);
    assert.equal(bad.stdout, '');
    assert.equal(badMix.code, 2);
    // gold [1, "1"] is a string array for NumPy, pred [1, 0] a number array: scikit-learn's "Mix of label input types".
    assert.match(badMix.stderr, /mixed\.jsonl:2, field "gold": gold label is a string but the pred labels are numbers.*Mix of label input types/);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /broken\.jsonl:2: not valid JSON/);
    assert.equal(fromCsv.code, 0, fromCsv.stderr);
    assert.match(fromCsv.stdout, /\n    accuracy +0\.67 +3\n/);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--records FILE/);
    assert.equal(noArgs.code, 2);
    assert.match(noArgs.stderr, /--records is required/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
