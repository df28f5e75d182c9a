/**
 * Named trainable weights. Initialised from our seeded generator (not tfjs's initialisers), so the
 * same seed gives the same weights on every backend, and serialised as one flat Float32Array in a
 * fixed order for checkpoints and saved models.
 */
import * as tf from '@tensorflow/tfjs';
import { tensorOf } from './ops/scratch.js';
import type { SeededRandom } from './rng.js';

export interface ParameterSpec {
  name: string;
  shape: number[];
  init: 'glorot' | 'zeros' | 'normal' | 'ones' | 'lstm-bias';
  /** Standard deviation for `normal`. */
  std?: number;
  /** Exempt from weight decay (biases, CRF scores, embeddings' padding row is zeroed anyway). */
  noDecay?: boolean;
  /** Initial values (pretrained weights), used instead of `init`; released once the variable holds them. */
  values?: Float32Array;
}

export interface ParameterManifestEntry {
  name: string;
  shape: number[];
}

export class ParameterSet {
  readonly specs: ParameterSpec[];
  readonly variables: tf.Variable[];
  private readonly byName: Map<string, tf.Variable>;

  constructor(specs: ParameterSpec[], rng: SeededRandom) {
    this.specs = specs;
    this.variables = tf.tidy(() => specs.map((spec) => tf.variable(tf.tensor(initialValues(spec, rng), spec.shape), true, uniqueName(spec.name))));
    for (const spec of specs) delete spec.values;
    this.byName = new Map(specs.map((spec, i) => [spec.name, this.variables[i]]));
  }

  get<R extends tf.Rank>(name: string): tf.Variable<R> {
    const variable = this.byName.get(name);
    if (!variable) throw new Error(`no parameter named ${name}`);
    return variable as tf.Variable<R>;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get count(): number {
    return this.specs.reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
  }

  manifest(): ParameterManifestEntry[] {
    return this.specs.map((spec) => ({ name: spec.name, shape: [...spec.shape] }));
  }

  /** All weights, concatenated in spec order. */
  read(): Float32Array {
    return concatTensors(this.variables);
  }

  /** Restores weights written by `read()` (same manifest). */
  write(values: Float32Array, manifest: ParameterManifestEntry[] = this.manifest()): void {
    assertSameManifest(this.manifest(), manifest);
    assignFlat(this.variables, values);
  }

  dispose(): void {
    for (const variable of this.variables) variable.dispose();
  }
}

export function concatTensors(tensors: readonly tf.Tensor[]): Float32Array {
  const total = tensors.reduce((sum, t) => sum + t.size, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, at);
    at += t.size;
  }
  return out;
}

export function assignFlat(variables: readonly tf.Variable[], values: Float32Array): void {
  const total = variables.reduce((sum, v) => sum + v.size, 0);
  if (values.length !== total) throw new Error(`expected ${total} values, got ${values.length}`);
  let at = 0;
  for (const variable of variables) {
    // tensorOf copies where the backend would keep the array itself: callers reuse theirs (the
    // trainer updates its flat weights in place).
    const slice = values.subarray(at, at + variable.size);
    tf.tidy(() => variable.assign(tensorOf(slice, variable.shape)));
    at += variable.size;
  }
}

export function assertSameManifest(expected: ParameterManifestEntry[], actual: ParameterManifestEntry[]): void {
  const describe = (entries: ParameterManifestEntry[]) => entries.map((e) => `${e.name}[${e.shape.join('×')}]`).join(', ');
  if (describe(expected) !== describe(actual)) {
    throw new Error(`weights do not match this model: expected ${describe(expected)}, got ${describe(actual)}`);
  }
}

let variableCounter = 0;
function uniqueName(name: string): string {
  // tfjs variable names are global to the engine; two models in one process must not collide.
  return `hanlab_${name}_${++variableCounter}`;
}

function initialValues(spec: ParameterSpec, rng: SeededRandom): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.values) {
    if (spec.values.length !== size) throw new Error(`parameter ${spec.name}: ${spec.values.length} values for shape [${spec.shape.join(', ')}]`);
    return spec.values;
  }
  const values = new Float32Array(size);
  switch (spec.init) {
    case 'zeros':
      break;
    case 'ones':
      values.fill(1);
      break;
    case 'normal': {
      const std = spec.std ?? 0.1;
      for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
      break;
    }
    case 'glorot': {
      const fanIn = spec.shape.length > 1 ? spec.shape[0] : size;
      const fanOut = spec.shape[spec.shape.length - 1];
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * limit;
      break;
    }
    case 'lstm-bias': {
      // Forget-gate bias 1 (gate order i, f, g, o): the usual start that lets gradients flow early.
      const hidden = size / 4;
      for (let i = hidden; i < 2 * hidden; i++) values[i] = 1;
      break;
    }
  }
  return values;
}
