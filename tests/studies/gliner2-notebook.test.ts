/**
 * Notebook 06 with `-p model_dir=` a GLiNER2 folder (issue 27): the study's own pipeline end to end on a
 * tiny random GLiNER2 (scripts/make-tiny-checkpoint.ts --arch gliner2) and the KBMC-format fixture —
 * baseline extraction, LoRA fine-tuning with the study's settings, extraction after, span P/R/F1 and
 * the loss per epoch — through `hanlab run` and `hanlab report`, and the report names the model.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeTinyCheckpoint } from '../../scripts/make-tiny-checkpoint.js';
import { cleanup, skipWithoutTorch, tempDir } from '../models/helpers.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const skip = skipWithoutTorch();
const marker = newMarker();
const env = { ...process.env, HANLAB_TEST_MARKER: marker, HANLAB_BACKEND: 'cpu' };

after(async () => {
  cleanup();
  assert.deepEqual(await waitForNoProcesses(marker), [], 'every kernel process was stopped');
});

describe('notebook 06 with a GLiNER2 model_dir', { skip, timeout: 900_000 }, () => {
  test('baseline, LoRA (encoder, span_rep, classifier), extraction after, scores and loss; the report names the model', () => {
    const work = tempDir('hanlab-gliner2-notebook-');
    const modelDir = path.join(work, 'tiny-gliner2');
    makeTinyCheckpoint({ arch: 'gliner2', out: modelDir, seed: 6 });
    const executed = path.join(work, '06.ipynb');
    const run = spawnSync(
      process.execPath,
      [
        'bin/hanlab.mjs', 'run', 'notebooks/06-span-ner-lora.ipynb',
        '-p', `model_dir=${modelDir}`, '-p', `train_file=${path.resolve('tests/fixtures/kbmc/kbmc-sample.tsv')}`,
        '-p', 'lora_target_modules=encoder,span_rep,classifier', '-p', 'train_epochs=2', '-p', 'threshold=0.3', '--out', executed,
      ],
      { encoding: 'utf8', env },
    );
    assert.equal(run.status, 0, `hanlab run: ${run.stderr}`);
    const report = spawnSync(process.execPath, ['bin/hanlab.mjs', 'report', executed, '--out', path.join(work, 'reports')], { encoding: 'utf8', env });
    assert.equal(report.status, 0, `hanlab report: ${report.stderr}`);
    const md = readFileSync(path.join(work, 'reports', '06-span-ner-lora.md'), 'utf8');
    assert.match(md, /^# tiny-gliner2 \+ LoRA — 스팬 NER 베이스라인 vs 파인튜닝 \(study 000 방식\)/);
    assert.match(md, /이 실행은 로컬 GLiNER2 체크포인트 \*\*tiny-gliner2\*\*\(`[^`]*tiny-gliner2`, `extractor \(deberta-v2\)`\)를 공개 보고서와 같은 구조/);
    assert.match(md, /LoRA\(r 16, α 32, dropout 0\.1, 대상 모듈 encoder · span_rep · classifier\)로 학습 문장 6개를 2 에폭 학습했습니다/);
    assert.match(md, /\| 학습하는 파라미터 \(LoRA\) \| [\d,]+ \| 3,096,592 \(LoRA params\) \|/);
    assert.match(md, /3\.1 정량적 결과/);
    assert.match(md, /### 3\.2 Training Loss 추이/);
    assert.match(md, /\*\*관찰\*\*: 학습 손실은 1 에폭 [\d.]+에서/);
  });
});
