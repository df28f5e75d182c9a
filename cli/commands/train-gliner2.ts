/**
 * `hanlab train --config gliner2.ini` when `[Path] model_name` is a GLiNER2 folder (study 000): LoRA
 * fine-tuning of its entity extraction on a KBMC file (`train_file`, the published `Sentence<TAB>Tags`
 * format), with the study's settings from the config (`[LoRA]` r / alpha / dropout / target_modules
 * encoder,span_rep,classifier; `[Hyperparameters]` epochs, batch_size, learning_rate, seed). Writes
 * `<output_dir>/adapter/` (PEFT), `<output_dir>/merged/` (GLiNER2 layout) and history.json.
 */
import path from 'node:path';
import type { TrainingConfig } from '../../lib/data/config-ini.js';
import { readKbmc } from '../../lib/data/kbmc.js';
import { UsageError } from '../../lib/errors.js';
import { fineTuneGliner2 } from '../../lib/train/gliner2-fine-tune.js';
export { isGliner2Folder } from '../../lib/models/gliner2.js';
import { formatDuration } from '../../lib/train/progress.js';

export async function trainGliner2FromConfig(config: TrainingConfig, modelDir: string, options: { epochs?: number; log: (line: string) => void }): Promise<void> {
  if (!config.lora) throw new UsageError(`${config.file}: GLiNER2 fine-tuning runs with LoRA, as study 000; add a [LoRA] section (r = 16, alpha = 32, dropout = 0.1, target_modules = encoder,span_rep,classifier)`);
  const data = await readKbmc(config.trainFile);
  const started = performance.now();
  const result = await fineTuneGliner2({
    modelDir,
    train: data.sentences.map((s) => ({ text: s.sentence, entities: s.spans })),
    labels: data.labels,
    lora: config.lora,
    epochs: options.epochs ?? config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    seed: config.seed,
    outputDir: config.outputDir,
    log: options.log,
  });
  result.model.dispose();
  options.log(
    `trained on ${data.sentences.length} KBMC sentences (labels ${data.labels.join(', ')}) in ${formatDuration((performance.now() - started) / 1000)}, ` +
      `${result.samplesPerSecond.toFixed(2)} samples/s; wrote ${path.join(config.outputDir, 'adapter')} and ${path.join(config.outputDir, 'merged')}`,
  );
}
