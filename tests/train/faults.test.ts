/**
 * Issue 14's training faults, each reproduced: a diverging learning rate, a batch larger than the
 * data, allocation failures of the wasm backend, unwritable output paths, damaged checkpoints, stale
 * temporaries, run time over resumed processes, and the CLI's own error handling.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run as train } from '../../cli/commands/train.js';
import { formatKlueSentence } from '../../cli/commands/predict.js';
import { InputError } from '../../lib/errors.js';
import { SequenceTagger, DEFAULT_TAGGER_CONFIG, type TaggerConfig } from '../../lib/train/models/tagger.js';
import { encodeTaggedSentences } from '../../lib/train/examples.js';
import { collectTags } from '../../lib/data/klue-ner.js';
import { CorruptFileError, readContainer } from '../../lib/train/model-file.js';
import { loadModel, saveModel } from '../../lib/train/saved-model.js';
import {
  CHECKPOINT_FILE,
  MAX_MICRO_BATCH_POSITIONS,
  OutOfMemoryError,
  TrainingDivergedError,
  isAllocationFailure,
  trainModel,
  type TrainOptions,
} from '../../lib/train/trainer.js';
import { Vocabulary } from '../../lib/train/vocabulary.js';
import { klueSentences, setupBackend } from './helpers.js';

before(setupBackend);

/** WebAssembly.RuntimeError (the project's TypeScript libs do not declare WebAssembly). */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError;

const TINY: TaggerConfig = { ...DEFAULT_TAGGER_CONFIG, embeddingDim: 8, hiddenDim: 8, dilations: [1, 2], dropout: 0.1 };
const sentences = klueSentences(40);
const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
const tags = collectTags(sentences);
const examples = encodeTaggedSentences(sentences, vocabulary, tags, { checkIob2: true });
const base: TrainOptions = { epochs: 1, batchSize: 8, learningRate: 5e-3, seed: 7, progress: 'none', warmupRatio: 0, workers: 0 };

function tagger(): SequenceTagger {
  return new SequenceTagger(TINY, vocabulary, tags, 11);
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'hanlab-faults-'));
}

/** A KLUE NER file of `count` sentences and a config.ini for it in `dir`; returns the config path. */
function cliConfig(dir: string, hyper: Record<string, string | number>, paths: Record<string, string> = {}, count = 24): string {
  const chosen = klueSentences(count);
  writeFileSync(path.join(dir, 'ner.tsv'), chosen.map((s) => formatKlueSentence(s.id, s.tokens, s.tags)).join('\n'));
  const values = {
    num_labels: new Set(chosen.flatMap((s) => s.tags)).size,
    max_seq_length: 64,
    batch_size: 8,
    learning_rate: 2e-3,
    epochs: 1,
    seed: 42,
    split_ratio: 0.25,
    ...hyper,
  };
  const where = { output_dir: './out', checkpoint_dir: './ckpt', ...paths };
  const file = path.join(dir, 'config.ini');
  writeFileSync(
    file,
    `[Path]\nmodel_name = conv-crf\ntrain_file = ner.tsv\nvalid_file =\noutput_dir = ${where.output_dir}\ncheckpoint_dir = ${where.checkpoint_dir}\n\n` +
      `[Hyperparameters]\n${Object.entries(values).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`,
  );
  return file;
}

/** `hanlab <args>` in its own process (as a user runs it). */
function hanlab(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}

test('a learning rate that makes the loss NaN or ∞ stops at that update with one line, exit 2, and names a smaller rate', () => {
  for (const rate of ['1e6', '1e30']) {
    const dir = tempDir();
    try {
      const result = hanlab(['train', '--config', cliConfig(dir, { learning_rate: rate }), '--progress', 'none']);
      assert.equal(result.code, 2, result.stderr);
      const shown = String(Number(rate)).replace('+', '\\+');
      assertOneLine(result.stderr, new RegExp(`^hanlab train: training diverged at update \\d+ \\(epoch \\d+\\): .*The learning rate ${shown} is probably too large: try a smaller one \\(e\\.g\\. 0\\.002\\)`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('divergence keeps the last good checkpoint: it stays loadable and at its update', async () => {
  const dir = tempDir();
  try {
    const options: TrainOptions = { ...base, epochs: 3, checkpointDir: dir, resume: true };
    await trainModel(tagger(), examples, null, { ...options, maxSteps: 5 });
    const file = path.join(dir, CHECKPOINT_FILE);
    const step = (readContainer(file).header.trainer as { step: number }).step;
    assert.equal(step, 5);
    const error = await trainModel(tagger(), examples, null, { ...options, learningRate: 1e30 }).catch((e: unknown) => e);
    assert.ok(error instanceof TrainingDivergedError, String(error));
    assert.match(error.message, new RegExp(`last good checkpoint \\(${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, update 5\\) is kept`));
    assert.equal((readContainer(file).header.trainer as { step: number }).step, 5, 'the checkpoint was not overwritten');
    assert.ok(readContainer(file).arrays.get('weights')!.every(Number.isFinite));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch size larger than the data is clamped to it with a notice (5000 and 1e9 on 40 examples)', async () => {
  for (const batchSize of [5000, 1e9]) {
    const logged: string[] = [];
    const model = tagger();
    const result = await trainModel(model, examples, null, { ...base, batchSize, log: (line) => logged.push(line) });
    assert.equal(result.history.steps.length, 1, 'one update per epoch');
    assert.equal(result.history.steps[0].realTokens, examples.reduce((sum, e) => sum + e.ids.length, 0));
    assert.deepEqual(logged, [`batch size ${batchSize} is larger than the ${examples.length} training examples: using ${examples.length} (one update per epoch)`]);
    assert.deepEqual(result.history.events.map((e) => e.kind), ['batch-size']);
    model.dispose();
  }
  const dir = tempDir();
  try {
    const result = hanlab(['train', '--config', cliConfig(dir, { batch_size: 5000 }), '--progress', 'none']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /batch size 5000 is larger than the 18 training examples: using 18/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a huge batch is cut into micro-batches of bounded size before anything is allocated', async () => {
  const wider = klueSentences(400);
  const words = Vocabulary.build(wider.map((s) => s.tokens));
  const long = encodeTaggedSentences(wider.filter((s) => s.tokens.length >= 60), words, tags);
  const longest = Math.max(...long.map((e) => e.ids.length));
  const perPart = Math.floor(MAX_MICRO_BATCH_POSITIONS / longest);
  assert.ok(long.length > perPart, `${long.length} long sentences exceed one part of ${perPart}`);
  const model = new SequenceTagger(TINY, words, tags, 3);
  const result = await trainModel(model, long, null, { ...base, batchSize: long.length, maxSteps: 1 });
  assert.ok(result.history.steps[0].microBatchSize <= perPart, `micro-batch ${result.history.steps[0].microBatchSize} ≤ ${perPart}`);
  model.dispose();
});

test('a wasm "memory access out of bounds" halves the micro-batch like an out-of-memory error; an aborted backend stops clearly', async () => {
  assert.equal(isAllocationFailure(new WasmRuntimeError('memory access out of bounds')), true);
  const model = tagger();
  const lossSum = model.lossSum.bind(model);
  // What the wasm backend throws when a micro-batch of more than 2 sentences cannot be allocated.
  model.lossSum = (batch, context) => {
    if (batch.size > 2) throw new WasmRuntimeError('memory access out of bounds');
    return lossSum(batch, context);
  };
  const result = await trainModel(model, examples, null, { ...base, maxSteps: 2 });
  const changes = result.history.events.filter((e) => e.kind === 'micro-batch');
  assert.ok(changes.length >= 1);
  assert.match(changes[0].message, /allocation failed at micro-batch 4 \(memory access out of bounds\)/);
  assert.equal(result.history.steps.length, 2);
  model.lossSum = () => {
    throw new WasmRuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
  };
  const error = await trainModel(model, examples, null, { ...base, maxSteps: 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof OutOfMemoryError, String(error));
  assert.match(error.message, /WebAssembly memory \(at most 4 GB\) ran out .*rerun with a smaller batch_size or max_seq_length/);
  model.dispose();
});

test('an output_dir that is a file, or a checkpoint_dir under a file, is refused before any training', async () => {
  const dir = tempDir();
  try {
    writeFileSync(path.join(dir, 'taken'), 'a file');
    const asOutput = await train(['--config', cliConfig(dir, {}, { output_dir: './taken' }), '--progress', 'none']).catch((e: unknown) => e);
    assert.ok(asOutput instanceof InputError);
    assert.match(asOutput.message, /config\.ini, field "\[Path\] output_dir": output_dir .*taken is a file, not a directory$/);
    const underFile = await train(['--config', cliConfig(dir, {}, { checkpoint_dir: './taken/ckpt' }), '--progress', 'none']).catch((e: unknown) => e);
    assert.ok(underFile instanceof InputError);
    assert.match(underFile.message, /field "\[Path\] checkpoint_dir": checkpoint_dir .*taken\/ckpt cannot be created: .*taken is a file, not a directory$/);
    assert.equal(existsSync(path.join(dir, 'out', 'model.hanlab')), false, 'nothing was trained');
    const result = hanlab(['train', '--config', cliConfig(dir, {}, { output_dir: './taken' }), '--progress', 'none']);
    assert.equal(result.code, 2);
    assertOneLine(result.stderr, /^hanlab train: .*output_dir .*taken is a file, not a directory$/);
    assert.doesNotMatch(result.stdout, /backend:/, 'refused before the backend even started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an error no command handles is one line from the CLI, not tfjs-backend-wasm\'s rethrow (exit 7) with its stack', () => {
  const dir = tempDir();
  try {
    const config = cliConfig(dir, {});
    // A stray exception while `train` runs on the wasm backend, whose module has installed its handlers
    // (far more epochs than 1.5 s can run, and no early stop: the exception must come while training).
    const script = path.join(dir, 'stray.mts');
    writeFileSync(
      script,
      [
        `import { main } from ${JSON.stringify(path.resolve('cli/hanlab.ts'))};`,
        "setTimeout(() => { throw new TypeError('stray failure'); }, 1500);",
        `process.exitCode = await main(['train', '--config', ${JSON.stringify(config)}, '--progress', 'none', '--epochs', '100000', '--patience', '0', '--workers', '0']);`,
      ].join('\n'),
    );
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, HANLAB_BACKEND: 'wasm' } });
    assert.equal(result.status, 1, result.stderr);
    assertOneLine(result.stderr, /^hanlab train: internal error: TypeError: stray failure \(HANLAB_DEBUG=1 shows the stack trace\)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Flips `count` bytes spread over the file's weights. */
function flipBytes(file: string, count: number): void {
  const bytes = readFileSync(file);
  for (let i = 0; i < count; i++) {
    const at = bytes.length - 40 - ((i * 7919) % Math.floor(bytes.length / 2));
    bytes[at] ^= 0xa5;
  }
  writeFileSync(file, bytes);
}

test('a damaged checkpoint is detected by its checksum; the run resumes from the previous one, or stops clearly', async () => {
  const dir = tempDir();
  try {
    const options: TrainOptions = { ...base, epochs: 2, checkpointDir: dir, checkpointEverySteps: 1, resume: true };
    await trainModel(tagger(), examples, null, { ...options, maxSteps: 3 });
    const file = path.join(dir, CHECKPOINT_FILE);
    const previous = `${file}.prev`;
    assert.equal((readContainer(previous).header.trainer as { step: number }).step, 2);
    flipBytes(file, 200);
    assert.throws(() => readContainer(file), (e: unknown) => e instanceof CorruptFileError && /checksum mismatch/.test(e.message));
    const logged: string[] = [];
    const resumed = await trainModel(tagger(), examples, null, { ...options, maxSteps: 4, log: (line) => logged.push(line) });
    assert.match(logged[0], /checksum mismatch.*: resuming from the previous checkpoint .*checkpoint\.hanlab\.prev instead/);
    assert.match(logged[1], /resumed from .*checkpoint\.hanlab\.prev at update 2/);
    assert.deepEqual(resumed.history.events.map((e) => e.kind).slice(-2), ['checkpoint-fallback', 'resume']);
    assert.equal(resumed.history.totalSteps, 4);
    // Both damaged: a clear stop, nothing trained from bad weights.
    flipBytes(file, 200);
    flipBytes(previous, 200);
    const error = await trainModel(tagger(), examples, null, options).catch((e: unknown) => e);
    assert.ok(error instanceof InputError, String(error));
    assert.match(error.message, /checksum mismatch.*; no usable earlier checkpoint is left: delete .* to start afresh/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged saved model is refused by its checksum', () => {
  const dir = tempDir();
  try {
    const model = tagger();
    const file = path.join(dir, 'model.hanlab');
    saveModel(model, file, 11);
    flipBytes(file, 200);
    assert.throws(() => loadModel(file), (e: unknown) => e instanceof CorruptFileError && /checksum mismatch/.test(e.message) && e.message.includes(file));
    model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('temporaries of killed checkpoint writers are removed at start; a live writer\'s stays', async () => {
  const dir = tempDir();
  try {
    mkdirSync(dir, { recursive: true });
    const stale = `${CHECKPOINT_FILE}.tmp-999999999-1700000000000`;
    const live = `${CHECKPOINT_FILE}.tmp-${process.ppid}-1700000000000`;
    writeFileSync(path.join(dir, stale), 'torn');
    writeFileSync(path.join(dir, live), 'being written');
    const logged: string[] = [];
    await trainModel(tagger(), examples, null, { ...base, checkpointDir: dir, maxSteps: 1, log: (line) => logged.push(line) });
    const names = readdirSync(dir);
    assert.ok(!names.includes(stale));
    assert.ok(names.includes(live));
    assert.deepEqual(logged, [`removed ${stale}, a checkpoint half-written by a process that was killed`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a resume, metrics.json seconds covers every process of the run', async () => {
  const dir = tempDir();
  try {
    const config = cliConfig(dir, { epochs: 2 });
    const quiet = console.log;
    console.log = () => {};
    let second: number;
    try {
      // The first process trains one epoch of two (3 of 6 updates), the resumed one the rest.
      await train(['--config', config, '--progress', 'none', '--max-steps', '3', '--workers', '0']);
      const first = JSON.parse(readFileSync(path.join(dir, 'out', 'history.json'), 'utf8')) as { seconds: number };
      const started = Date.now();
      await train(['--config', config, '--progress', 'none', '--resume', '--workers', '0']);
      second = (Date.now() - started) / 1000;
      const metrics = JSON.parse(readFileSync(path.join(dir, 'out', 'metrics.json'), 'utf8')) as { seconds: number };
      const history = JSON.parse(readFileSync(path.join(dir, 'out', 'history.json'), 'utf8')) as { seconds: number; events: { kind: string }[] };
      assert.ok(history.events.some((e) => e.kind === 'resume'));
      assert.ok(first.seconds > 0);
      // Counting only the last process (the old behaviour) would give about `second`.
      assert.ok(metrics.seconds >= first.seconds + 0.5 * second, `metrics ${metrics.seconds} s ≥ first run ${first.seconds} s + most of the second's ${second} s`);
      assert.ok(metrics.seconds >= history.seconds, 'at least the training time of both processes');
      assert.ok(history.seconds > first.seconds, 'the history adds the second process too');
    } finally {
      console.log = quiet;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
