/**
 * Scratch memory for the fused ops' typed arrays, and the two crossings between them and tensors.
 *
 * A conv+CRF micro-batch allocated ~90 MB of short-lived Float32Arrays (windows matrices, activations,
 * their gradients, read-backs); V8 answered with "external memory pressure" collections that took
 * ~20% of a training step. Inside `withScratch`, arrays come from an arena that is reused from one
 * micro-batch to the next: the trainer wraps each micro-batch's forward and backward pass in it, and
 * everything taken there is dead once the gradient is read. Outside such a scope (prediction), arrays
 * are ordinary allocations.
 */
import * as tf from '@tensorflow/tfjs';
import { runningWasmInternals, type WasmInternals } from '../backend-internals.js';
import { opForm } from './op-form.js';

const CHUNK_BYTES = 16 << 20;

class Arena {
  private readonly chunks: ArrayBuffer[] = [];
  private chunk = 0;
  private offset = 0;

  take(bytes: number): { buffer: ArrayBuffer; offset: number } {
    const size = (bytes + 15) & ~15;
    for (;;) {
      if (this.chunk === this.chunks.length) this.chunks.push(new ArrayBuffer(Math.max(CHUNK_BYTES, size)));
      const buffer = this.chunks[this.chunk];
      if (this.offset + size <= buffer.byteLength) {
        const at = this.offset;
        this.offset += size;
        return { buffer, offset: at };
      }
      // Too small for this request: a chunk after it gets a turn (or is made big enough).
      if (this.offset === 0 && buffer.byteLength < size) this.chunks.splice(this.chunk, 1);
      else this.chunk++;
      this.offset = 0;
    }
  }

  reset(): void {
    this.chunk = 0;
    this.offset = 0;
  }

  get bytes(): number {
    return this.chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  }
}

let active: Arena | null = null;
const arena = new Arena();

/**
 * Runs `f` with scratch arrays taken from the reused arena; the arrays must not be used after `f`
 * returns. Nested calls share the outer scope.
 */
export function withScratch<T>(f: () => T): T {
  if (active) return f();
  active = arena;
  try {
    return f();
  } finally {
    active = null;
    arena.reset();
  }
}

/** Bytes the arena holds (it keeps its largest size: flat across epochs, not growing). */
export function scratchBytes(): number {
  return arena.bytes;
}

/** A zeroed Float32Array of `length`: scratch inside `withScratch`, a new array outside. */
export function floats(length: number): Float32Array {
  if (!active) return new Float32Array(length);
  const { buffer, offset } = active.take(4 * length);
  return new Float32Array(buffer, offset, length).fill(0);
}

/**
 * Float32Arrays of the given lengths, all views of one ArrayBuffer (scratch inside `withScratch`),
 * each starting on a 16-byte boundary: operands of a `bufferProducts` product must share a buffer.
 * Zeroed unless `uninitialised` (then the caller writes every element before reading it: scratch
 * memory holds the last micro-batch's values).
 */
export function floatsInOneBuffer(lengths: readonly number[], uninitialised = false): Float32Array[] {
  const padded = lengths.map((length) => (length + 3) & ~3);
  const total = padded.reduce((sum, length) => sum + length, 0);
  const { buffer, offset } = active ? active.take(4 * total) : { buffer: new ArrayBuffer(4 * total), offset: 0 };
  let at = offset;
  return lengths.map((length, i) => {
    const view = new Float32Array(buffer, at, length);
    if (!uninitialised) view.fill(0);
    at += 4 * padded[i];
    return view;
  });
}

/** A zeroed Float64Array of `length` (see `floats`). */
export function doubles(length: number): Float64Array {
  if (!active) return new Float64Array(length);
  const { buffer, offset } = active.take(8 * length);
  return new Float64Array(buffer, offset, length).fill(0);
}

/** A zeroed Uint8Array of `length` (see `floats`). */
export function bytes(length: number): Uint8Array {
  if (!active) return new Uint8Array(length);
  const { buffer, offset } = active.take(length);
  return new Uint8Array(buffer, offset, length).fill(0);
}

/**
 * How the fused ops move float32 values between typed arrays and the running backend's tensors: one
 * implementation per backend. The wasm backend's works in its heap, through the one adapter over its
 * private members (../backend-internals.ts); every other backend (and wasm, when that adapter found
 * its members missing) uses the portable one, through tfjs's public API. A backend with memory of its
 * own (WebGPU) adds its implementation here.
 */
interface TensorMemory {
  /** The values of a float32 tensor as an array the caller may keep until the scratch scope ends. */
  read(tensor: tf.Tensor): Float32Array;
  /** The values without a copy where the backend allows it; read them at once. */
  peek(tensor: tf.Tensor): Float32Array;
  /** A new float32 tensor of `shape` whose values `fill` writes (every element). */
  filled<R extends tf.Rank>(shape: number[], fill: (values: Float32Array) => void): tf.Tensor<R>;
}

const portableMemory: TensorMemory = {
  read: (tensor) => tensor.dataSync() as Float32Array,
  peek: (tensor) => tensor.dataSync() as Float32Array,
  filled: <R extends tf.Rank>(shape: number[], fill: (values: Float32Array) => void) => {
    const values = new Float32Array(shape.reduce((n, d) => n * d, 1));
    fill(values);
    return tf.tensor(values, shape) as unknown as tf.Tensor<R>;
  },
};

function wasmMemory(wasm: WasmInternals): TensorMemory {
  const view = (tensor: tf.Tensor) => wasm.view(tensor as unknown as tf.TensorInfo);
  return {
    // Outside a scratch scope a fresh array is as cheap as a copy, and nothing reuses it.
    read: (tensor) => {
      if (!active) return tensor.dataSync() as Float32Array;
      const values = floats(tensor.size);
      values.set(view(tensor));
      return values;
    },
    peek: view,
    filled: <R extends tf.Rank>(shape: number[], fill: (values: Float32Array) => void) => {
      const info = wasm.makeOutput(shape, 'float32');
      const tensor = tf.engine().makeTensorFromTensorInfo(info as never) as tf.Tensor<R>;
      fill(wasm.view(info));
      return tensor;
    },
  };
}

/**
 * WebGPU keeps tensors in GPU buffers and tfjs has no synchronous read of them in Node (its
 * `dataSync` draws through an OffscreenCanvas, which Node lacks): the fused ops' device forms
 * (*.webgpu.ts) never read, and a host read that reaches here says so instead of failing inside tfjs.
 * Reads go through `readValuesAsync` / `readConcatenated`.
 */
const deviceMemory: TensorMemory = {
  read: () => {
    throw new Error('readValues: the webgpu backend has no synchronous read; use the asynchronous forms (readValuesAsync, predictTagStringsAsync, predictProbabilitiesAsync, evaluateTaggerAsync, saveModelAsync)');
  },
  peek: () => {
    throw new Error('peekValues: the webgpu backend has no synchronous read; use the asynchronous forms (readValuesAsync, readConcatenated)');
  },
  filled: portableMemory.filled,
};

let wasmMemoryOf: { internals: WasmInternals; memory: TensorMemory } | undefined;

/** The running backend's TensorMemory. */
function tensorMemory(): TensorMemory {
  if (opForm() === 'webgpu') return deviceMemory;
  const internals = runningWasmInternals();
  if (!internals) return portableMemory;
  if (wasmMemoryOf?.internals !== internals) wasmMemoryOf = { internals, memory: wasmMemory(internals) };
  return wasmMemoryOf.memory;
}

/**
 * A float32 tensor's values as a Float32Array (scratch inside `withScratch`). On wasm it copies
 * straight from the backend's heap instead of dataSync's fresh array.
 */
export function readValues(tensor: tf.Tensor): Float32Array {
  if (tensor.dtype !== 'float32') throw new Error(`readValues: expected a float32 tensor, got ${tensor.dtype}`);
  return tensorMemory().read(tensor);
}

/**
 * A float32 tensor's values without a copy where the backend allows it (a view of the wasm heap).
 * Read it at once: the next tfjs op may grow the heap and detach the view.
 */
export function peekValues(tensor: tf.Tensor): Float32Array {
  if (tensor.dtype !== 'float32') throw new Error(`peekValues: expected a float32 tensor, got ${tensor.dtype}`);
  return tensorMemory().peek(tensor);
}

/**
 * A tensor holding a copy of `values` (scratch arrays are reused, and some backends would keep the
 * array itself): one copy, straight into the backend's memory where it has its own (see filledTensor).
 */
export function tensorOf<R extends tf.Rank>(values: Float32Array, shape: number[]): tf.Tensor<R> {
  const size = shape.reduce((n, d) => n * d, 1);
  if (values.length !== size) throw new Error(`tensorOf: ${values.length} values for shape [${shape.join(', ')}] (${size} elements)`);
  return filledTensor<R>(shape, (memory) => memory.set(values));
}

/**
 * A new float32 tensor of `shape` whose values `fill` writes. On wasm `fill` writes straight into the
 * tensor's memory in the backend's heap (uninitialised: `fill` must write every element), so the
 * values are never copied; elsewhere it fills a fresh array. `fill` must not run tfjs ops: one could
 * grow the heap and detach the array it is writing.
 */
export function filledTensor<R extends tf.Rank>(shape: number[], fill: (values: Float32Array) => void): tf.Tensor<R> {
  return tensorMemory().filled<R>(shape, fill);
}

/** Whether `readValues` / `peekValues` work on the running backend (not on webgpu: see deviceMemory). */
export function readsAreSynchronous(): boolean {
  return opForm() !== 'webgpu';
}

/** A float32 tensor's values, awaited (every backend; the only read there is on webgpu). */
export async function readValuesAsync(tensor: tf.Tensor): Promise<Float32Array> {
  if (tensor.dtype !== 'float32') throw new Error(`readValuesAsync: expected a float32 tensor, got ${tensor.dtype}`);
  return (await tensor.data()) as Float32Array;
}

/**
 * The values of `tensors`, flattened and concatenated in order, in one read: on a GPU one transfer
 * instead of one per tensor (each read waits for the queue to drain). The tensors are not disposed.
 */
export async function readConcatenated(tensors: readonly tf.Tensor[]): Promise<Float32Array> {
  if (tensors.length === 0) return new Float32Array(0);
  const joined = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(tf.cast(t, 'float32'), [-1]))));
  try {
    return (await joined.data()) as Float32Array;
  } finally {
    joined.dispose();
  }
}
