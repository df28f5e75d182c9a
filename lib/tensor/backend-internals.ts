/**
 * The one place that reads a TensorFlow.js backend's private members. The wasm backend keeps every
 * tensor in its WebAssembly heap; the fused ops and the OpenBLAS products read and write that memory
 * in place instead of copying through dataSync (measured: most of a training step's copies). Those
 * members (`wasm.HEAPU8`, `dataIdMap`, `makeOutput`, `typedArrayFromHeap`) are not tfjs's public API
 * and a tfjs release may rename them, so they are checked once, when the backend loads
 * (lib/backend calls `checkWasmInternals`): where one is missing the tensor floor uses the public API
 * (slower, same values) and the device manifest says why, instead of failing at the first product.
 *
 * Only lib/tensor and lib/backend may import this module (.dependency-cruiser.cjs, rule
 * backend-internals).
 */
import * as tf from '@tensorflow/tfjs';

/** What the tensor floor reads of the wasm backend. */
export interface WasmInternals {
  /** The heap's buffer, taken afresh: a grown heap detaches the old one. */
  heap(): ArrayBuffer;
  /** Where a tensor's values start in the heap, in bytes. */
  byteOffset(dataId: object): number;
  /** A new tensor's memory in the heap (uninitialised). */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A float32 view of a tensor's values in the heap (read it at once: the next op may grow the heap). */
  view(info: tf.TensorInfo): Float32Array;
}

interface WasmBackendMembers {
  wasm?: { HEAPU8?: unknown };
  dataIdMap?: { get?: unknown };
  makeOutput?: unknown;
  typedArrayFromHeap?: unknown;
}

const checked = new WeakMap<object, WasmInternals | string>();

/**
 * The adapter over a wasm backend instance, or why it cannot be had (the private members that are
 * missing). Checked once per backend instance.
 */
export function checkWasmInternals(backend: object): WasmInternals | string {
  const known = checked.get(backend);
  if (known !== undefined) return known;
  const members = backend as WasmBackendMembers;
  const missing: string[] = [];
  if (!(members.wasm?.HEAPU8 instanceof Uint8Array)) missing.push('wasm.HEAPU8');
  if (typeof members.dataIdMap?.get !== 'function') missing.push('dataIdMap.get');
  if (typeof members.makeOutput !== 'function') missing.push('makeOutput');
  if (typeof members.typedArrayFromHeap !== 'function') missing.push('typedArrayFromHeap');
  const result: WasmInternals | string = missing.length
    ? `the wasm backend has no ${missing.join(', ')} (private members hanlab reads; this @tensorflow/tfjs-backend-wasm changed them), so tensors are copied through the public API`
    : adapter(backend as Required<WasmBackendMembers>);
  checked.set(backend, result);
  return result;
}

function adapter(backend: Required<WasmBackendMembers>): WasmInternals {
  const members = backend as unknown as {
    wasm: { HEAPU8: Uint8Array };
    dataIdMap: { get(dataId: object): { memoryOffset: number } };
    makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
    typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  };
  return {
    heap: () => members.wasm.HEAPU8.buffer as ArrayBuffer,
    byteOffset: (dataId) => members.dataIdMap.get(dataId).memoryOffset,
    makeOutput: (shape, dtype) => members.makeOutput(shape, dtype),
    view: (info) => members.typedArrayFromHeap(info),
  };
}

/** The adapter when the running backend is wasm and its members checked out; undefined otherwise. */
export function runningWasmInternals(): WasmInternals | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const internals = checkWasmInternals(tf.backend());
  return typeof internals === 'string' ? undefined : internals;
}

/** Whether the running backend is wasm (whatever its members). */
export function runsOnWasm(): boolean {
  return tf.getBackend() === 'wasm';
}

interface EngineMembers {
  state?: { tensorInfo?: { get?(dataId: object): { backend?: object } | undefined } };
  registry?: Record<string, object>;
}

/**
 * The name of the backend that holds a tensor's values (tfjs's engine records it per tensor in
 * `engine.state.tensorInfo`, a private member), or undefined where the engine does not say. tfjs
 * itself moves a tensor that lives on another backend silently (reading it back to the host): the
 * fused ops ask here so that a model never mixes backends by accident.
 */
export function tensorBackendName(tensor: tf.Tensor): string | undefined {
  const engine = tf.engine() as unknown as EngineMembers;
  const owner = engine.state?.tensorInfo?.get?.(tensor.dataId as object)?.backend;
  if (!owner) return undefined;
  for (const [name, backend] of Object.entries(engine.registry ?? {})) if (backend === owner) return name;
  return undefined;
}

/**
 * The engine's gradient-tape state (`ENGINE.state.activeTape`, not public API), which gradient
 * checkpointing puts back after a nested `tf.grads` (lib/tensor/ops/checkpoint.ts); undefined where
 * this TensorFlow.js has no such member.
 */
export function engineTapeState(): { activeTape?: unknown } | undefined {
  const state = (tf.engine() as unknown as { state?: { activeTape?: unknown } }).state;
  return state && 'activeTape' in state ? state : undefined;
}
