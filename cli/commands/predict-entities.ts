/**
 * `hanlab predict --model DIR --task entities --labels A,B,C --input FILE`: GLiNER2 entity extraction,
 * one JSON line per input text, `{"id"?, "text", "entities": [{"label", "start", "end", "text",
 * "score"}]}`, which `hanlab eval spans` reads as predictions.
 */
import { readEntityTexts, type EntityText } from '../../lib/data/entity-texts.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { extractEntities, type ExtractedEntity } from '../../lib/models/gliner2-entities.js';
import { Gliner2Model } from '../../lib/models/gliner2.js';

export interface EntityPredictionOptions {
  model: string;
  labels: string | undefined;
  threshold: string | undefined;
  input: string | undefined;
  text: string | undefined;
}

export async function predictEntities(options: EntityPredictionOptions): Promise<string> {
  if (options.labels === undefined) throw new UsageError('--task entities needs --labels, e.g. --labels Disease,Body,Treatment');
  const labels = options.labels.split(',').map((l) => l.trim());
  const threshold = options.threshold === undefined ? 0.5 : Number(options.threshold);
  if (!(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold must be a number in [0, 1], got '${options.threshold}'`);
  const inputs: EntityText[] = options.text !== undefined ? [{ text: options.text, line: 1 }] : readEntityTexts(options.input as string);
  const model = await Gliner2Model.load(options.model, { lora: null, seed: 0 });
  try {
    let found: ExtractedEntity[][];
    try {
      found = await extractEntities(model, inputs.map((t) => t.text), labels, { threshold });
    } catch (error) {
      // A text too long for the model: name the input file and its line.
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
