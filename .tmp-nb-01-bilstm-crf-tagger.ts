const klue_file = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
const partition_file = 'data/klue-ner/partition.json';
// Short CPU settings; full settings: train_limit = 0 (all 4,000), epochs = 10, hidden_dim = 128, embedding_dim = 128.
const settings_name = '짧은 설정 (CPU)';
const encoder = 'bilstm';
const train_limit = 1600;
const epochs = 2;
const embedding_dim = 48;
const hidden_dim = 48;
const batch_size = 16;
const learning_rate = 0.01;
const dropout = 0.1;
const patience = 3;
const seed = 42;
// Read by notebook 02 (the LLM comparison table).
const metrics_out = 'out/bilstm-crf-tagger/metrics.json';
import * as fs from 'fs';
import * as path from 'path';
import { initBackend } from './lib/backend/index';
import { emit, showTable } from '/tmp/h8/shim-display.ts';
import { readKlueNer } from './lib/data/klue-ner';
import { loadKluePartition, splitKlueSentences } from './lib/data/klue-partition';
import { KLUE_NER_TYPES, klueScores } from './lib/metrics/klue';
import { classificationReport, formatClassificationReport } from './lib/metrics/seqeval';
import { trainTagger, predictTagStrings } from './lib/train/index';

const device = await initBackend();
console.log(device);
const started = Date.now();
const sentences = readKlueNer(klue_file, { file: klue_file, labels: [...KLUE_NER_TYPES] });
const splits = splitKlueSentences(sentences, loadKluePartition(partition_file));
const train = train_limit > 0 ? splits.train.slice(0, train_limit) : splits.train;
const syllableCount = (list: typeof train) => list.reduce((n, s) => n + s.tokens.length, 0);
emit('data', {
  kind: 'table',
  title: '데이터 (KLUE NER v1.1 dev의 고정 분할)',
  columns: ['부분', '문장 수', '음절 수', '용도'],
  rows: [
    ['train', train.length, syllableCount(train), train.length < splits.train.length ? `학습 (train ${splits.train.length}문장 중 앞 ${train.length}문장)` : '학습'],
    ['validation', splits.validation.length, syllableCount(splits.validation), '에폭별 검증, 조기 종료'],
    ['test', splits.test.length, syllableCount(splits.test), '최종 평가'],
  ],
});
const logLines: string[] = [];
const trained = await trainTagger({
  train: train,
  validation: splits.validation,
  model: { encoder: encoder as 'bilstm' | 'conv', embeddingDim: embedding_dim, hiddenDim: hidden_dim, dropout: dropout, head: 'crf' },
  training: {
    epochs: epochs, batchSize: batch_size, learningRate: learning_rate, seed: seed, patience: patience, progress: 'lines',
    log: (line: string) => { logLines.push(line); console.log(line); },
  },
  source: klue_file,
});
const tagger = trained.model;
const result = { history: trained.history, epochsRun: trained.history.epochs.length };
const history = result.history;
emit('settings', {
  kind: 'config',
  title: '학습 설정',
  format: 'ini',
  values: {
    settings: settings_name,
    encoder: `${encoder} + CRF`,
    embedding_dim: embedding_dim, hidden_dim: hidden_dim, dropout: dropout,
    train_sentences: train.length, vocabulary: tagger.vocabulary.size, tags: tagger.tags.length,
    epochs: epochs, batch_size: batch_size, learning_rate: learning_rate, patience: patience, seed: seed,
    backend: history.backend,
  },
});
emit('loss', {
  kind: 'loss',
  title: '에폭별 학습 손실과 검증 F1',
  metricName: '검증 F1',
  epochs: history.epochs.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, ...(e.validation ? { metric: e.validation.score } : {}) })),
});
emit('throughput', {
  kind: 'table',
  title: '처리 속도',
  columns: ['에폭', '시간 (초)', '실제 음절/초', '패딩 효율 (실제 음절 / 패딩 포함 자리)'],
  rows: history.epochs.map((e) => [e.epoch, e.seconds.toFixed(1), Math.round(e.tokensPerSecond), `${(100 * e.paddingEfficiency).toFixed(1)}%`]),
});
emit('train-events', { kind: 'table', title: '학습 기록', columns: ['스텝', '종류', '내용'], rows: history.events.map((e) => [e.step, e.kind, e.message]) });
emit('training-summary', {
  epochsRun: result.epochsRun,
  bestEpoch: history.bestEpoch,
  stoppedEarly: history.stoppedEarly,
  seconds: history.seconds,
  overfitting: history.overfitting ? history.overfitting.message : '',
});
const t0 = Date.now();
const predicted = predictTagStrings(tagger, splits.test.map((s) => s.tokens));
const predictSeconds = (Date.now() - t0) / 1000;
const gold = splits.test.map((s) => [...s.tags]);
const report = classificationReport(gold, predicted, { zeroDivision: 0 });
const klue = klueScores(gold, predicted, { sentenceIds: splits.test.map((s) => s.id) });
console.log(formatClassificationReport(report, 4));
emit('test-per-label', {
  kind: 'per-label',
  title: 'test 라벨별 점수 (seqeval default mode)',
  rows: report.labels.map((label) => ({ label, precision: report.dict[label].precision, recall: report.dict[label].recall, f1: report.dict[label]['f1-score'], support: report.dict[label].support })),
});
emit('test-scores', {
  kind: 'metrics',
  title: 'test 점수',
  rows: [
    { label: 'Precision (micro)', key: 'precision', value: report.micro.precision },
    { label: 'Recall (micro)', key: 'recall', value: report.micro.recall },
    { label: 'F1 (micro)', key: 'f1', value: report.micro['f1-score'] },
    { label: 'KLUE 개체 단위 macro F1 (×100)', value: Number(klue.entity_macro_f1.toFixed(2)), format: 'count' },
    { label: 'KLUE 음절 단위 macro F1 (×100)', value: Number(klue.char_macro_f1.toFixed(2)), format: 'count' },
  ],
});
emit('seqeval-report', { text: formatClassificationReport(report, 4) });
fs.mkdirSync(path.dirname(metrics_out), { recursive: true });
fs.writeFileSync(metrics_out, JSON.stringify({
  settings: settings_name, encoder: `${encoder}+crf`, sentences: splits.test.length,
  precision: Number(report.micro.precision.toFixed(4)), recall: Number(report.micro.recall.toFixed(4)), f1: Number(report.micro['f1-score'].toFixed(4)),
  klue_entity_macro_f1: Number(klue.entity_macro_f1.toFixed(2)), klue_char_macro_f1: Number(klue.char_macro_f1.toFixed(2)),
}, null, 2) + '\n');
emit('headline', {
  kind: 'headline',
  figures: [
    { label: 'test F1 (seqeval micro)', value: report.micro['f1-score'], format: 'score' },
    { label: 'KLUE 개체 단위 macro F1', value: klue.entity_macro_f1 / 100, format: 'score' },
  ],
});
const testSyllables = syllableCount(splits.test);
emit('environment', {
  kind: 'environment',
  hardware: `${device.cpuModel ?? 'CPU'} × ${device.cpus}${device.gpu?.name ? `, ${device.gpu.name}` : ''}`,
  backend: device.backend,
  durationMs: Date.now() - started,
  extra: {
    '학습 시간': `${history.seconds.toFixed(1)}초`,
    '학습 처리 속도': `${Math.round(history.epochs.reduce((a, e) => a + e.tokensPerSecond, 0) / Math.max(1, history.epochs.length)).toLocaleString('en-US')} 음절/초`,
    '추론 처리 속도': `${Math.round(testSyllables / predictSeconds).toLocaleString('en-US')} 음절/초`,
  },
});
