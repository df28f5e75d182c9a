/**
 * `hanlab predict --model model.hanlab --input FILE`: runs a saved tagger or classifier. Taggers write
 * KLUE NER TSV (so `hanlab eval ner` can score it); classifiers write one TSV row per text. When the
 * input carries gold tags or labels, the figures are printed too.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { backendOption, parseOptions } from '../options.js';
import { initBackend } from '../../lib/backend/index.js';
import { parseKlueNer } from '../../lib/data/klue-ner.js';
import { readTextFile } from '../../lib/data/encoding.js';
import { loadTextClassification, TEXT_COLUMN_CANDIDATES } from '../../lib/data/text-classification.js';
import { readTable } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { klueScores } from '../../lib/metrics/klue.js';
import { f1Score } from '../../lib/metrics/seqeval.js';
import { classificationFigures, loadModel, predictProbabilitiesAsync, predictTagStringsAsync, syllables } from '../../lib/train/index.js';
import { encoderPredictor, type Predictor } from '../../lib/train/fine-tune.js';
import { SeededRandom } from '../../lib/tensor/rng.js';
import { predictEntities } from './predict-entities.js';

const HELP = `Usage: hanlab predict --model FILE (--input FILE | --text TEXT) [options]

Runs a model saved by \`hanlab train\` (FILE = <output_dir>/model.hanlab), or a fine-tuned encoder
folder (<output_dir>/merged or <output_dir>/adapter, or any HF / PEFT folder with a classification head).

Taggers: --input is KLUE NER TSV (gold tags are scored: seqeval micro F1 and KLUE figures) or plain
text, one sentence per line. Output: KLUE NER TSV with the predicted tags.
Classifiers: --input is a table (csv/tsv/json/jsonl/parquet) with a text column (and optionally a
label column, then accuracy and macro F1 are printed; rows with an empty text or label are listed
on stderr and left out). Output: TSV row, predicted label, one
probability column per label.

Entities (GLiNER2, study 000): --model is a GLiNER2 folder (e.g. fastino/gliner2-base-v1, or the
merged/ folder of its LoRA fine-tuning), --task entities --labels Disease,Body,Treatment; --input is
one text per line or JSON Lines with "text" (and "id"). Output: JSON Lines {"text", "entities":
[{"label", "start", "end", "text", "score"}]} with character offsets, read by \`hanlab eval spans\`.
A text longer than the model takes (512 tokens with the prompt) is extracted in windows of 384 words
sharing 64, merged as GLiNER2's extract_long does (narrower windows where 384 words do not fit).

Options:
  --model FILE        the saved model (required)
  --task entities     GLiNER2 entity extraction (needs --labels)
  --labels A,B,C      entity labels, in the schema prompt's order
  --threshold P       minimum span score (default 0.5, GLiNER2's)
  --window-words N    entities: words per window of a long text (default 384, GLiNER2's chunk_size)
  --window-overlap N  entities: words shared by neighbouring windows (default 64, chunk_overlap)
  --input FILE        input file
  --text TEXT         one sentence instead of a file
  --output FILE       write predictions here (default: stdout)
  --sample N          classifiers: score a seeded sample of N rows instead of all
  --seed S            seed of the sample (default 42)
  --backend NAME      compute on NAME: webgpu, tensorflow-gpu, tensorflow, wasm or cpu (as
                      HANLAB_BACKEND, and over it)
  -h, --help          this help`;

export async function run(argv: string[]): Promise<number> {
  const values = parseOptions(argv, HELP, {
    model: { type: 'string' },
    input: { type: 'string' },
    text: { type: 'string' },
    output: { type: 'string' },
    sample: { type: 'string' },
    seed: { type: 'string' },
    task: { type: 'string' },
    labels: { type: 'string' },
    threshold: { type: 'string' },
    backend: { type: 'string' },
    'window-words': { type: 'string' },
    'window-overlap': { type: 'string' },
  });
  if (!values) return 0;
  if (!values.model) throw new UsageError('--model is required (see hanlab predict --help)');
  if ((values.input === undefined) === (values.text === undefined)) throw new UsageError('give exactly one of --input and --text');
  const sample = values.sample !== undefined ? Number(values.sample) : undefined;
  if (sample !== undefined && !(Number.isSafeInteger(sample) && sample >= 1)) throw new UsageError(`--sample must be a positive integer, got '${values.sample}'`);
  const seed = values.seed !== undefined ? Number(values.seed) : 42;
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got '${values.seed}'`);
  if (values.task !== undefined && values.task !== 'entities') throw new UsageError(`--task must be entities (other models know their task), got '${values.task}'`);
  if (values.task === undefined && [values.labels, values.threshold, values['window-words'], values['window-overlap']].some((v) => v !== undefined)) {
    throw new UsageError('--labels, --threshold and --window-words/--window-overlap go with --task entities');
  }
  backendOption(values.backend);
  await initBackend();
  const emit = (text: string) => (values.output ? writeFileSync(values.output, text) : process.stdout.write(text));
  if (values.task === 'entities') {
    if (sample !== undefined) throw new UsageError('--sample applies to classifiers only');
    emit(
      await predictEntities({
        model: values.model,
        labels: values.labels,
        threshold: values.threshold,
        windowWords: values['window-words'],
        windowOverlap: values['window-overlap'],
        input: values.input,
        text: values.text,
      }),
    );
    return 0;
  }
  // A folder is a fine-tuned encoder (<output_dir>/merged or /adapter, or any HF / PEFT folder).
  const { model, predictor } = isDirectory(values.model) ? await encoderPredictor(values.model) : syllablePredictor(values.model);
  try {
    if (predictor.kind === 'tagger') {
      if (sample !== undefined) throw new UsageError('--sample applies to classifiers only');
      emit(await predictTagger(predictor, values.input, values.text));
    } else {
      emit(await predictClassifier(predictor, values.input, values.text, sample, seed));
    }
  } finally {
    model.dispose();
  }
  return 0;
}

function isDirectory(file: string): boolean {
  return existsSync(file) && statSync(file).isDirectory();
}

function syllablePredictor(file: string): { model: { dispose(): void }; predictor: Predictor } {
  const { model } = loadModel(file);
  const predictor: Predictor =
    model.kind === 'tagger'
      ? { kind: 'tagger', tag: (sentences) => predictTagStringsAsync(model, sentences) }
      : { kind: 'classifier', labels: model.labels, probabilities: (texts) => predictProbabilitiesAsync(model, texts) };
  return { model, predictor };
}

async function predictTagger(tagger: Extract<Predictor, { kind: 'tagger' }>, input: string | undefined, text: string | undefined): Promise<string> {
  let ids: string[];
  let sentences: string[][];
  let gold: string[][] | null = null;
  if (text !== undefined) {
    ids = ['text'];
    sentences = [syllables(text)];
  } else {
    const content = readTextFile(input as string).text;
    if (/^##/m.test(content)) {
      const parsed = parseKlueNer(content, { file: input });
      ids = parsed.map((s) => s.id);
      sentences = parsed.map((s) => s.tokens);
      gold = parsed.map((s) => s.tags);
    } else {
      const lines = content.split(/\r?\n/);
      if (lines.at(-1) === '') lines.pop();
      lines.forEach((line, i) => {
        if (line.trim() === '') throw new InputError('empty line (one sentence per line expected)', { file: input, line: i + 1 });
      });
      ids = lines.map((_, i) => `line-${i + 1}`);
      sentences = lines.map(syllables);
    }
  }
  const predicted = await tagger.tag(sentences);
  if (gold) {
    const klue = klueScores(gold, predicted, { sentenceIds: ids });
    console.error(
      `${sentences.length} sentences · seqeval micro F1 ${f1Score(gold, predicted).toFixed(4)} · ` +
        `KLUE entity macro F1 ${klue.entity_macro_f1.toFixed(2)} · KLUE char macro F1 ${klue.char_macro_f1.toFixed(2)}`,
    );
  }
  return sentences.map((tokens, i) => formatKlueSentence(ids[i], tokens, predicted[i])).join('\n');
}

/** One sentence in KLUE NER TSV: `## id<TAB><annotated>`, one `syllable<TAB>tag` line each, a blank line. */
export function formatKlueSentence(id: string, tokens: readonly string[], tags: readonly string[]): string {
  let annotated = '';
  let open: string | null = null;
  tokens.forEach((token, i) => {
    const tag = tags[i];
    const continues = open !== null && tag === `I-${open}`;
    if (open !== null && !continues) {
      annotated += `:${open}>`;
      open = null;
    }
    if (tag.startsWith('B-') || (tag.startsWith('I-') && open === null)) {
      open = tag.slice(2);
      annotated += '<';
    }
    annotated += token;
  });
  if (open !== null) annotated += `:${open}>`;
  const lines = tokens.map((token, i) => `${token}\t${tags[i]}`);
  return `## ${id}\t${annotated}\n${lines.join('\n')}\n`;
}

async function predictClassifier(model: Extract<Predictor, { kind: 'classifier' }>, input: string | undefined, text: string | undefined, sample: number | undefined, seed: number): Promise<string> {
  let texts: string[];
  let rows: number[];
  let gold: number[] | null = null;
  if (text !== undefined) {
    texts = [text];
    rows = [1];
  } else {
    const table = await readTable(input as string);
    const hasLabel = table.columns.some((c) => c.toLowerCase() === 'label' || c.toLowerCase() === 'labels');
    if (hasLabel) {
      // Rows without usable text or label are listed, not silently dropped (NSMC's test file has empty reviews).
      const data = await loadTextClassification(input as string, { labelOrder: model.labels, onInvalid: 'collect' });
      if (data.problems.length > 0) {
        const shown = data.problems.slice(0, 5).map((p) => `${p.file}:${p.line ?? `row ${p.row}`} (${p.kind})`);
        console.error(`skipped ${data.problems.length} unusable rows: ${shown.join(', ')}${data.problems.length > 5 ? ', …' : ''}`);
      }
      texts = data.texts;
      gold = data.labels;
      rows = data.rowNumbers;
    } else {
      const column = TEXT_COLUMN_CANDIDATES.find((c) => table.columns.includes(c));
      if (!column) throw new InputError(`has no text column (looked for ${TEXT_COLUMN_CANDIDATES.join(', ')})`, { file: input });
      texts = table.rows.map((row) => {
        const value = row.values[column];
        if (typeof value !== 'string') throw new InputError('text is missing', { file: input, line: row.line ?? undefined, field: column });
        return value;
      });
      rows = table.rows.map((row) => row.row);
    }
  }
  if (sample !== undefined && sample < texts.length) {
    // A fixed, seeded sample (the same rows for the same seed), kept in file order.
    const chosen = new SeededRandom(seed).shuffle(texts.map((_, i) => i)).slice(0, sample).sort((a, b) => a - b);
    texts = chosen.map((i) => texts[i]);
    rows = chosen.map((i) => rows[i]);
    if (gold) {
      const all = gold;
      gold = chosen.map((i) => all[i]);
    }
  }
  const probabilities = await model.probabilities(texts);
  const predicted = probabilities.map((p) => p.indexOf(Math.max(...p)));
  if (gold) {
    const figures = classificationFigures(gold, predicted, model.labels.length);
    console.error(`${texts.length} texts · accuracy ${figures.accuracy.toFixed(4)} · macro F1 ${figures.macro_f1.toFixed(4)}`);
  }
  const header = ['row', 'prediction', ...model.labels.map((label) => `p_${label}`)].join('\t');
  const lines = probabilities.map((p, i) => [rows[i], model.labels[predicted[i]], ...p.map((v) => v.toFixed(6))].join('\t'));
  return [header, ...lines].join('\n') + '\n';
}
