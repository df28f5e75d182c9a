/**
 * Child process for resume.test.ts: trains a tiny tagger with a checkpoint after every update and
 * prints one JSON line per update. `node --import tsx tests/train/resume-child.ts <checkpointDir> <pauseMs>`
 */
import { SequenceTagger, DEFAULT_TAGGER_CONFIG } from '../../lib/train/models/tagger.js';
import { encodeTaggedSentences } from '../../lib/train/examples.js';
import { collectTags } from '../../lib/data/klue-ner.js';
import { trainModel } from '../../lib/train/trainer.js';
import { Vocabulary } from '../../lib/train/vocabulary.js';
import { klueSentences, setupBackend } from './helpers.js';

async function main(): Promise<void> {
  const [checkpointDir, pause] = process.argv.slice(2);
  const pauseMs = Number(pause ?? 0);
  await setupBackend();
  const sentences = klueSentences(48);
  const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
  const tags = collectTags(sentences);
  const model = new SequenceTagger({ ...DEFAULT_TAGGER_CONFIG, embeddingDim: 16, hiddenDim: 16, dilations: [1, 2], dropout: 0.2 }, vocabulary, tags, 5);
  const examples = encodeTaggedSentences(sentences, vocabulary, tags);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let step = 0;
  const result = await trainModel(model, examples, null, {
    epochs: 2,
    batchSize: 8,
    learningRate: 5e-3,
    seed: 13,
    checkpointDir,
    checkpointEverySteps: 1,
    resume: true,
    progress: {
      update(update) {
        step++;
        process.stdout.write(JSON.stringify({ step, loss: update.loss }) + '\n');
        if (pauseMs > 0) Atomics.wait(sleeper, 0, 0, pauseMs);
      },
      epochEnd() {},
      message() {},
    },
  });
  process.stdout.write(
    JSON.stringify({
      losses: result.history.steps.map((s) => s.loss),
      epochLosses: result.history.epochs.map((e) => e.trainLoss),
      events: result.history.events.map((e) => e.kind),
    }) + '\n',
  );
  model.dispose();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
