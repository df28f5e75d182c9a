/**
 * lib/llm/gguf: the writer and the reader agree on every value type, tensor type and alignment
 * (fast-check round trip), and a bad file is one clear GgufError naming it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { encodeGguf, writeGgufFile, type GgufTensorToWrite } from '../../lib/llm/gguf/write.js';
import { GgufError, checkedArchitecture, parseGguf, quantizationName, readGguf, readTensor } from '../../lib/llm/gguf/read.js';
import { gguf, type GgufItem, type GgufValue } from '../../lib/llm/gguf/values.js';
import { LLAMA_CPP_ARCHITECTURES, type GgufValueType } from '../../lib/llm/gguf/format.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../lib/llm/gguf/float16.js';
import { tinyGgufContent } from '../../scripts/make-tiny-gguf.js';

const scalarTypes = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'uint64', 'int64', 'float64'] as const;

function itemArbitrary(type: GgufValueType, depth: number): fc.Arbitrary<GgufItem> {
  switch (type) {
    case 'uint8': return fc.integer({ min: 0, max: 0xff });
    case 'int8': return fc.integer({ min: -0x80, max: 0x7f });
    case 'uint16': return fc.integer({ min: 0, max: 0xffff });
    case 'int16': return fc.integer({ min: -0x8000, max: 0x7fff });
    case 'uint32': return fc.integer({ min: 0, max: 0xffffffff });
    case 'int32': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'float32': return fc.float({ noDefaultInfinity: false }).map((x) => Math.fround(x));
    case 'float64': return fc.double();
    case 'uint64': return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    case 'int64': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'bool': return fc.boolean();
    case 'string': return fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('안녕하세요', '<0x0A>', '▁위험', ''));
    case 'array': return arrayArbitrary(depth + 1);
  }
}

function arrayArbitrary(depth: number): fc.Arbitrary<Extract<GgufValue, { type: 'array' }>> {
  const itemTypes: GgufValueType[] = depth < 2 ? [...scalarTypes, 'array'] : [...scalarTypes];
  return fc.constantFrom(...itemTypes).chain((itemType) =>
    fc.array(itemArbitrary(itemType, depth), { maxLength: 6 }).map((items) => gguf.array(itemType, items)));
}

const valueArbitrary: fc.Arbitrary<GgufValue> = fc.constantFrom<GgufValueType>(...scalarTypes, 'array').chain((type) =>
  type === 'array' ? arrayArbitrary(0) : itemArbitrary(type, 0).map((value) => ({ type, value }) as GgufValue));

const tensorArbitrary = fc.record({
  type: fc.constantFrom<'F32' | 'F16'>('F32', 'F16'),
  dims: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
}).chain(({ type, dims }) => {
  const count = dims.reduce((a, b) => a * b, 1);
  // F16 values are drawn as half-precision bit patterns, so the round trip must be exact.
  const value = type === 'F32'
    ? fc.float({ noNaN: true }).map((x) => Math.fround(x))
    : fc.integer({ min: 0, max: 0xffff }).filter((bits) => (bits & 0x7c00) !== 0x7c00 || (bits & 0x3ff) === 0).map(float16BitsToFloat32);
  return fc.array(value, { minLength: count, maxLength: count }).map((values) => ({ type, dims, data: Float32Array.from(values) }));
});

test('GGUF round trip: every value type (nested arrays too), F32/F16 tensors, any alignment', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), valueArbitrary), { selector: ([key]) => key, maxLength: 8 })
        .map((pairs) => pairs.filter(([key]) => key !== 'general.alignment')),
      fc.array(tensorArbitrary, { maxLength: 5 }),
      fc.constantFrom(undefined, 1, 8, 32, 64, 256),
      (pairs, tensorSpecs, alignment) => {
        const metadata = new Map<string, GgufValue>(pairs);
        if (alignment !== undefined) metadata.set('general.alignment', gguf.uint32(alignment));
        const tensors: GgufTensorToWrite[] = tensorSpecs.map((t, i) => ({ name: `blk.${i}.t`, ...t }));
        const bytes = encodeGguf({ metadata, tensors });
        const read = parseGguf(bytes);
        assert.deepEqual(read.metadata, metadata);
        assert.equal(read.alignment, alignment ?? 32);
        assert.equal(read.dataOffset % read.alignment, 0);
        assert.deepEqual(read.tensors.map((t) => [t.name, t.dims, t.typeName]), tensors.map((t) => [t.name, t.dims, t.type]));
        for (const [i, info] of read.tensors.entries()) {
          assert.equal(info.offset % read.alignment, 0);
          const width = info.typeName === 'F32' ? 4 : 2;
          const view = new DataView(bytes.buffer, bytes.byteOffset + info.offset, info.byteLength);
          const values = Array.from({ length: tensors[i]!.data.length }, (_, k) =>
            width === 4 ? view.getFloat32(k * 4, true) : float16BitsToFloat32(view.getUint16(k * 2, true)));
          assert.deepEqual(values, Array.from(tensors[i]!.data));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('float32 -> float16 rounds to the nearest half, ties to even', () => {
  assert.equal(float32ToFloat16Bits(1), 0x3c00);
  assert.equal(float32ToFloat16Bits(-2), 0xc000);
  assert.equal(float32ToFloat16Bits(65504), 0x7bff);
  assert.equal(float32ToFloat16Bits(65520), 0x7c00); // rounds up to infinity
  assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001); // smallest subnormal
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  fc.assert(fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
    const bits = float32ToFloat16Bits(x);
    const y = float16BitsToFloat32(bits);
    const neighbours = [bits - 1, bits + 1].filter((b) => (b & 0x7fff) < 0x7c00).map(float16BitsToFloat32);
    for (const z of neighbours) assert.ok(Math.abs(x - y) <= Math.abs(x - z), `${x}: ${y} is not the nearest (${z} is nearer)`);
  }), { numRuns: 2000 });
});

test('readGguf reads a tiny model from disk: metadata, quantization, F16 and F32 tensors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-gguf-'));
  try {
    const file = path.join(dir, 'tiny.gguf');
    const content = tinyGgufContent('llama', 3);
    writeGgufFile(file, content);
    const read = readGguf(file);
    assert.equal(checkedArchitecture(read), 'llama');
    assert.equal(quantizationName(read), 'F16');
    const embd = content.tensors.find((t) => t.name === 'token_embd.weight')!;
    const back = readTensor(read, 'token_embd.weight');
    assert.equal(back.length, embd.data.length);
    for (let i = 0; i < back.length; i += 97) assert.ok(Math.abs(back[i]! - embd.data[i]!) <= Math.abs(embd.data[i]!) * 2 ** -10 + 2 ** -24);
    assert.deepEqual(readTensor(read, 'output.weight'), content.tensors.find((t) => t.name === 'output.weight')!.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not GGUF, a truncated one and an unknown architecture are one GgufError naming the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-gguf-'));
  try {
    const notGguf = path.join(dir, 'model.safetensors');
    writeFileSync(notGguf, '{"__metadata__":{}}');
    assert.throws(() => readGguf(notGguf), (e: unknown) => e instanceof GgufError && /model\.safetensors: not a GGUF file \(it starts with 7b 22/.test(e.message));
    const empty = path.join(dir, 'empty.gguf');
    writeFileSync(empty, '');
    assert.throws(() => readGguf(empty), /empty\.gguf: not a GGUF file \(it is empty/);
    assert.throws(() => readGguf(path.join(dir, 'absent.gguf')), /absent\.gguf: no such file/);

    const whole = encodeGguf(tinyGgufContent('gemma2'));
    // Cut anywhere: in the header, the metadata, the tensor infos or the tensor data.
    fc.assert(fc.property(fc.integer({ min: 4, max: whole.length - 1 }), (cut) => {
      assert.throws(() => parseGguf(whole.subarray(0, cut), 'cut.gguf'), (e: unknown) =>
        e instanceof GgufError && /^cut\.gguf: truncated/.test(e.message) && !e.message.includes('\n'));
    }), { numRuns: 200, examples: [[whole.length - 1], [4], [whole.length - 32]] });

    const content = tinyGgufContent('llama');
    const metadata = new Map(content.metadata);
    metadata.set('general.architecture', gguf.string('llama9'));
    const unknown = path.join(dir, 'llama9.gguf');
    writeFileSync(unknown, encodeGguf({ metadata, tensors: content.tensors }));
    assert.throws(() => checkedArchitecture(readGguf(unknown)),
      /llama9\.gguf, field "general\.architecture": "llama9" is not an architecture that this llama\.cpp/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the architectures are node-llama-cpp's own list (GgufArchitectureType of the pinned version)", () => {
  const source = readFileSync(path.join('node_modules', 'node-llama-cpp', 'dist', 'gguf', 'types', 'GgufMetadataTypes.js'), 'utf8');
  // Less their placeholders: "(unknown)", and "clip", the vision projector files that are not language models.
  const theirs = new Set([...source.matchAll(/GgufArchitectureType\["[^"]+"\] = "([^"]+)"/g)].map((m) => m[1]!)
    .filter((name) => name !== '(unknown)' && name !== 'clip'));
  assert.ok(theirs.size > 50);
  assert.deepEqual([...LLAMA_CPP_ARCHITECTURES].sort(), [...theirs].sort());
});
