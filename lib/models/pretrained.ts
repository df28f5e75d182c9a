/**
 * A pretrained encoder loaded from a local Hugging Face folder into TensorFlow.js variables, with its
 * task head, optionally wrapped with LoRA: the weights keep the checkpoint's names, the architecture
 * file runs the forward pass, and the result can be written back in HF's and PEFT's layouts.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import { ParameterSet, type ParameterSpec } from '../tensor/parameters.js';
import { SeededRandom } from '../tensor/rng.js';
import type { ForwardContext } from '../tensor/forward-context.js';
import { readValuesAsync } from '../tensor/ops/scratch.js';
import { ARCHITECTURES } from './architectures.js';
import type { EncoderInputs, EncoderTask } from './architecture.js';
import { BASE_PREFIX, type EncoderConfig } from './config.js';
import { openModelFolder, type ModelFolder } from './folder.js';
import { headModules, initialLoraValues, loraScaling, loraSpecs, resolveLoraTargets, type LoraSettings, type LoraTarget } from './lora.js';
import { EncoderTokenizer } from './tokenizer.js';
import { exemptFromDecay, internalShape, LayerContext, toCheckpoint, toInternal, type LoraLayer, type WeightSpec } from './weights.js';

export interface EncoderSetup {
  task: EncoderTask;
  /** Class names of the head: sequence labels, or tags for token classification. */
  labels: readonly string[];
  /** LoRA, or null for full fine-tuning. */
  lora: LoraSettings | null;
  /** Seeds the new head's and LoRA's initial weights. */
  seed: number;
}

export interface EncoderOutput {
  /** `[B·L, H]` per layer (embedding output first) when collected, else only the last. */
  states: tf.Tensor2D[];
  /** `[B, labels]` or `[B·L, labels]`; null for the bare encoder. */
  logits: tf.Tensor2D | null;
}

/** A tensor in the checkpoint's layout, ready to write. */
export interface CheckpointTensor {
  shape: number[];
  values: Float32Array;
}

export class PretrainedEncoder {
  readonly parameters: ParameterSet;
  /** What loading noticed (new head, unused checkpoint tensors), as transformers would warn. */
  readonly notes: string[];
  readonly loraTargets: LoraTarget[];
  /** adapter_config.json's resolved `target_modules`. */
  readonly loraTargetModules: string[];
  private readonly frozen: Map<string, tf.Tensor>;
  private readonly trainableSpecs: Map<string, WeightSpec>;
  private readonly loraLayers: Map<string, LoraLayer>;

  private constructor(
    readonly folder: ModelFolder,
    readonly tokenizer: EncoderTokenizer,
    readonly setup: EncoderSetup,
    /** Base and head weights (checkpoint names and shapes). */
    readonly specs: WeightSpec[],
    loaded: Map<string, Float32Array>,
    notes: string[],
  ) {
    this.notes = notes;
    const rng = new SeededRandom((setup.seed ^ 0x1b873593) >>> 0);
    const lora = setup.lora;
    const paramSpecs: ParameterSpec[] = [];
    this.trainableSpecs = new Map();
    this.frozen = new Map();
    const trainable = (spec: WeightSpec, values: Float32Array) => {
      paramSpecs.push({ name: spec.name, shape: internalShape(spec), init: 'zeros', noDecay: exemptFromDecay(spec), values: toInternal(spec, values) });
      this.trainableSpecs.set(spec.name, spec);
    };
    if (lora) {
      const resolved = resolveLoraTargets(specs, folder.config.architecture, lora);
      this.loraTargets = resolved.targets;
      this.loraTargetModules = resolved.targetModules;
      for (const spec of loraSpecs(resolved.targets, lora.r)) trainable(spec, initialLoraValues(spec, rng));
    } else {
      this.loraTargets = [];
      this.loraTargetModules = [];
    }
    for (const spec of specs) {
      const values = loaded.get(spec.name) as Float32Array;
      if (!lora || spec.head) trainable(spec, values);
      else this.frozen.set(spec.name, tf.tensor(toInternal(spec, values), internalShape(spec)));
    }
    loaded.clear();
    this.parameters = new ParameterSet(paramSpecs, rng);
    this.loraLayers = new Map(
      this.loraTargets.map((t) => [
        t.module,
        {
          a: this.parameters.get<tf.Rank.R2>(`${t.module}.lora_A.weight`),
          b: this.parameters.get<tf.Rank.R2>(`${t.module}.lora_B.weight`),
          scaling: loraScaling(lora as LoraSettings),
          dropout: (lora as LoraSettings).dropout,
        },
      ]),
    );
  }

  /** Loads `dir` for `setup`. `name` is the model name as the user wrote it (for messages). */
  static async load(dir: string, setup: EncoderSetup, name: string = dir): Promise<PretrainedEncoder> {
    const folder = openModelFolder(dir, name);
    checkLayerCount(folder);
    const tokenizer = await EncoderTokenizer.load(folder);
    const { config } = folder;
    const specs = ARCHITECTURES[config.architecture].weightSpecs(config, setup.task, setup.labels.length);
    const wordEmbeddings = specs.find((s) => s.name.endsWith('.word_embeddings.weight')) as WeightSpec;
    const { vocabulary, added } = tokenizer.largest;
    if (vocabulary.id >= config.vocabSize) {
      throw new InputError(
        `the tokenizer's vocabulary reaches id ${vocabulary.id} (token ${JSON.stringify(vocabulary.token)}) but config.json's vocab_size (rows of ${wordEmbeddings.name}) is ${config.vocabSize}: ` +
          `tokenizer and weights come from different models`,
        { file: tokenizer.file, field: wordEmbeddings.name },
      );
    }
    if (added && added.id >= config.vocabSize) {
      throw new InputError(
        `added token ${JSON.stringify(added.token)} has id ${added.id}, beyond config.json's vocab_size ${config.vocabSize} (rows of ${wordEmbeddings.name}): ` +
          `tokens were added without resizing the embeddings; run model.resize_token_embeddings(len(tokenizer)) and save the model again`,
        { file: tokenizer.file, field: added.token },
      );
    }
    if (tokenizer.padId >= config.vocabSize) {
      throw new InputError(`the pad token id ${tokenizer.padId} is outside ${wordEmbeddings.name} (${config.vocabSize} rows)`, { file: tokenizer.file, field: 'pad_token' });
    }
    const { loaded, notes } = readWeights(folder, specs, setup);
    return new PretrainedEncoder(folder, tokenizer, setup, specs, loaded, notes);
  }

  get config(): EncoderConfig {
    return this.folder.config;
  }

  /** Parameters trained (LoRA matrices and head, or everything). */
  get trainableCount(): number {
    return this.parameters.count;
  }

  /** All parameters of the model as it runs (frozen base, head, LoRA). */
  get totalCount(): number {
    let frozen = 0;
    for (const t of this.frozen.values()) frozen += t.size;
    return frozen + this.parameters.count;
  }

  /** The tensor named `name` (our layout). */
  weight(name: string): tf.Tensor {
    const frozen = this.frozen.get(name);
    if (frozen) return frozen;
    if (this.parameters.has(name)) return this.parameters.get(name);
    throw new Error(`no weight named ${name}`);
  }

  forward(inputs: EncoderInputs, context: ForwardContext, collect = false): EncoderOutput {
    const impl = ARCHITECTURES[this.config.architecture];
    const layers = new LayerContext((name) => this.weight(name), this.loraLayers, context);
    const states = impl.encode(layers, this.config, inputs, collect);
    const logits = this.setup.task === 'base' ? null : impl.head(layers, this.config, this.setup.task, states[states.length - 1], inputs);
    return { states, logits };
  }

  /**
   * Base and head weights with every LoRA update merged in (`W + α/r · B·A`), checkpoint layout and
   * names. Read asynchronously: the webgpu backend has no synchronous read in Node.
   */
  async mergedWeights(): Promise<Map<string, CheckpointTensor>> {
    const out = new Map<string, CheckpointTensor>();
    for (const spec of this.specs) {
      const internal = tf.tidy(() => {
        const module = spec.name.replace(/\.weight$/, '');
        const adapter = spec.role === 'linear' ? this.loraLayers.get(module) : undefined;
        const base = this.weight(spec.name);
        return adapter ? tf.add(base, tf.mul(tf.matMul(adapter.a, adapter.b), adapter.scaling)) : tf.clone(base);
      });
      let values: Float32Array;
      try {
        values = await readValuesAsync(internal);
      } finally {
        internal.dispose();
      }
      out.set(spec.name, { shape: [...spec.shape], values: toCheckpoint(spec, values) });
    }
    return out;
  }

  /** A trainable parameter's values (our layout) in the checkpoint's layout (e.g. for comparing gradients). */
  toCheckpointLayout(name: string, values: Float32Array): CheckpointTensor {
    const spec = this.trainableSpecs.get(name);
    if (!spec) throw new Error(`no trainable parameter named ${name}`);
    return { shape: [...spec.shape], values: toCheckpoint(spec, values) };
  }

  /** PEFT's adapter_model.safetensors content: LoRA matrices and the head (`modules_to_save`). */
  async adapterWeights(): Promise<Map<string, CheckpointTensor>> {
    const out = new Map<string, CheckpointTensor>();
    for (const [name, spec] of this.trainableSpecs) {
      const values = await readValuesAsync(this.parameters.get(name));
      out.set(`base_model.model.${name}`, { shape: [...spec.shape], values: toCheckpoint(spec, values) });
    }
    return out;
  }

  /** PEFT's `modules_to_save` for this task. */
  get headModules(): string[] {
    return headModules(this.config.architecture, this.setup.task);
  }

  /** Loads trained LoRA and head tensors from PEFT's adapter file content (names with `base_model.model.`). */
  loadAdapterWeights(tensors: Map<string, CheckpointTensor>, file: string): void {
    const values: Float32Array[] = [];
    for (const spec of this.parameters.specs) {
      const stored = tensors.get(`base_model.model.${spec.name}`);
      const checkpointSpec = this.trainableSpecs.get(spec.name) as WeightSpec;
      if (!stored) throw new InputError(`has no tensor "base_model.model.${spec.name}"`, { file, field: `base_model.model.${spec.name}` });
      if (stored.shape.join('×') !== checkpointSpec.shape.join('×')) {
        throw new InputError(`tensor has shape [${stored.shape.join(', ')}], the model needs [${checkpointSpec.shape.join(', ')}]`, { file, field: `base_model.model.${spec.name}` });
      }
      checkFinite(stored.values, `base_model.model.${spec.name}`, file);
      values.push(toInternal(checkpointSpec, stored.values));
    }
    const flat = new Float32Array(values.reduce((n, v) => n + v.length, 0));
    let at = 0;
    for (const v of values) {
      flat.set(v, at);
      at += v.length;
    }
    this.parameters.write(flat);
  }

  dispose(): void {
    this.parameters.dispose();
    for (const t of this.frozen.values()) t.dispose();
    this.frozen.clear();
  }
}

/**
 * Reads every spec's tensor from the checkpoint, checking names and shapes. Accepts bare base-model
 * checkpoints (`embeddings.…` without the `bert.` prefix). Head tensors (and BERT's pooler) missing
 * from the checkpoint, or of another label count, are initialised as transformers does (normal(0, 0.02),
 * zero bias) and noted.
 */
function readWeights(folder: ModelFolder, specs: readonly WeightSpec[], setup: EncoderSetup): { loaded: Map<string, Float32Array>; notes: string[] } {
  const { config, weights } = folder;
  const prefix = BASE_PREFIX[config.architecture];
  const rng = new SeededRandom(setup.seed >>> 0);
  const loaded = new Map<string, Float32Array>();
  const used = new Set<string>();
  const initialised: string[] = [];
  for (const spec of specs) {
    const bare = spec.name.startsWith(prefix + '.') ? spec.name.slice(prefix.length + 1) : null;
    const stored = weights.has(spec.name) ? spec.name : bare !== null && weights.has(bare) ? bare : null;
    const info = stored !== null ? weights.info(stored) : undefined;
    const replaceable = spec.head || spec.name === `${prefix}.pooler.dense.weight` || spec.name === `${prefix}.pooler.dense.bias`;
    if (!info || (spec.head && info.shape.join('×') !== spec.shape.join('×'))) {
      if (!replaceable) {
        throw new InputError(
          `has no tensor "${spec.name}"${bare ? ` (nor "${bare}")` : ''}, which config.json's ${config.modelType} model with ${config.numLayers} layers needs` +
            (weights.names().length ? ` (the checkpoint has e.g. ${weights.names().slice(0, 3).join(', ')})` : ''),
          { file: folder.weightsFile, field: spec.name },
        );
      }
      loaded.set(spec.name, initialValues(spec, rng));
      initialised.push(spec.name + (info ? ` (checkpoint shape [${info.shape.join(', ')}] is for another label count)` : ''));
      if (stored) used.add(stored);
      continue;
    }
    if (info.shape.join('×') !== spec.shape.join('×')) {
      throw new InputError(`tensor has shape [${info.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}]`, { file: info.file, field: stored as string });
    }
    const tensor = weights.read(stored as string);
    checkFinite(tensor.values, stored as string, info.file);
    loaded.set(spec.name, tensor.values);
    used.add(stored as string);
  }
  const notes: string[] = [];
  if (initialised.length) notes.push(`newly initialised (train them): ${initialised.join(', ')}`);
  const unused = weights.names().filter((n) => !used.has(n));
  if (unused.length) notes.push(`checkpoint tensors not used by this task model: ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? `, … (${unused.length} in all)` : ''}`);
  return { loaded, notes };
}

/**
 * Checks config.json's layer count against the checkpoint before any layer is described: a damaged
 * `num_hidden_layers` (10^7) would otherwise build millions of weight specs and exhaust the heap before
 * the first missing tensor is noticed.
 */
function checkLayerCount(folder: ModelFolder): void {
  const { config, weights } = folder;
  const layers = new Set<number>();
  for (const name of weights.names()) {
    const match = /(?:^|\.)encoder\.layer\.(\d+)\./.exec(name);
    if (match) layers.add(Number(match[1]));
  }
  if (config.numLayers <= layers.size) return;
  const held = layers.size ? `layers 0…${Math.max(...layers)} (${layers.size})` : 'no encoder layers';
  throw new InputError(
    `num_hidden_layers is ${config.numLayers}, but ${path.basename(folder.weightsFile)} holds ${held}: config.json and the weights come from different models, or config.json is damaged`,
    { file: folder.configFile, field: 'num_hidden_layers' },
  );
}

/** NaN or ±Inf in a checkpoint tensor would surface later as "training diverged"; name it here instead. */
function checkFinite(values: Float32Array, name: string, file: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new InputError(`tensor holds ${values[i]} at element ${i} (of ${values.length}); the weights are damaged (or were saved from a diverged run)`, { file, field: name });
    }
  }
}

/** transformers' `_init_weights` for a new Linear: weight ~ normal(0, 0.02), bias 0. */
function initialValues(spec: WeightSpec, rng: SeededRandom): Float32Array {
  const values = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
  if (spec.role === 'linear') for (let i = 0; i < values.length; i++) values[i] = rng.normal() * 0.02;
  return values;
}
