/**
 * Reads a GGUF file's header: version, metadata (typed, in file order) and tensor infos, checking
 * everything llama.cpp would trip over before it sees the file, so that a user reads one line naming
 * the file (not a GGUF file, truncated, an architecture llama.cpp does not know) instead of a crash.
 * Tensor data is not read unless asked for (`readTensor`), so a 5 GB model's header reads in
 * milliseconds.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../../errors.js';
import {
  FILE_TYPE_NAMES, GGML_MAX_DIMS, GGML_TYPES, GGML_TYPE_F16, GGML_TYPE_F32, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC,
  GGUF_VALUE_TYPES, LLAMA_CPP_ARCHITECTURES, tensorByteLength, type GgufValueType,
} from './format.js';
import { float16BitsToFloat32 } from './float16.js';
import type { GgufItem, GgufMetadata, GgufValue } from './values.js';

/** A GGUF file hanlab cannot use; the message names the file and what is wrong. */
export class GgufError extends InputError {}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the contiguous one. */
  dims: number[];
  /** ggml_type code. */
  ggmlType: number;
  /** e.g. `F32`, `Q4_K`; `type N` for a code this reader does not know. */
  typeName: string;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Undefined for a type this reader does not know. */
  byteLength: number | undefined;
}

export interface GgufFile {
  file: string;
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Where the tensor data section starts. */
  dataOffset: number;
  size: number;
}

/** Random access to bytes: a file or a buffer. */
interface ByteSource {
  size: number;
  read(offset: number, length: number): Uint8Array;
}

const CHUNK = 1 << 20;
const decoder = new TextDecoder('utf-8', { fatal: true });
// Token strings of some real vocabularies are not valid UTF-8; llama.cpp takes their bytes as they are.
const lenientDecoder = new TextDecoder('utf-8');

class Cursor {
  position = 0;
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  private view = new DataView(this.chunk.buffer);
  /** What is being read, for the truncation message. */
  context = 'the header';

  constructor(private readonly source: ByteSource, private readonly fail: (detail: string) => never) {}

  get remaining(): number {
    return this.source.size - this.position;
  }

  private take(n: number): number {
    if (this.position + n > this.source.size) {
      this.fail(`truncated: the file ends at byte ${this.source.size} while reading ${this.context} (is the download complete?)`);
    }
    if (this.position < this.chunkStart || this.position + n > this.chunkStart + this.chunk.length) {
      this.chunk = this.source.read(this.position, Math.min(Math.max(n, CHUNK), this.source.size - this.position));
      this.chunkStart = this.position;
      this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    }
    const at = this.position - this.chunkStart;
    this.position += n;
    return at;
  }
  u8(): number {
    const at = this.take(1); // before reading this.view: take() may replace it
    return this.view.getUint8(at);
  }
  i8(): number {
    const at = this.take(1); // before reading this.view: take() may replace it
    return this.view.getInt8(at);
  }
  u16(): number {
    const at = this.take(2); // before reading this.view: take() may replace it
    return this.view.getUint16(at, true);
  }
  i16(): number {
    const at = this.take(2); // before reading this.view: take() may replace it
    return this.view.getInt16(at, true);
  }
  u32(): number {
    const at = this.take(4); // before reading this.view: take() may replace it
    return this.view.getUint32(at, true);
  }
  i32(): number {
    const at = this.take(4); // before reading this.view: take() may replace it
    return this.view.getInt32(at, true);
  }
  f32(): number {
    const at = this.take(4); // before reading this.view: take() may replace it
    return this.view.getFloat32(at, true);
  }
  f64(): number {
    const at = this.take(8); // before reading this.view: take() may replace it
    return this.view.getFloat64(at, true);
  }
  u64big(): bigint {
    const at = this.take(8); // before reading this.view: take() may replace it
    return this.view.getBigUint64(at, true);
  }
  i64big(): bigint {
    const at = this.take(8); // before reading this.view: take() may replace it
    return this.view.getBigInt64(at, true);
  }
  /** A uint64 that must be a count or size within the file. */
  u64(): number {
    const value = this.u64big();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.fail(`damaged: ${this.context} holds the count ${value}, more than any file can hold`);
    }
    return Number(value);
  }
  bytes(n: number): Uint8Array {
    if (n > this.remaining) this.take(n); // fails with the truncation message
    if (n > CHUNK) {
      const out = this.source.read(this.position, n);
      this.position += n;
      return out;
    }
    const at = this.take(n);
    return this.chunk.subarray(at, at + n);
  }
  string(lenient: boolean): string {
    const length = this.u64();
    const bytes = this.bytes(length);
    try {
      return (lenient ? lenientDecoder : decoder).decode(bytes);
    } catch {
      return this.fail(`damaged: ${this.context} is not UTF-8`);
    }
  }
}

function fileSource(file: string): { source: ByteSource; close(): void } {
  const fd = openSync(file, 'r');
  const size = fstatSync(fd).size;
  return {
    source: {
      size,
      read(offset, length) {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0) break;
          done += n;
        }
        return out.subarray(0, done);
      },
    },
    close: () => closeSync(fd),
  };
}

/** Reads the header of a GGUF file. Throws GgufError (an InputError naming the file) for bad files. */
export function readGguf(file: string): GgufFile {
  let opened: ReturnType<typeof fileSource>;
  try {
    opened = fileSource(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GgufError(code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a GGUF file' : `cannot be read (${code ?? String(error)})`, { file });
  }
  try {
    return parse(opened.source, file);
  } finally {
    opened.close();
  }
}

/** The same for bytes in memory; `name` is what error messages call them. */
export function parseGguf(bytes: Uint8Array, name = 'GGUF bytes'): GgufFile {
  return parse({ size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) }, name);
}

function parse(source: ByteSource, file: string): GgufFile {
  const fail = (detail: string): never => {
    throw new GgufError(detail, { file });
  };
  if (source.size < 4 || readMagic(source) !== GGUF_MAGIC) {
    const start = Array.from(source.read(0, Math.min(8, source.size)), (b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(`not a GGUF file (${source.size === 0 ? 'it is empty' : `it starts with ${start}`}; a GGUF file starts with "GGUF")`);
  }
  const c = new Cursor(source, fail);
  c.u32();
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    fail(`GGUF version ${version}, which llama.cpp does not read (it reads versions 2 and 3${version === 1 ? '; convert the file again with a current llama.cpp' : ''})`);
  }
  c.context = 'the tensor count';
  const tensorCount = c.u64();
  c.context = 'the metadata count';
  const metadataCount = c.u64();
  // Every key-value pair takes at least 12 bytes and every tensor info 24: a count beyond that is damage.
  if (metadataCount * 12 + tensorCount * 24 > c.remaining) {
    fail(`truncated or damaged: the header announces ${metadataCount} metadata keys and ${tensorCount} tensors, more than the file's ${source.size} bytes can hold`);
  }
  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < metadataCount; i++) {
    c.context = `metadata key ${i + 1} of ${metadataCount}`;
    const key = c.string(false);
    c.context = `the value of metadata "${key}"`;
    const type = valueType(c.u32(), c, fail);
    const value = readValue(c, type, fail);
    if (metadata.has(key)) fail(`damaged: metadata "${key}" appears twice`);
    metadata.set(key, value);
  }
  const alignmentValue = metadata.get('general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (alignmentValue !== undefined) {
    if (alignmentValue.type !== 'uint32' || alignmentValue.value === 0 || (alignmentValue.value & (alignmentValue.value - 1)) !== 0) {
      fail('field "general.alignment": must be a uint32 power of two');
    }
    alignment = (alignmentValue as { value: number }).value;
  }
  const tensors: GgufTensorInfo[] = [];
  const relativeOffsets: number[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    c.context = `tensor info ${i + 1} of ${tensorCount}`;
    const name = c.string(false);
    c.context = `the info of tensor "${name}"`;
    const nDims = c.u32();
    if (nDims < 1 || nDims > GGML_MAX_DIMS) fail(`damaged: tensor "${name}" has ${nDims} dimensions (ggml allows 1 to ${GGML_MAX_DIMS})`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64());
    const ggmlType = c.u32();
    const relative = c.u64();
    if (names.has(name)) fail(`damaged: tensor "${name}" appears twice`);
    names.add(name);
    if (relative % alignment !== 0) fail(`damaged: tensor "${name}" starts at offset ${relative}, not a multiple of the alignment ${alignment}`);
    const elements = dims.reduce((a, b) => a * b, 1);
    tensors.push({
      name, dims, ggmlType, typeName: GGML_TYPES[ggmlType]?.name ?? `type ${ggmlType}`,
      offset: 0, byteLength: tensorByteLength(ggmlType, elements),
    });
    relativeOffsets.push(relative);
  }
  const dataOffset = Math.ceil(c.position / alignment) * alignment;
  tensors.forEach((tensor, i) => {
    tensor.offset = dataOffset + relativeOffsets[i]!;
    // llama.cpp reads each tensor's data padded to the alignment, the last one's too.
    const end = tensor.offset + Math.ceil((tensor.byteLength ?? 0) / alignment) * alignment;
    if (end > source.size) {
      fail(`truncated: tensor "${tensor.name}" needs bytes up to ${end} but the file ends at byte ${source.size} (is the download complete?)`);
    }
  });
  return { file, version, metadata, tensors, alignment, dataOffset, size: source.size };
}

function readMagic(source: ByteSource): number {
  const b = source.read(0, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

function valueType(code: number, c: Cursor, fail: (detail: string) => never): GgufValueType {
  const type = GGUF_VALUE_TYPES[code];
  if (type === undefined) fail(`damaged: ${c.context} has the unknown value type ${code}`);
  return type!;
}

function readValue(c: Cursor, type: GgufValueType, fail: (detail: string) => never): GgufValue {
  if (type === 'array') {
    const itemType = valueType(c.u32(), c, fail);
    const count = c.u64();
    const minimum = itemType === 'string' || itemType === 'uint64' || itemType === 'int64' || itemType === 'float64' ? 8
      : itemType === 'array' ? 12 : itemType === 'uint32' || itemType === 'int32' || itemType === 'float32' ? 4
        : itemType === 'uint16' || itemType === 'int16' ? 2 : 1;
    if (count * minimum > c.remaining) {
      fail(`truncated: ${c.context} announces ${count} items, more than the rest of the file holds (is the download complete?)`);
    }
    const items: GgufItem[] = new Array(count);
    for (let i = 0; i < count; i++) {
      items[i] = itemType === 'array' ? (readValue(c, 'array', fail) as GgufItem) : readScalar(c, itemType);
    }
    return { type: 'array', itemType, items };
  }
  return { type, value: readScalar(c, type) } as GgufValue;
}

function readScalar(c: Cursor, type: Exclude<GgufValueType, 'array'>): number | bigint | boolean | string {
  switch (type) {
    case 'uint8': return c.u8();
    case 'int8': return c.i8();
    case 'uint16': return c.u16();
    case 'int16': return c.i16();
    case 'uint32': return c.u32();
    case 'int32': return c.i32();
    case 'float32': return c.f32();
    case 'float64': return c.f64();
    case 'uint64': return c.u64big();
    case 'int64': return c.i64big();
    case 'bool': return c.u8() !== 0;
    case 'string': return c.string(true);
  }
}

/** A metadata value as a plain string/number, or undefined when the key is absent or of another kind. */
export function metadataString(gguf: GgufFile, key: string): string | undefined {
  const value = gguf.metadata.get(key);
  return value?.type === 'string' ? value.value : undefined;
}

export function metadataNumber(gguf: GgufFile, key: string): number | undefined {
  const value = gguf.metadata.get(key);
  if (value === undefined || value.type === 'array' || value.type === 'string' || value.type === 'bool') return undefined;
  return Number(value.value);
}

/** `general.file_type` as llama.cpp names it (`Q4_K_M`), when the file says. */
export function quantizationName(gguf: GgufFile): string | undefined {
  const code = metadataNumber(gguf, 'general.file_type');
  return code === undefined ? undefined : FILE_TYPE_NAMES[code] ?? `file type ${code}`;
}

/**
 * The file's `general.architecture`, checked against the architectures llama.cpp loads. A LoRA adapter
 * names its base model's architecture, so this holds for adapters too.
 */
export function checkedArchitecture(gguf: GgufFile): string {
  const architecture = gguf.metadata.get('general.architecture');
  if (architecture === undefined) {
    throw new GgufError('has no general.architecture, so llama.cpp cannot load it', { file: gguf.file, field: 'general.architecture' });
  }
  if (architecture.type !== 'string') {
    throw new GgufError(`is a ${architecture.type}, not a string`, { file: gguf.file, field: 'general.architecture' });
  }
  if (!LLAMA_CPP_ARCHITECTURES.has(architecture.value)) {
    throw new GgufError(
      `"${architecture.value}" is not an architecture that this llama.cpp (node-llama-cpp 3.22.1) knows (it knows llama, gemma2, gemma3, exaone, qwen2 and ${LLAMA_CPP_ARCHITECTURES.size - 5} more)`,
      { file: gguf.file, field: 'general.architecture' },
    );
  }
  return architecture.value;
}

/** The values of an F32 or F16 tensor, in ggml order (dims[0] fastest). */
export function readTensor(gguf: GgufFile, name: string): Float32Array {
  const tensor = gguf.tensors.find((t) => t.name === name);
  if (!tensor) throw new GgufError(`has no tensor "${name}"`, { file: gguf.file });
  if (tensor.ggmlType !== GGML_TYPE_F32 && tensor.ggmlType !== GGML_TYPE_F16) {
    throw new GgufError(`tensor "${name}" is ${tensor.typeName}; only F32 and F16 tensors can be read as numbers here`, { file: gguf.file });
  }
  const opened = fileSource(gguf.file);
  try {
    const bytes = opened.source.read(tensor.offset, tensor.byteLength!);
    if (bytes.length < tensor.byteLength!) throw new GgufError(`truncated: tensor "${name}" ends past the end of the file`, { file: gguf.file });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = tensor.dims.reduce((a, b) => a * b, 1);
    const out = new Float32Array(count);
    if (tensor.ggmlType === GGML_TYPE_F32) for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    else for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
    return out;
  } finally {
    opened.close();
  }
}
