import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { parseTrainingConfig, readTrainingConfig } from '../../lib/data/config-ini.js';
import { InputError } from '../../lib/errors.js';

/** The config.ini of study 004, as published (Korean comments, inline `;` comments, empty valid_file). */
const STUDY_004 = `[Path]
# 1. DeBERTa/BERT 사용 시 (kobert_train.py 실행용)
model_name = team-lucid/deberta-v3-base-korean

# 2. KoELECTRA 사용 시 (koelectra_train.py 실행용 - 주석 해제 후 사용)
# model_name = monologg/koelectra-base-v3-discriminator

# 데이터 파일 (CSV, JSON, Parquet 지원)
train_file = ./dataset_dir/news_data.csv
valid_file =  ; 비워두면 train_file에서 자동 분할

# 결과 저장 경로
output_dir = ./models/fine_tuned_model
checkpoint_dir = ./checkpoints

[Hyperparameters]
num_labels = 3          ; 긍정/부정/중립 등 라벨 개수
max_seq_length = 128    ; 문장 최대 길이
batch_size = 64         ; 목표 배치 사이즈 (스크립트가 자동으로 GPU에 맞춰 최적화함)
learning_rate = 2e-5
epochs = 3
seed = 42
split_ratio = 0.2       ; 검증 데이터 비율 (20%)
`;

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hanlab-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function expectError(text: string, pattern: RegExp, where: { line?: number; field?: string }): void {
  assert.throws(
    () => parseTrainingConfig(text, 'config.ini'),
    (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.equal(error.file, 'config.ini');
      if (where.line !== undefined) assert.equal(error.line, where.line);
      if (where.field !== undefined) assert.equal(error.field, where.field);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('readTrainingConfig', () => {
  test("study 004's config.ini parses: inline comments dropped, empty valid_file means split, paths resolved beside the file", () => {
    const config = parseTrainingConfig(STUDY_004, '/project/config.ini');
    assert.deepEqual(config, {
      file: '/project/config.ini',
      modelName: 'team-lucid/deberta-v3-base-korean',
      trainFile: '/project/dataset_dir/news_data.csv',
      validFile: null,
      outputDir: '/project/models/fine_tuned_model',
      checkpointDir: '/project/checkpoints',
      numLabels: 3,
      maxSeqLength: 128,
      batchSize: 64,
      learningRate: 2e-5,
      epochs: 3,
      seed: 42,
      splitRatio: 0.2,
    });
  });

  test('the shipped data/nsmc/config.ini points at the shipped NSMC files', () => {
    const config = readTrainingConfig('data/nsmc/config.ini');
    assert.equal(config.trainFile, path.resolve('data/nsmc/ratings_train.first14274.txt'));
    assert.ok(existsSync(config.trainFile));
    assert.equal(config.validFile, null);
    assert.equal(config.numLabels, 2);
    assert.equal(config.splitRatio, 0.1);
    assert.equal(config.seed, 42);
    // The settings of issue 7's NSMC floor run (8 epochs, lr 2e-3, 10% validation).
    assert.equal(config.epochs, 8);
    assert.equal(config.learningRate, 2e-3);
    assert.equal(config.outputDir, path.resolve('out/nsmc/model'));
  });

  test('a config saved as CP949 (Korean comments from Windows) reads the same', () => {
    const file = path.join(dir, 'cp949.ini');
    writeFileSync(file, iconv.encode(STUDY_004.replace(/\n/g, '\r\n'), 'cp949'));
    const config = readTrainingConfig(file);
    assert.equal(config.numLabels, 3);
    assert.equal(config.trainFile, path.join(dir, 'dataset_dir/news_data.csv'));
  });

  test('errors name the file, the line and the key', () => {
    expectError(STUDY_004.replace('batch_size = 64 ', 'batch_size = 64개'), /must be a positive integer, got '64개'/, { line: 19, field: '[Hyperparameters] batch_size' });
    expectError(STUDY_004.replace('epochs = 3', 'epochs = 0'), /must be a positive integer, got '0'/, { line: 21, field: '[Hyperparameters] epochs' });
    expectError(STUDY_004.replace('learning_rate = 2e-5', 'learning_rate = fast'), /must be a positive number/, { field: '[Hyperparameters] learning_rate' });
    expectError(STUDY_004.replace('split_ratio = 0.2', 'split_ratio = 1.5'), /between 0 and 1/, { line: 23, field: '[Hyperparameters] split_ratio' });
    expectError(STUDY_004.replace('num_labels = 3', 'num_labels = 1'), /an integer of at least 2/, { field: '[Hyperparameters] num_labels' });
    expectError(STUDY_004.replace('seed = 42\n', ''), /is missing/, { field: '[Hyperparameters] seed' });
    expectError(STUDY_004.replace('model_name = team-lucid/deberta-v3-base-korean', 'model_name ='), /is empty/, { line: 3, field: '[Path] model_name' });
    expectError(STUDY_004.replace('learning_rate', 'learning_rat'), /unknown key \(expected one of num_labels, max_seq_length/, { line: 20, field: '[Hyperparameters] learning_rat' });
    expectError(STUDY_004.replace('epochs = 3', 'epochs = 3\nepochs = 5'), /key appears 2 times \(lines 21, 22\)/, { line: 22, field: '[Hyperparameters] epochs' });
    expectError(STUDY_004 + '\n[Training]\nwarmup = 10\n', /unknown section \[Training\]/, { line: 25 });
    expectError('stray = 1\n' + STUDY_004, /outside any section/, { line: 1, field: 'stray' });
    expectError(STUDY_004.replace('[Hyperparameters]', '[Hyper]'), /unknown section \[Hyper\]/, { line: 16 });
    // No validation file and no ratio: nothing to validate on.
    expectError(STUDY_004.replace('split_ratio = 0.2       ; 검증 데이터 비율 (20%)\n', ''), /is missing/, { field: '[Hyperparameters] split_ratio' });
    assert.throws(() => readTrainingConfig(path.join(dir, 'missing.ini')), /missing\.ini: cannot read config file/);
  });

  test('with a validation file, split_ratio may be left out', () => {
    const text = STUDY_004.replace('valid_file =  ;', 'valid_file = ./dataset_dir/valid.csv ;').replace(/split_ratio = .*\n/, '');
    const config = parseTrainingConfig(text, '/p/config.ini');
    assert.equal(config.validFile, '/p/dataset_dir/valid.csv');
    assert.equal(config.splitRatio, null);
  });

  test('property: any valid set of values, written with or without inline comments, parses back to the same numbers', () => {
    const comment = fc.constantFrom('', ' ; 주석', '   ; 라벨 개수 (긍정/부정)', ' # note');
    fc.assert(
      fc.property(
        fc.record({
          numLabels: fc.integer({ min: 2, max: 50 }),
          maxSeqLength: fc.integer({ min: 1, max: 4096 }),
          batchSize: fc.integer({ min: 1, max: 1024 }),
          learningRate: fc.double({ min: 1e-7, max: 1, noNaN: true }),
          epochs: fc.integer({ min: 1, max: 100 }),
          seed: fc.integer({ min: 0, max: 0xffffffff }),
          splitRatio: fc.double({ min: 0.001, max: 0.999, noNaN: true }),
          trainFile: fc.constantFrom('train.csv', './data/학습.tsv', 'sub dir/train.parquet'),
        }),
        comment,
        (v, note) => {
          const text = [
            '[Path]',
            `model_name = klue/roberta-base${note}`,
            `train_file = ${v.trainFile}${note}`,
            `valid_file =${note}`,
            'output_dir = out',
            '[Hyperparameters]',
            `num_labels = ${v.numLabels}${note}`,
            `max_seq_length = ${v.maxSeqLength}`,
            `batch_size = ${v.batchSize}${note}`,
            `learning_rate = ${v.learningRate}`,
            `epochs = ${v.epochs}`,
            `seed = ${v.seed}${note}`,
            `split_ratio = ${v.splitRatio}${note}`,
          ].join('\n');
          const config = parseTrainingConfig(text, '/base/config.ini');
          assert.equal(config.trainFile, path.resolve('/base', v.trainFile));
          assert.equal(config.modelName, 'klue/roberta-base');
          assert.equal(config.checkpointDir, null);
          assert.deepEqual(
            [config.numLabels, config.maxSeqLength, config.batchSize, config.learningRate, config.epochs, config.seed, config.splitRatio],
            [v.numLabels, v.maxSeqLength, v.batchSize, v.learningRate, v.epochs, v.seed, v.splitRatio],
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
