import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { InputError } from '../../lib/errors.js';
import { SafetensorsArchive, writeSafetensors } from '../../lib/models/safetensors.js';
import { PYTHON } from '../../scripts/make-tiny-checkpoint.js';
import { cleanup, skipWithoutTorch, tempDir, tinyCheckpoint } from './helpers.js';

after(cleanup);

/** A safetensors file written byte by byte (header JSON + data), independent of writeSafetensors. */
function rawFile(file: string, header: Record<string, unknown>, data: Buffer): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([prefix, json, data]));
}

test('reads what torch wrote: float32 weights, an int64 buffer, sharded checkpoints via the index', { skip: skipWithoutTorch() }, () => {
  const dir = tinyCheckpoint({ arch: 'bert', seed: 2, extras: true, shards: 3 });
  const archive = SafetensorsArchive.openIndex(path.join(dir, 'model.safetensors.index.json'));
  const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.deepEqual(archive.names().sort(), Object.keys(index.weight_map).sort());
  assert.equal(archive.info('bert.embeddings.position_ids')?.dtype, 'I64');
  assert.throws(() => archive.read('bert.embeddings.position_ids'), /I64, not a float tensor/);
  const name = 'bert.encoder.layer.1.attention.self.query.weight';
  const tensor = archive.read(name);
  assert.deepEqual(tensor.shape, [32, 32]);
  // The same values as torch prints them.
  const script = `import sys; sys.path.insert(0, 'tests/models/reference'); import hf_reference as r; w = r.load_folder_weights(${JSON.stringify(dir)}); print(' '.join(repr(float(v)) for v in w[${JSON.stringify(name)}].flatten()[:16]))`;
  const run = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(Array.from(tensor.values.subarray(0, 16)), run.stdout.trim().split(' ').map(Number));
});

test('float16 and bfloat16 tensors are widened to float32', () => {
  const file = path.join(tempDir(), 'half.safetensors');
  const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]).buffer); // 1, -2, ~0.333, smallest subnormal, +inf
  const bf16 = Buffer.from(new Uint16Array([0x3f80, 0xc040, 0x0000]).buffer); // 1, -3, 0
  rawFile(file, { a: { dtype: 'F16', shape: [5], data_offsets: [0, 10] }, b: { dtype: 'BF16', shape: [3], data_offsets: [10, 16] } }, Buffer.concat([f16, bf16]));
  const archive = SafetensorsArchive.open(file);
  assert.deepEqual(Array.from(archive.read('a').values), [1, -2, Math.fround(0.333251953125), Math.fround(2 ** -24), Infinity]);
  assert.deepEqual(Array.from(archive.read('b').values), [1, -3, 0]);
});

test('corrupt files are errors that name the file and the tensor', () => {
  const dir = tempDir();
  const file = path.join(dir, 'bad.safetensors');
  rawFile(file, { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, Buffer.alloc(8));
  assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && e.file === file && e.field === 'w' && /outside the 8 data bytes/.test(e.message));
  rawFile(file, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8));
  assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && e.field === 'w' && /needs 12/.test(e.message));
  rawFile(file, { w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1));
  assert.throws(() => SafetensorsArchive.open(file), /unsupported dtype "Q4"/);
  writeFileSync(file, Buffer.from('{"not": "safetensors"}'));
  assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && /not a safetensors file/.test(e.message));
  const index = path.join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({ weight_map: { w: 'model-00001-of-00002.safetensors' } }));
  assert.throws(() => SafetensorsArchive.openIndex(index), (e: unknown) => e instanceof InputError && e.file === index && /missing \(download every shard\)/.test(e.message));
  writeFileSync(index, JSON.stringify({ weight_map: { w: '../elsewhere.safetensors' } }));
  assert.throws(() => SafetensorsArchive.openIndex(index), /must be a file name in the same folder/);
});

test('overlapping, gapped or trailing data_offsets are refused as the format requires, naming the tensor', () => {
  const file = path.join(tempDir(), 'offsets.safetensors');
  const refuses = (field: string, pattern: RegExp) =>
    assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && e.file === file && e.field === field && pattern.test(e.message));
  // Two tensors sharing bytes 4…7.
  rawFile(file, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12));
  refuses('b', /overlap tensor "a".*may not share bytes/);
  // The same range twice.
  rawFile(file, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, Buffer.alloc(8));
  assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && /overlap tensor/.test(e.message));
  // A gap between tensors, and one before the first.
  rawFile(file, { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, Buffer.alloc(12));
  refuses('b', /leave bytes 4…7 unused after tensor "a".*contiguous/);
  rawFile(file, { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, Buffer.alloc(8));
  refuses('a', /unused before the first tensor/);
  // Bytes after the last tensor.
  rawFile(file, { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(8));
  refuses('a', /end at byte 4, but the file holds 8 data bytes/);
  // Declared out of order but contiguous: accepted, as the reference accepts it.
  rawFile(file, { b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.from(new Float32Array([1, 2]).buffer));
  assert.deepEqual(Array.from(SafetensorsArchive.open(file).read('b').values), [2]);
});

test('property: any two tensors whose byte ranges intersect are refused', () => {
  const file = path.join(tempDir(), 'overlap.safetensors');
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 }), (n, m, shift) => {
      fc.pre(shift < n); // b begins inside a
      const data = Buffer.alloc(4 * Math.max(n, shift + m));
      rawFile(file, { a: { dtype: 'F32', shape: [n], data_offsets: [0, 4 * n] }, b: { dtype: 'F32', shape: [m], data_offsets: [4 * shift, 4 * (shift + m)] } }, data);
      assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && /overlap tensor/.test(e.message));
    }),
    { numRuns: 100 },
  );
});

test('a header length beyond 2^53 is printed exactly; fractional offsets are named as such', () => {
  const file = path.join(tempDir(), 'huge.safetensors');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(2n ** 63n + 5n);
  writeFileSync(file, Buffer.concat([prefix, Buffer.from('{}')]));
  assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && e.message.includes('header length 9223372036854775813 for a 10-byte file'));
  rawFile(file, { w: { dtype: 'U8', shape: [1], data_offsets: [0.5, 1.5] } }, Buffer.alloc(2));
  assert.throws(() => SafetensorsArchive.open(file), (e: unknown) => e instanceof InputError && e.field === 'w' && /\[0\.5,1\.5\] are not two whole byte offsets/.test(e.message) && !/fall outside/.test(e.message));
});

test('property: writeSafetensors then SafetensorsArchive gives back every tensor, with format "pt" metadata', () => {
  const dir = tempDir();
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== '__metadata__'),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 }),
        { minKeys: 1, maxKeys: 5 },
      ),
      fc.integer(),
      (shapes, seed) => {
        const tensors = new Map(
          Object.entries(shapes).map(([name, shape], k) => {
            const size = shape.reduce((a, b) => a * b, 1);
            return [name, { shape, values: Float32Array.from({ length: size }, (_, i) => Math.fround(Math.sin(seed + k * 31 + i) * 1e3)) }];
          }),
        );
        const file = path.join(dir, 'roundtrip.safetensors');
        writeSafetensors(file, tensors);
        const archive = SafetensorsArchive.open(file);
        assert.equal(archive.metadata.format, 'pt');
        assert.deepEqual(archive.names().sort(), [...tensors.keys()].sort());
        for (const [name, tensor] of tensors) {
          const read = archive.read(name);
          assert.deepEqual(read.shape, tensor.shape);
          assert.deepEqual(Array.from(read.values), Array.from(tensor.values));
        }
        // The header is padded to 8 bytes, as the reference implementation writes it.
        assert.equal(Number(readFileSync(file).readBigUInt64LE(0)) % 8, 0);
      },
    ),
    { numRuns: 60 },
  );
});
