/**
 * Child process for trainer.test.ts: two updates of a tiny tagger with one gradient worker thread,
 * in a process started with flags a worker thread cannot take. Prints the updates' losses as JSON.
 */
import { SequenceTagger, DEFAULT_TAGGER_CONFIG } from '../../lib/train/models/tagger.js';
import { encodeTaggedSentences } from '../../lib/train/examples.js';
import { collectTags } from '../../lib/data/klue-ner.js';
import { trainModel } from '../../lib/train/trainer.js';
import { Vocabulary } from '../../lib/train/vocabulary.js';
import { klueSentences, setupBackend } from './helpers.js';

await setupBackend();
const sentences = klueSentences(24);
const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
const tags = collectTags(sentences);
const model = new SequenceTagger({ ...DEFAULT_TAGGER_CONFIG, embeddingDim: 8, hiddenDim: 8, dilations: [1, 2], dropout: 0.2 }, vocabulary, tags, 5);
const result = await trainModel(model, encodeTaggedSentences(sentences, vocabulary, tags), null, {
  epochs: 1,
  batchSize: 8,
  microBatchSize: 4,
  learningRate: 5e-3,
  seed: 13,
  progress: 'none',
  maxSteps: 2,
  workers: Number(process.argv[2] ?? 1),
});
console.log(JSON.stringify(result.history.steps.map((step) => step.loss)));
