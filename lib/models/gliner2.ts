/**
 * GLiNER2 (fastino-ai/GLiNER2, e.g. `fastino/gliner2-base-v1`): a pretrained encoder (DeBERTa-v3) with
 * span, count and classifier heads, loaded from the folder `Extractor.save_pretrained` writes —
 * `config.json` (model_type `extractor`: max_width, counting_layer, token_pooling),
 * `encoder_config/config.json`, the tokenizer with GLiNER2's schema markers, `model.safetensors`.
 * Tensor names stay the checkpoint's (`encoder.…`, `span_rep.span_rep_layer.…`, `count_embed.…`).
 *
 * The entity path, re-stated from GLiNER2's model and layers:
 * - span representation (GLiNER's markerV0): every word gets a start and an end projection
 *   (Linear H→4H, ReLU, dropout, Linear 4H→H); span (i, width w < max_width) is
 *   out_project(ReLU([start(i) ; end(i + w)])), out_project being the same shape of MLP from 2H;
 * - count head: an MLP on `[P]` gives logits over 0…19 instances; the argmax is the instance count,
 *   0 meaning "no entities";
 * - count-aware labels (count_lstm): one GRU step from each label's `[E]` embedding, its input the
 *   learned embedding of instance 0, then an MLP over [GRU output ; label embedding] — entities read
 *   only the first instance, so the step is the same whatever the count;
 * - span logits: the dot product of each span with each label's vector; the score is its sigmoid;
 * - entity loss: binary cross-entropy with logits, summed over the spans that fit in the text and over
 *   the labels (in training half the negative spans are left out at random), summed over the batch.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { ParameterSet, type ParameterSpec } from '../tensor/parameters.js';
import { SeededRandom } from '../tensor/rng.js';
import type { ForwardContext } from '../tensor/forward-context.js';
import { embeddingLookup } from '../tensor/ops/embedding-lookup.js';
import { readValuesAsync } from '../tensor/ops/scratch.js';
import { ARCHITECTURES } from './architectures.js';
import { BASE_PREFIX, readEncoderConfig, type EncoderConfig } from './config.js';
import { downloadHint, readTokenizerFiles, type ModelFolder } from './folder.js';
import type { Gliner2Sample } from './gliner2-input.js';
import { initialLoraValues, loraScaling, loraSpecs, type LoraSettings, type LoraTarget } from './lora.js';
import { linear } from './ops.js';
import { SafetensorsArchive } from './safetensors.js';
import { EncoderTokenizer } from './tokenizer.js';
import { exemptFromDecay, frozenDense, internalShape, LayerContext, linearSpecs, toCheckpoint, toInternal, type LoraLayer, type WeightSpec } from './weights.js';

/** Instances the count head can predict (0…19), as GLiNER2. */
export const MAX_COUNT = 20;
/** Dropout inside the span representation, as GLiNER2 builds it. */
export const SPAN_DROPOUT = 0.1;
/** Share of negative spans left out of the entity loss in training, as GLiNER2. */
export const NEGATIVE_MASKING_RATE = 0.5;

export interface Gliner2Config {
  maxWidth: number;
  countingLayer: string;
  tokenPooling: string;
  /** The encoder it was built from (`model_name`). */
  modelName: string;
  raw: Record<string, unknown>;
}

export interface Gliner2Folder {
  dir: string;
  configFile: string;
  config: Gliner2Config;
  encoderConfigFile: string;
  encoder: EncoderConfig;
  weights: SafetensorsArchive;
  weightsFile: string;
  tokenizer: Pick<ModelFolder, 'tokenizerFile' | 'vocabFile' | 'tokenizerConfig'>;
}

function readJsonObject(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read: ${(error as Error).message}`, { file }, { cause: error });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError('is not a JSON object', { file });
  return raw as Record<string, unknown>;
}

/** Is `dir` a GLiNER2 folder (config.json with model_type "extractor")? */
export function isGliner2Folder(dir: string): boolean {
  const file = path.join(dir, 'config.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { model_type?: unknown }).model_type === 'extractor';
  } catch {
    return false;
  }
}

/** Opens a GLiNER2 folder (headers only; weights load in `Gliner2Model.load`). */
export function openGliner2Folder(dir: string, name: string = dir): Gliner2Folder {
  const hint = downloadHint(/^[\w.-]+\/[\w.-]+$/.test(name) ? name : 'fastino/gliner2-base-v1');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`no GLiNER2 model folder at ${path.resolve(dir)}. ${hint}`, { field: 'model' });
  const configFile = path.join(dir, 'config.json');
  if (!existsSync(configFile)) throw new InputError(`is not a GLiNER2 model folder: config.json is missing. ${hint}`, { file: dir });
  const raw = readJsonObject(configFile);
  if (raw.model_type !== 'extractor') {
    throw new InputError(
      `is not GLiNER2's config: model_type is ${JSON.stringify(raw.model_type)}, GLiNER2 writes "extractor"` +
        (typeof raw.model_type === 'string' ? ' (a plain encoder folder is for `hanlab train`, not --task entities)' : ''),
      { file: configFile, field: 'model_type' },
    );
  }
  const maxWidth = raw.max_width ?? 8;
  if (typeof maxWidth !== 'number' || !Number.isSafeInteger(maxWidth) || maxWidth < 1) throw new InputError(`must be a positive integer, got ${JSON.stringify(raw.max_width)}`, { file: configFile, field: 'max_width' });
  const countingLayer = String(raw.counting_layer ?? 'count_lstm');
  if (countingLayer !== 'count_lstm') {
    throw new InputError(`counting layer "${countingLayer}" is not supported; hanlab runs GLiNER2's count_lstm (the one gliner2-base-v1 uses)`, { file: configFile, field: 'counting_layer' });
  }
  const tokenPooling = String(raw.token_pooling ?? 'first');
  if (tokenPooling !== 'first') throw new InputError(`token pooling "${tokenPooling}" is not supported; hanlab runs "first"`, { file: configFile, field: 'token_pooling' });
  const encoderConfigFile = path.join(dir, 'encoder_config', 'config.json');
  if (!existsSync(encoderConfigFile)) throw new InputError(`is not a complete GLiNER2 folder: encoder_config/config.json (the encoder's config) is missing. ${hint}`, { file: dir });
  const encoder = readEncoderConfig(encoderConfigFile);
  const single = path.join(dir, 'model.safetensors');
  if (!existsSync(single)) {
    const pickle = ['pytorch_model.bin', 'model.bin'].find((f) => existsSync(path.join(dir, f)));
    throw new InputError(
      pickle
        ? `holds ${pickle} but no model.safetensors; hanlab reads safetensors only (pickle files can run code). Convert it once where torch is installed: ` +
            `python3 -c "import torch; from safetensors.torch import save_file; save_file(torch.load('${pickle}', map_location='cpu'), 'model.safetensors', metadata={'format': 'pt'})" (run in the folder)`
        : `has no model.safetensors. ${hint}`,
      { file: dir },
    );
  }
  return {
    dir,
    configFile,
    config: { maxWidth, countingLayer, tokenPooling, modelName: String(raw.model_name ?? ''), raw },
    encoderConfigFile,
    encoder,
    weights: SafetensorsArchive.open(single),
    weightsFile: single,
    tokenizer: readTokenizerFiles(dir, name),
  };
}

/** The heads' tensors (checkpoint names and shapes) for hidden size `h`. */
function headSpecs(h: number): WeightSpec[] {
  const projection = (name: string, inputs: number) => [...linearSpecs(`${name}.0`, inputs, 4 * h), ...linearSpecs(`${name}.3`, 4 * h, h)];
  const mlp = (name: string, inputs: number, hidden: number, outputs: number) => [...linearSpecs(`${name}.0`, inputs, hidden), ...linearSpecs(`${name}.2`, hidden, outputs)];
  return [
    ...projection('span_rep.span_rep_layer.project_start', h),
    ...projection('span_rep.span_rep_layer.project_end', h),
    ...projection('span_rep.span_rep_layer.out_project', 2 * h),
    ...mlp('classifier', h, 2 * h, 1),
    ...mlp('count_pred', h, 2 * h, MAX_COUNT),
    { name: 'count_embed.pos_embedding.weight', shape: [MAX_COUNT, h], role: 'embedding' },
    { name: 'count_embed.gru.weight_ih_l0', shape: [3 * h, h], role: 'linear' },
    { name: 'count_embed.gru.weight_hh_l0', shape: [3 * h, h], role: 'linear' },
    { name: 'count_embed.gru.bias_ih_l0', shape: [3 * h], role: 'bias' },
    { name: 'count_embed.gru.bias_hh_l0', shape: [3 * h], role: 'bias' },
    ...mlp('count_embed.projector', 2 * h, 4 * h, h),
  ];
}

/** Every tensor of a GLiNER2 model over `encoder` (checkpoint names and shapes). */
export function gliner2WeightSpecs(encoder: EncoderConfig): WeightSpec[] {
  return [...encoderSpecs(encoder), ...headSpecs(encoder.hiddenSize)];
}

/** The encoder's tensors under GLiNER2's `encoder.` prefix. */
function encoderSpecs(encoder: EncoderConfig): WeightSpec[] {
  const prefix = BASE_PREFIX[encoder.architecture] + '.';
  return ARCHITECTURES[encoder.architecture]
    .weightSpecs(encoder, 'base', 0)
    .map((spec) => ({ ...spec, name: spec.name.startsWith(prefix) ? 'encoder.' + spec.name.slice(prefix.length) : 'encoder.' + spec.name }));
}

/**
 * GLiNER2's LoRA targets: `encoder` = the encoder's Linear layers whose name has query, key, value or
 * dense in it; `encoder.query` (…) only those; `span_rep`, `classifier`, `count_embed`, `count_pred` =
 * every Linear layer inside (the GRU is not a Linear layer).
 */
export function resolveGliner2LoraTargets(specs: readonly WeightSpec[], targets: readonly string[] | 'all-linear'): LoraTarget[] {
  const known = ['encoder', 'span_rep', 'classifier', 'count_embed', 'count_pred'];
  const wanted = targets === 'all-linear' ? known : targets;
  const linearLayers = specs.filter((s) => s.role === 'linear' && s.name.endsWith('.weight')).map((s) => ({ module: s.name.slice(0, -'.weight'.length), outputs: s.shape[0], inputs: s.shape[1] }));
  const chosen = new Set<string>();
  for (const target of wanted) {
    const [group, part] = target.split('.', 2) as [string, string | undefined];
    if (!known.includes(group) || (part !== undefined && group !== 'encoder')) {
      throw new InputError(`"${target}" is not a GLiNER2 LoRA target; use ${known.join(', ')} or encoder.query / encoder.key / encoder.value / encoder.dense`, { field: '[LoRA] target_modules' });
    }
    const local = (module: string) => module.slice(module.lastIndexOf('.') + 1);
    for (const layer of linearLayers) {
      if (!layer.module.startsWith(group + '.')) continue;
      if (group !== 'encoder' || (part ? local(layer.module).includes(part) : ['query', 'key', 'value', 'dense'].some((p) => local(layer.module).includes(p)))) chosen.add(layer.module);
    }
  }
  return linearLayers.filter((l) => chosen.has(l.module));
}

export interface Gliner2Setup {
  /** LoRA on GLiNER2's target groups, or null (inference only: nothing trains). */
  lora: LoraSettings | null;
  seed: number;
  /**
   * Training only: recompute each encoder layer in the backward pass instead of keeping its tensors
   * (LayerContext.checkpoint), so a base-size step fits the wasm heap; default on.
   */
  checkpointLayers?: boolean;
}

/** Per text: span logits `[labels, words · maxWidth]` (row-major by word, then width) and count logits `[20]`. */
export interface Gliner2Output {
  spanLogits: tf.Tensor2D[];
  countLogits: tf.Tensor2D;
  /** Per text: 1 where span (word, width) fits in the text. */
  validSpans: Float32Array[];
}

export class Gliner2Model {
  readonly parameters: ParameterSet;
  readonly loraTargets: LoraTarget[];
  private readonly frozen = new Map<string, tf.Tensor>();
  private readonly loraLayers: Map<string, LoraLayer>;
  private readonly encoderLora: Map<string, LoraLayer>;
  private readonly trainableSpecs = new Map<string, WeightSpec>();

  private constructor(
    readonly folder: Gliner2Folder,
    readonly tokenizer: EncoderTokenizer,
    readonly setup: Gliner2Setup,
    readonly specs: WeightSpec[],
    loaded: Map<string, Float32Array>,
  ) {
    const rng = new SeededRandom((setup.seed ^ 0x1b873593) >>> 0);
    const paramSpecs: ParameterSpec[] = [];
    this.loraTargets = setup.lora ? resolveGliner2LoraTargets(specs, setup.lora.targetModules) : [];
    if (setup.lora) {
      for (const spec of loraSpecs(this.loraTargets, setup.lora.r)) {
        paramSpecs.push({ name: spec.name, shape: internalShape(spec), init: 'zeros', noDecay: exemptFromDecay(spec), values: toInternal(spec, initialLoraValues(spec, rng)) });
        this.trainableSpecs.set(spec.name, spec);
      }
    }
    for (const spec of specs) this.frozen.set(spec.name, tf.tensor(toInternal(spec, loaded.get(spec.name) as Float32Array), internalShape(spec)));
    loaded.clear();
    this.parameters = new ParameterSet(paramSpecs, rng);
    const lora = setup.lora;
    this.loraLayers = new Map(
      this.loraTargets.map((t) => [
        t.module,
        { a: this.parameters.get<tf.Rank.R2>(`${t.module}.lora_A.weight`), b: this.parameters.get<tf.Rank.R2>(`${t.module}.lora_B.weight`), scaling: loraScaling(lora as LoraSettings), dropout: (lora as LoraSettings).dropout },
      ]),
    );
    // The architecture code names encoder modules with transformers' prefix (`deberta.`).
    const prefix = BASE_PREFIX[folder.encoder.architecture] + '.';
    this.encoderLora = new Map([...this.loraLayers].filter(([m]) => m.startsWith('encoder.')).map(([m, layer]) => [prefix + m.slice('encoder.'.length), layer]));
  }

  static async load(dir: string, setup: Gliner2Setup, name: string = dir): Promise<Gliner2Model> {
    const folder = openGliner2Folder(dir, name);
    const tokenizer = await EncoderTokenizer.load({ dir, configFile: folder.encoderConfigFile, config: folder.encoder, weights: folder.weights, weightsFile: folder.weightsFile, ...folder.tokenizer });
    const specs = gliner2WeightSpecs(folder.encoder);
    const loaded = new Map<string, Float32Array>();
    for (const spec of specs) {
      const info = folder.weights.info(spec.name);
      if (!info) {
        throw new InputError(`has no tensor "${spec.name}", which GLiNER2 over encoder_config/config.json's ${folder.encoder.modelType} needs`, { file: folder.weightsFile, field: spec.name });
      }
      if (info.shape.join('×') !== spec.shape.join('×')) {
        throw new InputError(`tensor has shape [${info.shape.join(', ')}] but the configs imply [${spec.shape.join(', ')}]`, { file: folder.weightsFile, field: spec.name });
      }
      loaded.set(spec.name, folder.weights.read(spec.name).values);
    }
    if (tokenizer.vocabSize > folder.encoder.vocabSize) {
      throw new InputError(`the tokenizer has ${tokenizer.vocabSize} tokens but encoder_config/config.json's vocab_size is ${folder.encoder.vocabSize}: tokenizer and weights come from different models`, { file: tokenizer.file });
    }
    return new Gliner2Model(folder, tokenizer, setup, specs, loaded);
  }

  get config(): Gliner2Config {
    return this.folder.config;
  }

  /** Token limit of one text with its prompt: DeBERTa-v3's 512 (or the encoder's absolute positions). */
  get maxTokens(): number {
    return this.folder.encoder.maxPositionEmbeddings;
  }

  get trainableCount(): number {
    return this.parameters.count;
  }

  get totalCount(): number {
    let n = this.parameters.count;
    for (const t of this.frozen.values()) n += t.size;
    return n;
  }

  weight<T extends tf.Tensor = tf.Tensor>(name: string): T {
    const frozen = this.frozen.get(name);
    if (frozen) return frozen as T;
    return this.parameters.get(name) as unknown as T;
  }

  /** Span and count logits for encoded texts (see gliner2-input.ts). */
  forward(samples: readonly Gliner2Sample[], context: ForwardContext): Gliner2Output {
    const { encoder, config } = this.folder;
    const width = config.maxWidth;
    const h = encoder.hiddenSize;
    const length = Math.max(...samples.map((s) => s.ids.length));
    const ids = new Int32Array(samples.length * length).fill(this.tokenizer.padId);
    samples.forEach((s, row) => ids.set(s.ids, row * length));
    const inputs = { batch: samples.length, length, ids, lengths: samples.map((s) => s.ids.length) };
    const prefix = BASE_PREFIX[encoder.architecture] + '.';
    const checkpointing = context.training && this.parameters.count > 0 && (this.setup.checkpointLayers ?? true);
    const encoderLayers = new LayerContext((n) => this.weight(n.startsWith(prefix) ? 'encoder.' + n.slice(prefix.length) : 'encoder.' + n), this.encoderLora, context, checkpointing);
    const [last] = ARCHITECTURES[encoder.architecture].encode(encoderLayers, encoder, inputs, false);
    const heads = new LayerContext((n) => this.weight(n), this.loraLayers, context);

    // Rows of `last` for every text's words, labels and prompt, all texts at once.
    const wordRows: number[] = [];
    const fieldRows: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const validSpans: Float32Array[] = [];
    samples.forEach((s, row) => {
      const first = wordRows.length;
      const words = s.wordStarts.length;
      const valid = new Float32Array(words * width);
      for (let i = 0; i < words; i++) {
        for (let w = 0; w < width; w++) {
          const fits = i + w < words;
          starts.push(first + (fits ? i : 0));
          ends.push(first + (fits ? i + w : 0));
          valid[i * width + w] = fits ? 1 : 0;
        }
      }
      validSpans.push(valid);
      s.wordStarts.forEach((t) => wordRows.push(row * length + t));
      s.fields.forEach((t) => fieldRows.push(row * length + t));
    });
    const rows = (indices: number[]) => embeddingLookup(last, tf.tensor1d(indices, 'int32')) as tf.Tensor2D;
    const projection = (x: tf.Tensor, name: string) => heads.linear(heads.dropout(tf.relu(heads.linear(x, `${name}.0`)), SPAN_DROPOUT), `${name}.3`);
    const mlp = (x: tf.Tensor, name: string) => heads.linear(tf.relu(heads.linear(x, `${name}.0`)), `${name}.2`);

    const words = rows(wordRows);
    const startRep = embeddingLookup(projection(words, 'span_rep.span_rep_layer.project_start') as tf.Tensor2D, tf.tensor1d(starts, 'int32'));
    const endRep = embeddingLookup(projection(words, 'span_rep.span_rep_layer.project_end') as tf.Tensor2D, tf.tensor1d(ends, 'int32'));
    const spans = projection(tf.relu(tf.concat([startRep, endRep], 1)), 'span_rep.span_rep_layer.out_project') as tf.Tensor2D; // [Σ words·W, H]

    const labelVectors = this.countAwareLabels(rows(fieldRows), h, mlp); // [Σ labels, H]
    const countLogits = mlp(rows(samples.map((s, row) => row * length + s.prompt)), 'count_pred') as tf.Tensor2D;

    const spanLogits: tf.Tensor2D[] = [];
    let spanAt = 0;
    let fieldAt = 0;
    for (const s of samples) {
      const n = s.wordStarts.length * width;
      const m = s.fields.length;
      const textSpans = tf.slice(spans, [spanAt, 0], [n, h]);
      const labels = tf.slice(labelVectors, [fieldAt, 0], [m, h]);
      spanLogits.push(tf.matMul(labels, textSpans, false, true));
      spanAt += n;
      fieldAt += m;
    }
    return { spanLogits, countLogits, validSpans };
  }

  /** count_lstm's first step: GRU(input = instance-0 embedding, state = label embedding), then the projector. */
  private countAwareLabels(fields: tf.Tensor2D, h: number, mlp: (x: tf.Tensor, name: string) => tf.Tensor): tf.Tensor2D {
    const dense = (x: tf.Tensor, kernelName: string, biasName: string) => {
      const kernel = this.weight<tf.Tensor2D>(kernelName);
      const bias = this.weight<tf.Tensor1D>(biasName);
      return kernel instanceof tf.Variable ? linear(x, kernel, bias) : frozenDense(x, kernel, bias);
    };
    const step = tf.slice(this.weight<tf.Tensor2D>('count_embed.pos_embedding.weight'), [0, 0], [1, h]);
    const fromInput = dense(step, 'count_embed.gru.weight_ih_l0', 'count_embed.gru.bias_ih_l0') as tf.Tensor2D; // [1, 3H]
    const fromState = dense(fields, 'count_embed.gru.weight_hh_l0', 'count_embed.gru.bias_hh_l0') as tf.Tensor2D; // [M, 3H]
    const part = (x: tf.Tensor2D, k: number) => tf.slice(x, [0, k * h], [x.shape[0], h]);
    const reset = tf.sigmoid(tf.add(part(fromInput, 0), part(fromState, 0)));
    const update = tf.sigmoid(tf.add(part(fromInput, 1), part(fromState, 1)));
    const candidate = tf.tanh(tf.add(part(fromInput, 2), tf.mul(reset, part(fromState, 2))));
    const next = tf.add(tf.mul(tf.sub(1, update), candidate), tf.mul(update, fields));
    return mlp(tf.concat([next, fields], 1), 'count_embed.projector') as tf.Tensor2D;
  }

  /**
   * GLiNER2's entity loss over a batch: per text, binary cross-entropy with logits against `gold`
   * (label, word, width) triples, summed over labels and spans that fit; with `negativeMasking` (a
   * seeded generator) each negative span is left out with probability 1/2, as GLiNER2 trains.
   */
  entityLoss(samples: readonly Gliner2Sample[], gold: readonly (readonly [number, number, number])[][], context: ForwardContext, negativeMasking?: SeededRandom): tf.Scalar {
    const out = this.forward(samples, context);
    const width = this.config.maxWidth;
    const losses = out.spanLogits.map((logits, b) => {
      const [m, n] = logits.shape;
      const target = new Float32Array(m * n);
      for (const [label, start, w] of gold[b]) if (w < width && start * width + w < n) target[label * n + start * width + w] = 1;
      const keep = new Float32Array(m * n);
      for (let k = 0; k < m; k++) {
        for (let j = 0; j < n; j++) {
          const i = k * n + j;
          const negativeDropped = negativeMasking !== undefined && target[i] === 0 && negativeMasking.next() < NEGATIVE_MASKING_RATE;
          keep[i] = out.validSpans[b][j] && !negativeDropped ? 1 : 0;
        }
      }
      const y = tf.tensor2d(target, [m, n]);
      // max(x, 0) − x·y + log(1 + e^(−|x|)): torch's binary_cross_entropy_with_logits, stable for any x.
      const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      return tf.sum(tf.mul(bce, tf.tensor2d(keep, [m, n])));
    });
    return tf.addN(losses) as tf.Scalar;
  }

  /**
   * Every base tensor with LoRA merged in (`W + α/r · B·A`), checkpoint names and layout. Read
   * asynchronously: the webgpu backend has no synchronous read in Node.
   */
  async mergedWeights(): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
    const out = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const spec of this.specs) {
      const adapter = spec.role === 'linear' ? this.loraLayers.get(spec.name.replace(/\.weight$/, '')) : undefined;
      const merged = tf.tidy(() => (adapter ? tf.add(this.weight(spec.name), tf.mul(tf.matMul(adapter.a, adapter.b), adapter.scaling)) : tf.clone(this.weight(spec.name))));
      try {
        out.set(spec.name, { shape: [...spec.shape], values: toCheckpoint(spec, await readValuesAsync(merged)) });
      } finally {
        merged.dispose();
      }
    }
    return out;
  }

  /** PEFT's adapter tensors: `base_model.model.<module>.lora_A.weight` / `lora_B.weight`. */
  async adapterWeights(): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
    const out = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const [name, spec] of this.trainableSpecs) out.set(`base_model.model.${name}`, { shape: [...spec.shape], values: toCheckpoint(spec, await readValuesAsync(this.parameters.get(name))) });
    return out;
  }

  /** Loads LoRA matrices from PEFT's adapter tensors (names with `base_model.model.`). */
  loadAdapterWeights(tensors: ReadonlyMap<string, { shape: number[]; values: Float32Array }>, file: string): void {
    const parts: Float32Array[] = [];
    for (const spec of this.parameters.specs) {
      const checkpointSpec = this.trainableSpecs.get(spec.name) as WeightSpec;
      const stored = tensors.get(`base_model.model.${spec.name}`);
      if (!stored) throw new InputError(`has no tensor "base_model.model.${spec.name}"`, { file, field: `base_model.model.${spec.name}` });
      if (stored.shape.join('×') !== checkpointSpec.shape.join('×')) throw new InputError(`tensor has shape [${stored.shape.join(', ')}], the model needs [${checkpointSpec.shape.join(', ')}]`, { file, field: `base_model.model.${spec.name}` });
      parts.push(toInternal(checkpointSpec, stored.values));
    }
    const flat = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) flat.set(p, (at += p.length) - p.length);
    this.parameters.write(flat);
  }

  /** A trainable parameter's values (our layout) in the checkpoint's layout. */
  toCheckpointLayout(name: string, values: Float32Array): Float32Array {
    return toCheckpoint(this.trainableSpecs.get(name) as WeightSpec, values);
  }

  dispose(): void {
    this.parameters.dispose();
    for (const t of this.frozen.values()) t.dispose();
    this.frozen.clear();
  }
}
