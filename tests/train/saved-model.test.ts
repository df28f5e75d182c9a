import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_CLASSIFIER_CONFIG, TextClassifier } from '../../lib/train/models/classifier.js';
import { DEFAULT_TAGGER_CONFIG, SequenceTagger } from '../../lib/train/models/tagger.js';
import { loadModel, saveModel } from '../../lib/train/saved-model.js';
import { CorruptFileError, readContainer, writeContainer } from '../../lib/train/model-file.js';
import { predictProbabilities, predictTagStrings } from '../../lib/train/examples.js';
import { collectTags } from '../../lib/data/klue-ner.js';
import { Vocabulary, syllables } from '../../lib/train/vocabulary.js';
import { InputError } from '../../lib/errors.js';
import { klueSentences, nsmcRows, setupBackend } from './helpers.js';

before(setupBackend);

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'hanlab-train-'));
}

test('a saved tagger predicts exactly what the original does, vocabulary and tags included', () => {
  const dir = tempDir();
  const sentences = klueSentences(6);
  const model = new SequenceTagger({ ...DEFAULT_TAGGER_CONFIG, encoder: 'bilstm', embeddingDim: 8, hiddenDim: 8 }, Vocabulary.build(sentences.map((s) => s.tokens)), collectTags(sentences), 3);
  const file = path.join(dir, 'ner.hanlab');
  saveModel(model, file, 3, { metrics: { note: '검증' } });
  const { model: loaded, header } = loadModel(file);
  assert.equal(loaded.kind, 'tagger');
  assert.deepEqual((header.metrics as { note: string }).note, '검증');
  const inputs = sentences.map((s) => s.tokens);
  assert.deepEqual(predictTagStrings(loaded as SequenceTagger, inputs), predictTagStrings(model, inputs));
  assert.deepEqual(readdirSync(dir), ['ner.hanlab'], 'no temporary file left behind');
  model.dispose();
  loaded.dispose();
  rmSync(dir, { recursive: true });
});

test('a saved classifier (with hashed bigram embeddings) gives the same probabilities', () => {
  const dir = tempDir();
  const rows = nsmcRows(10);
  const model = new TextClassifier({ ...DEFAULT_CLASSIFIER_CONFIG, embeddingDim: 8, hiddenDim: 8, bigramBuckets: 31 }, Vocabulary.build(rows.texts.map(syllables)), rows.labelNames, 5);
  assert.ok(model.parameters.has('bigram-embedding'));
  const file = path.join(dir, 'nsmc.hanlab');
  saveModel(model, file, 5);
  const { model: loaded } = loadModel(file);
  assert.deepEqual(predictProbabilities(loaded as TextClassifier, rows.texts), predictProbabilities(model, rows.texts));
  model.dispose();
  loaded.dispose();
  rmSync(dir, { recursive: true });
});

test('container: arrays survive unaligned headers; truncated or foreign files are clear InputErrors', () => {
  const dir = tempDir();
  const file = path.join(dir, 'c.hanlab');
  const a = Float32Array.from([1.5, -2, 3e-8]);
  const b = Float32Array.from([7]);
  writeContainer(file, { note: '한' }, { a, b });
  const { header, arrays } = readContainer(file);
  assert.equal(header.note, '한');
  assert.deepEqual(arrays.get('a'), a);
  assert.deepEqual(arrays.get('b'), b);
  const bytes = readFileSync(file);
  // The last 32 bytes are the checksum, the 4 before them array "b".
  writeFileSync(file, bytes.subarray(0, bytes.length - 34));
  assert.throws(() => readContainer(file), (e: unknown) => e instanceof InputError && /truncated inside array "b"/.test(e.message) && e.message.includes(file));
  writeFileSync(file, bytes.subarray(0, bytes.length - 2));
  assert.throws(() => readContainer(file), (e: unknown) => e instanceof CorruptFileError && /truncated inside its checksum/.test(e.message));
  writeFileSync(file, 'hello');
  assert.throws(() => readContainer(file), /not a hanlab model/);
  assert.throws(() => loadModel(path.join(dir, 'missing.hanlab')), InputError);
  rmSync(dir, { recursive: true });
});
