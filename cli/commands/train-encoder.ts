/**
 * `hanlab train --config config.ini` when `[Path] model_name` is a local Hugging Face model folder
 * (resolved beside the config file, like the other paths): fine-tunes the pretrained encoder, fully or
 * with LoRA when the config has a `[LoRA]` section, on a table of texts and labels (sequence
 * classification: NSMC, study 004's news sentiment) or on KLUE NER syllable tags (token
 * classification; detected from the file, or `--task`). Writes `<output_dir>/merged/` (HF layout),
 * `<output_dir>/adapter/` (PEFT layout, LoRA only), `history.json` and `metrics.json`.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { currentDevice } from '../../lib/backend/index.js';
import type { TrainingConfig } from '../../lib/data/config-ini.js';
import { readKlueSplits } from '../../lib/data/klue-splits.js';
import { loadTrainValidation } from '../../lib/data/train-validation.js';
import { UsageError } from '../../lib/errors.js';
import { klueScores } from '../../lib/metrics/klue.js';
import { classificationReport, formatClassificationReport } from '../../lib/metrics/seqeval.js';
import { downloadHint } from '../../lib/models/folder.js';
import { checkLoraSettings, type LoraSettings } from '../../lib/models/lora.js';
import type { TrainOptions } from '../../lib/train/index.js';
import type { EncoderTaskKind } from '../../lib/train/encoder-model.js';
import { fineTuneEncoder, predictEncoderTags, saveFineTunedEncoder, type FineTunedEncoder } from '../../lib/train/fine-tune.js';
import { formatDuration } from '../../lib/train/progress.js';

/** The model folder `model_name` (or `--model`) names, when it is one; else null. */
export function encoderFolderFor(config: TrainingConfig, override?: string): string | null {
  const name = override ?? config.modelName;
  const base = override !== undefined ? process.cwd() : path.dirname(path.resolve(config.file));
  const dir = path.resolve(base, name);
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : null;
}

/** For the error when model_name is neither a model kind nor a folder. */
export function encoderHint(config: TrainingConfig, override?: string): string {
  const name = override ?? config.modelName;
  const base = override !== undefined ? process.cwd() : path.dirname(path.resolve(config.file));
  return `; to fine-tune a pretrained encoder, model_name must be its local folder (none at ${path.resolve(base, name)}). ${downloadHint(name)}`;
}

/** KLUE NER TSV (`## id<TAB>annotated` headers, `syllable<TAB>tag` lines) rather than a table. */
export function isKlueNerFile(file: string): boolean {
  const head = readFileSync(file, 'utf8').slice(0, 4096).replace(/^\uFEFF/, '');
  return /^##/m.test(head) && /^\S?\t(O|[BI]-\S+)$/m.test(head);
}

export interface EncoderTrainOptions {
  task?: EncoderTaskKind;
  /** Taggers: train / validation / test by this KLUE partition file. */
  partitionFile?: string;
}

export async function trainEncoderFromConfig(config: TrainingConfig, modelDir: string, training: TrainOptions, options: EncoderTrainOptions): Promise<void> {
  const task: EncoderTaskKind = options.task ?? (isKlueNerFile(config.trainFile) ? 'token-classification' : 'sequence-classification');
  const lora: LoraSettings | null = config.lora ?? null;
  if (lora) checkLoraSettings(lora, { file: config.file });
  if (options.partitionFile !== undefined && task !== 'token-classification') throw new UsageError('--klue-partition applies to KLUE NER (token classification) only');
  console.log(`${config.modelName}: ${task}, ${lora ? `LoRA r ${lora.r} alpha ${lora.alpha} dropout ${lora.dropout} on ${lora.targetModules === 'all-linear' ? 'all-linear' : lora.targetModules.join(',')}` : 'full fine-tuning'}`);
  const base = { modelDir, modelName: config.modelName, lora, maxLength: config.maxSeqLength, training, source: config.trainFile };
  const metrics: Record<string, unknown> = { kind: 'encoder', model: config.modelName, modelDir, task, lora, device: currentDevice() ?? null };
  let result: FineTunedEncoder;
  if (task === 'sequence-classification') {
    const data = await loadTrainValidation(config.trainFile, { validFile: config.validFile, splitRatio: config.splitRatio, seed: config.seed, numLabels: config.numLabels });
    console.log(`${data.train.texts.length} training / ${data.validation.texts.length} validation texts, labels ${data.labelNames.join(', ')}`);
    result = await fineTuneEncoder({ ...base, task, train: data.train, validation: data.validation, labels: data.labelNames });
  } else {
    const { train, validation, test, tags } = readKlueSplits(config, options.partitionFile, 'NER');
    console.log(`${train.length} training / ${validation.length} validation sentences${test ? ` / ${test.length} test` : ''}`);
    result = await fineTuneEncoder({ ...base, task, train, validation, labels: tags });
    if (test) {
      const predicted = await predictEncoderTags(result.model, test.map((s) => s.tokens));
      const gold = test.map((s) => s.tags);
      const report = classificationReport(gold, predicted.tags);
      const klue = klueScores(gold, predicted.tags);
      metrics.test = { seqeval: report, klue };
      console.log(formatClassificationReport(report, 4));
      console.log(`test micro F1 ${report.micro['f1-score'].toFixed(4)} · KLUE entity macro F1 ${klue.entity_macro_f1.toFixed(2)} · KLUE char macro F1 ${klue.char_macro_f1.toFixed(2)}`);
    }
  }
  try {
    Object.assign(metrics, { trainableParameters: result.trainableParameters, notes: result.notes, validation: result.validation, seconds: result.seconds });
    mkdirSync(config.outputDir, { recursive: true });
    const saved = await saveFineTunedEncoder(result.model, config.outputDir, { maxLength: config.maxSeqLength });
    writeFileSync(path.join(config.outputDir, 'history.json'), JSON.stringify(result.history, null, 1) + '\n');
    writeFileSync(path.join(config.outputDir, 'metrics.json'), JSON.stringify(metrics, null, 1) + '\n');
    if (result.history.overfitting) console.log(result.history.overfitting.message);
    const best = result.history.bestEpoch !== null ? `best epoch ${result.history.bestEpoch} (validation ${result.history.bestScore?.toFixed(4)})` : 'no validation';
    console.log(`saved ${saved.mergedDir}${saved.adapterDir ? ` and ${saved.adapterDir}` : ''} · ${best} · ${result.history.totalSteps} updates · ${formatDuration(result.seconds)}`);
  } finally {
    result.model.dispose();
  }
}
