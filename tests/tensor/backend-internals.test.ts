/**
 * The one adapter over the wasm backend's private members (lib/tensor/backend-internals.ts): checked
 * when the backend loads, the reason in the device manifest when they are missing, and the fused ops'
 * memory then going through the public API with the same values.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../lib/backend/index.js';
import { checkWasmInternals } from '../../lib/tensor/backend-internals.js';
import { filledTensor, peekValues, readValues, withScratch } from '../../lib/tensor/ops/scratch.js';

describe('the wasm backend internals adapter', () => {
  test('a backend without the members says which are missing, and gives no adapter', () => {
    const reason = checkWasmInternals({ wasm: {}, makeOutput: () => undefined });
    assert.equal(typeof reason, 'string');
    assert.match(reason as string, /wasm\.HEAPU8, dataIdMap\.get, typedArrayFromHeap/);
    assert.doesNotMatch(reason as string, /makeOutput/);
    assert.match(reason as string, /public API/);
  });

  test('a backend with them is read through them', () => {
    const heap = new Uint8Array(64);
    const info = { dataId: {}, shape: [2], dtype: 'float32' as const };
    const backend = {
      wasm: { HEAPU8: heap },
      dataIdMap: { get: (dataId: object) => ({ memoryOffset: dataId === info.dataId ? 16 : -1 }) },
      makeOutput: () => info,
      typedArrayFromHeap: () => new Float32Array(heap.buffer, 16, 2),
    };
    const internals = checkWasmInternals(backend);
    assert.notEqual(typeof internals, 'string');
    if (typeof internals === 'string') return;
    assert.equal(internals.heap(), heap.buffer);
    assert.equal(internals.byteOffset(info.dataId), 16);
    assert.equal(internals.makeOutput([2], 'float32'), info);
    internals.view(info).set([1.5, -2]);
    assert.deepEqual([...new Float32Array(heap.buffer, 16, 2)], [1.5, -2]);
    // Checked once per backend instance.
    assert.equal(checkWasmInternals(backend), internals);
  });

  test('the installed @tensorflow/tfjs-backend-wasm has the members (an upgrade that renames one fails here first)', async () => {
    const device = await initBackend({ prefer: 'wasm' });
    assert.equal(device.backend, 'wasm');
    assert.equal(device.wasm?.internals, undefined);
    assert.notEqual(typeof checkWasmInternals(tf.backend()), 'string');
  });

  test('the fused ops read and write the same values through the wasm heap and through the public API', async () => {
    const values = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
    const roundTrip = () =>
      withScratch(() => {
        const tensor = filledTensor<tf.Rank.R2>([4, 6], (memory) => memory.set(values));
        const read = [...readValues(tensor)];
        const peeked = [...peekValues(tensor)];
        tensor.dispose();
        return { read, peeked };
      });
    await initBackend({ prefer: 'wasm' });
    const onWasm = roundTrip();
    await initBackend({ prefer: 'cpu' });
    const onCpu = roundTrip();
    assert.deepEqual(onWasm.read, [...values]);
    assert.deepEqual(onWasm.peeked, [...values]);
    assert.deepEqual(onCpu, onWasm);
  });
});
