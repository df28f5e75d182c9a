/**
 * `hanlab predict --model DIR --task entities --labels A,B,C --input FILE`: GLiNER2 entity extraction,
 * one JSON line per input text, `{"id"?, "text", "entities": [{"label", "start", "end", "text",
 * "score"}]}`, which `hanlab eval spans` reads as predictions. A text longer than the model takes is
 * extracted in GLiNER2's overlapping word windows (lib/models/gliner2-windows.ts).
 */
import { readEntityTexts, type EntityText } from '../../lib/data/entity-texts.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { extractEntities, type ExtractedEntity } from '../../lib/models/gliner2-entities.js';
import { WINDOW_OVERLAP, WINDOW_WORDS } from '../../lib/models/gliner2-windows.js';
import { Gliner2Model } from '../../lib/models/gliner2.js';

export interface EntityPredictionOptions {
  model: string;
  labels: string | undefined;
  threshold: string | undefined;
  windowWords?: string;
  windowOverlap?: string;
  input: string | undefined;
  text: string | undefined;
}

export async function predictEntities(options: EntityPredictionOptions): Promise<string> {
  if (options.labels === undefined) throw new UsageError('--task entities needs --labels, e.g. --labels Disease,Body,Treatment');
  const labels = options.labels.split(',').map((l) => l.trim());
  const threshold = options.threshold === undefined ? 0.5 : Number(options.threshold);
  if (!(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold must be a number in [0, 1], got '${options.threshold}'`);
  const windowWords = options.windowWords === undefined ? WINDOW_WORDS : Number(options.windowWords);
  if (!(Number.isSafeInteger(windowWords) && windowWords >= 1)) throw new UsageError(`--window-words must be a positive integer, got '${options.windowWords}'`);
  const windowOverlap = options.windowOverlap === undefined ? Math.min(WINDOW_OVERLAP, windowWords - 1) : Number(options.windowOverlap);
  if (!(Number.isSafeInteger(windowOverlap) && windowOverlap >= 0 && windowOverlap < windowWords)) {
    throw new UsageError(`--window-overlap must be an integer from 0 to ${windowWords - 1} (less than --window-words), got '${options.windowOverlap}'`);
  }
  const inputs: EntityText[] = options.text !== undefined ? [{ text: options.text, line: 1 }] : readEntityTexts(options.input as string);
  const model = await Gliner2Model.load(options.model, { lora: null, seed: 0 });
  try {
    let found: ExtractedEntity[][];
    try {
      found = await extractEntities(model, inputs.map((t) => t.text), labels, { threshold, windowWords, windowOverlap });
    } catch (error) {
      // A text the model cannot take even in windows: name the input file and its line.
      if (error instanceof InputError && error.line !== undefined && error.file === undefined && options.input) {
        throw new InputError(error.detail, { file: options.input, line: inputs[error.line - 1].line }, { cause: error });
      }
      throw error;
    }
    return inputs.map((t, i) => JSON.stringify({ ...(t.id !== undefined ? { id: t.id } : {}), text: t.text, entities: found[i] }) + '\n').join('');
  } finally {
    model.dispose();
  }
}
