/**
 * `hanlab train --config config.ini`: trains a syllable tagger (KLUE NER) or a sentence classifier
 * (NSMC etc.) with the study-004 config keys, checkpointing as it goes, and saves the best model.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { backendOption, parseOptions } from '../options.js';
import { describeBackend, initBackend } from '../../lib/backend/index.js';
import { readTrainingConfig, type TrainingConfig } from '../../lib/data/config-ini.js';
import { KLUE_PARTITION_FILE } from '../../lib/data/klue-partition.js';
import { readKlueSplits } from '../../lib/data/klue-splits.js';
import { loadTrainValidation } from '../../lib/data/train-validation.js';
import { UsageError } from '../../lib/errors.js';
import { classificationReport, formatClassificationReport } from '../../lib/metrics/seqeval.js';
import { klueScores } from '../../lib/metrics/klue.js';
import {
  MODEL_KINDS,
  modelConfigFor,
  predictTagStringsAsync,
  saveModelAsync,
  trainClassifier,
  trainTagger,
  type ModelKind,
  type ProgressMode,
  type TrainHistory,
  type TrainOptions,
} from '../../lib/train/index.js';
import { checkOutputDirectory } from '../../lib/train/output-directory.js';
import { formatDuration } from '../../lib/train/progress.js';
import { encoderFolderFor, encoderHint, trainEncoderFromConfig } from './train-encoder.js';
import { isGliner2Folder, trainGliner2FromConfig } from './train-gliner2.js';

const HELP = `Usage: hanlab train --config config.ini [options]

Trains a model from a study-004 config.ini ([Path] model_name, train_file, valid_file, output_dir,
checkpoint_dir; [Hyperparameters] num_labels, max_seq_length, batch_size, learning_rate, epochs, seed,
split_ratio). batch_size is the effective batch: when memory runs out the micro-batch is halved and
gradients are accumulated. Writes <output_dir>/model.hanlab, history.json and metrics.json.

A GLiNER2 folder as model_name (study 000) fine-tunes its entity extraction with LoRA on a KBMC
train_file ([LoRA] r = 16, alpha = 32, dropout = 0.1, target_modules = encoder,span_rep,classifier):
<output_dir>/adapter (PEFT), <output_dir>/merged (GLiNER2 layout, for hanlab predict --task entities);
valid_file and split_ratio are not used there (study 000 scores a separate test set).

The model kind decides the task. model_name (or --model) is a local Hugging Face model folder (BERT,
RoBERTa, ELECTRA, DeBERTa-v2/v3: config.json, model.safetensors, tokenizer.json or vocab.txt) to
fine-tune, fully or with LoRA when the config has a [LoRA] section (r, alpha, dropout, target_modules);
the task follows the data (KLUE NER TSV: syllable NER, else a table: text classification), or --task.
Encoders write <output_dir>/merged/ (HF layout) and, with LoRA, <output_dir>/adapter/ (PEFT layout).
Or one of the models trained from scratch:
  conv-crf, bilstm-crf, conv-softmax, bilstm-softmax   syllable taggers; train_file is KLUE NER TSV,
                                                       num_labels = number of tag values (13 for KLUE)
  conv-classifier (alias syllable-conv),
  bilstm-classifier (alias syllable-bilstm)            sentence classifiers; train_file is a table
                                                       (csv/tsv/json/jsonl/parquet, text + label)
  A "hanlab/" prefix is allowed (hanlab/conv-crf).

Options:
  --config FILE          the config.ini (required)
  --model KIND           model kind, overriding model_name
  --klue-partition       taggers: train/validation/test by the fixed KLUE partition and report
                         the test figures (seqeval, KLUE) at the end
  --partition-file FILE  the partition (default ${KLUE_PARTITION_FILE})
  --resume               continue from <checkpoint_dir>/checkpoint.hanlab if it exists
  --checkpoint-every N   also checkpoint every N updates (default: at epoch ends)
  --epochs N             override epochs
  --max-steps N          stop after N updates (smoke runs)
  --micro-batch N        first micro-batch size to try (default: half of batch_size)
  --patience N           early stopping patience in epochs (default 3; 0 = off)
  --workers N|auto       extra worker threads computing gradients (default auto: 1 on a CPU
                         backend with two or more cores; 0 = one core). The result is the same.
  --bigrams N            add hashed syllable-bigram embeddings with N buckets (default 0 = off)
  --progress MODE        bar | lines | none (default: bar in a terminal, lines otherwise)
  --backend NAME         compute on NAME: webgpu, tensorflow-gpu, tensorflow, wasm or cpu (as
                         HANLAB_BACKEND, and over it). On webgpu one process drives the GPU:
                         --workers does not apply
  --task TASK            encoders: sequence or token classification (default: from the data)
  -h, --help             this help

Backend: --backend or HANLAB_BACKEND=webgpu|tensorflow-gpu|tensorflow|wasm|cpu (default: the fastest available).`;

const ALIASES: Record<string, ModelKind> = { 'syllable-conv': 'conv-classifier', 'syllable-bilstm': 'bilstm-classifier' };

/** Model kind from `--model` or `model_name`. */
export function resolveModelKind(name: string): ModelKind | undefined {
  const bare = name.trim().replace(/^hanlab\//, '');
  if ((MODEL_KINDS as readonly string[]).includes(bare)) return bare as ModelKind;
  return Object.hasOwn(ALIASES, bare) ? ALIASES[bare] : undefined;
}

function positiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${option} must be a non-negative integer, got '${value}'`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const values = parseOptions(argv, HELP, {
    config: { type: 'string' },
    model: { type: 'string' },
    'klue-partition': { type: 'boolean', default: false },
    'partition-file': { type: 'string' },
    resume: { type: 'boolean', default: false },
    'checkpoint-every': { type: 'string' },
    epochs: { type: 'string' },
    'max-steps': { type: 'string' },
    'micro-batch': { type: 'string' },
    patience: { type: 'string' },
    workers: { type: 'string' },
    bigrams: { type: 'string' },
    progress: { type: 'string' },
    task: { type: 'string' },
    backend: { type: 'string' },
  });
  if (!values) return 0;
  if (!values.config) throw new UsageError('--config is required (see hanlab train --help)');
  const config = readTrainingConfig(values.config);
  const kindName = values.model ?? config.modelName;
  const kind = resolveModelKind(kindName);
  const encoderDir = kind ? null : encoderFolderFor(config, values.model);
  if (!kind && !encoderDir) {
    throw new UsageError(
      `model "${kindName}" (${values.model ? '--model' : `model_name in ${config.file}`}) is not a model hanlab can train; ` +
        `use one of ${MODEL_KINDS.join(', ')}${encoderHint(config, values.model)}`,
    );
  }
  if (kind && config.lora) throw new UsageError(`[LoRA] in ${config.file} applies to pretrained encoders (a model folder in model_name), not to ${kind}`);
  const task = values.task === undefined ? undefined : ({ sequence: 'sequence-classification', token: 'token-classification' } as const)[values.task as 'sequence' | 'token'];
  if (values.task !== undefined && !task) throw new UsageError(`--task must be sequence or token, got '${values.task}'`);
  const progress = (values.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'bar', 'lines', 'none'].includes(progress)) throw new UsageError(`--progress must be bar, lines or none, got '${progress}'`);
  // Where the run will write, checked before any work: a file in the way is one clear line, not a
  // stack trace after an epoch of training.
  checkOutputDirectory(config.outputDir, 'output_dir', { file: config.file, field: '[Path] output_dir' });
  if (config.checkpointDir) checkOutputDirectory(config.checkpointDir, 'checkpoint_dir', { file: config.file, field: '[Path] checkpoint_dir' });
  backendOption(values.backend);
  const device = await initBackend();
  const products = device.wasm?.gemm.reason ? ` — matrix products on XNNPACK: ${device.wasm.gemm.reason}` : '';
  console.log(`backend: ${describeBackend(device)}, tfjs ${device.tfjsVersion}${device.fallbackReason ? ` — ${device.fallbackReason}` : ''}${products}`);
  if (kind && config.learningRate < 1e-4) {
    console.log(`note: learning_rate ${config.learningRate} suits fine-tuning a pre-trained model; models trained from scratch here usually want 1e-3 to 3e-3`);
  }
  const training: TrainOptions = {
    epochs: positiveInt(values.epochs, '--epochs') ?? config.epochs,
    batchSize: config.batchSize,
    microBatchSize: positiveInt(values['micro-batch'], '--micro-batch'),
    learningRate: config.learningRate,
    seed: config.seed,
    maxLength: config.maxSeqLength,
    checkpointDir: config.checkpointDir,
    resume: values.resume,
    checkpointEverySteps: positiveInt(values['checkpoint-every'], '--checkpoint-every'),
    maxSteps: positiveInt(values['max-steps'], '--max-steps'),
    patience: positiveInt(values.patience, '--patience'),
    workers: values.workers === 'auto' ? 'auto' : positiveInt(values.workers, '--workers'),
    progress,
    // Notices (a clamped batch size, micro-batch changes, resume, early stop) whatever the progress mode.
    log: (line) => console.log(line),
  };
  if (encoderDir && isGliner2Folder(encoderDir)) {
    await trainGliner2FromConfig(config, encoderDir, { epochs: training.epochs, log: (line) => console.log(line) });
    return 0;
  }
  if (!kind) {
    const partitionFile = values['klue-partition'] ? (values['partition-file'] ?? KLUE_PARTITION_FILE) : undefined;
    await trainEncoderFromConfig(config, encoderDir as string, training, { task, partitionFile });
    return 0;
  }
  const bigramBuckets = positiveInt(values.bigrams, '--bigrams') ?? 0;
  const modelConfig = modelConfigFor(kind);
  if (modelConfig.kind === 'tagger') {
    await trainTaggerFromConfig(config, kind, training, values['klue-partition'] ? (values['partition-file'] ?? KLUE_PARTITION_FILE) : undefined, bigramBuckets);
  } else {
    if (values['klue-partition']) throw new UsageError('--klue-partition applies to taggers only');
    await trainClassifierFromConfig(config, kind, training, bigramBuckets);
  }
  return 0;
}

async function trainTaggerFromConfig(
  config: TrainingConfig,
  kind: ModelKind,
  training: TrainOptions,
  partitionOption: string | undefined,
  bigramBuckets: number,
): Promise<void> {
  const { train, validation, test, tags } = readKlueSplits(config, partitionOption, 'taggers');
  console.log(`${kind}: ${train.length} training / ${validation.length} validation sentences${test ? ` / ${test.length} test` : ''}`);
  const modelConfig = modelConfigFor(kind);
  const { kind: _kind, ...architecture } = modelConfig;
  // Taggers predict every syllable: max_seq_length only bounds training sentences.
  const result = await trainTagger({ train, validation, tags, model: { ...architecture, bigramBuckets }, training, source: config.trainFile });
  const metrics: Record<string, unknown> = { kind, validation: result.validation, seconds: result.seconds };
  if (test) {
    const predicted = await predictTagStringsAsync(result.model, test.map((s) => s.tokens));
    const gold = test.map((s) => s.tags);
    const report = classificationReport(gold, predicted);
    const klue = klueScores(gold, predicted);
    metrics.test = { seqeval: report, klue };
    console.log(formatClassificationReport(report, 4));
    console.log(`test micro F1 ${report.micro['f1-score'].toFixed(4)} · KLUE entity macro F1 ${klue.entity_macro_f1.toFixed(2)} · KLUE char macro F1 ${klue.char_macro_f1.toFixed(2)}`);
  }
  await finish(config, result.model, result.history, metrics, training.seed, result.seconds);
}

async function trainClassifierFromConfig(config: TrainingConfig, kind: ModelKind, training: TrainOptions, bigramBuckets: number): Promise<void> {
  const data = await loadTrainValidation(config.trainFile, {
    validFile: config.validFile,
    splitRatio: config.splitRatio,
    seed: config.seed,
    numLabels: config.numLabels,
  });
  console.log(`${kind}: ${data.train.texts.length} training / ${data.validation.texts.length} validation texts, labels ${data.labelNames.join(', ')}`);
  const { kind: _kind, ...architecture } = modelConfigFor(kind);
  const result = await trainClassifier({ train: data.train, validation: data.validation, model: { ...architecture, bigramBuckets }, training });
  await finish(config, result.model, result.history, { kind, validation: result.validation, seconds: result.seconds }, training.seed, result.seconds);
}

async function finish(
  config: TrainingConfig,
  model: Parameters<typeof saveModelAsync>[0],
  history: TrainHistory,
  metrics: Record<string, unknown>,
  seed: number,
  seconds: number,
): Promise<void> {
  const modelFile = path.join(config.outputDir, 'model.hanlab');
  await saveModelAsync(model, modelFile, seed, { metrics });
  writeFileSync(path.join(config.outputDir, 'history.json'), JSON.stringify(history, null, 1) + '\n');
  writeFileSync(path.join(config.outputDir, 'metrics.json'), JSON.stringify(metrics, null, 1) + '\n');
  if (history.overfitting) console.log(history.overfitting.message);
  const best = history.bestEpoch !== null ? `best epoch ${history.bestEpoch} (validation ${history.bestScore?.toFixed(4)})` : 'no validation';
  console.log(`saved ${modelFile} · ${best} · ${history.totalSteps} updates · ${formatDuration(seconds)}`);
  model.dispose();
}
