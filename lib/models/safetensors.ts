/**
 * The safetensors format (Hugging Face's weight files): an 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the raw
 * little-endian tensor bytes. Sharded checkpoints add `model.safetensors.index.json`, whose
 * `weight_map` names the shard holding each tensor.
 *
 * Written by hand: the format is a header and a byte buffer, and no maintained npm package reads local
 * files (`@huggingface/hub` parses headers of remote files only; the `safetensors` npm names are
 * unrelated or unmaintained). Reading is per tensor (`readSync` at its offset), so a 1 GB checkpoint is
 * never held twice; float16 and bfloat16 weights are widened to float32.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { writeFileAtomically } from '../atomic-file.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The file holding it. */
  file: string;
  /** Absolute byte offset of its data in the file. */
  offset: number;
  byteLength: number;
}

/** A float tensor read as float32, row-major. */
export interface LoadedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** The tensors of one `.safetensors` file or of a sharded set, read on demand. */
export class SafetensorsArchive {
  private constructor(
    /** Every tensor, by name. A Map: names come from a file (`__proto__` is a possible key). */
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  /** Opens one file (header only). */
  static open(file: string): SafetensorsArchive {
    const { tensors, metadata } = readHeader(file);
    return new SafetensorsArchive(new Map(tensors.map((t) => [t.name, t])), metadata);
  }

  /** Opens a sharded checkpoint from its `model.safetensors.index.json`. */
  static openIndex(indexFile: string): SafetensorsArchive {
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(indexFile, 'utf8'));
    } catch (error) {
      throw new InputError(`cannot read the shard index: ${(error as Error).message}`, { file: indexFile }, { cause: error });
    }
    const weightMap = (index as { weight_map?: unknown })?.weight_map;
    if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
      throw new InputError('has no "weight_map" object (expected {"weight_map": {"tensor name": "model-00001-of-0000N.safetensors"}})', { file: indexFile, field: 'weight_map' });
    }
    const dir = path.dirname(indexFile);
    const shards = new Map<string, Map<string, TensorInfo>>();
    const tensors = new Map<string, TensorInfo>();
    for (const [name, shardName] of Object.entries(weightMap as Record<string, unknown>)) {
      if (typeof shardName !== 'string' || shardName.includes('/') || shardName.includes('\\')) {
        throw new InputError(`shard of tensor "${name}" must be a file name in the same folder, got ${JSON.stringify(shardName)}`, { file: indexFile, field: `weight_map.${name}` });
      }
      const shardFile = path.join(dir, shardName);
      let shard = shards.get(shardFile);
      if (!shard) {
        if (!existsSync(shardFile)) throw new InputError(`names shard ${shardName}, which is missing (download every shard)`, { file: indexFile, field: `weight_map.${name}` });
        shard = new Map(readHeader(shardFile).tensors.map((t) => [t.name, t]));
        shards.set(shardFile, shard);
      }
      const info = shard.get(name);
      if (!info) throw new InputError(`says tensor "${name}" is in ${shardName}, but that shard has no such tensor`, { file: indexFile, field: `weight_map.${name}` });
      tensors.set(name, info);
    }
    return new SafetensorsArchive(tensors, {});
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo | undefined {
    return this.tensors.get(name);
  }

  /** Reads one float tensor as float32. */
  read(name: string): LoadedTensor {
    const info = this.tensors.get(name);
    if (!info) throw new InputError(`has no tensor "${name}"`, { file: this.describeFiles() });
    if (!FLOAT_DTYPES.has(info.dtype)) throw new InputError(`tensor "${name}" is ${info.dtype}, not a float tensor`, { file: info.file, field: name });
    const bytes = Buffer.alloc(info.byteLength);
    const fd = openSync(info.file, 'r');
    try {
      let done = 0;
      while (done < info.byteLength) {
        const n = readSync(fd, bytes, done, info.byteLength - done, info.offset + done);
        if (n === 0) throw new InputError(`is truncated inside tensor "${name}"`, { file: info.file, field: name });
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return { name, shape: [...info.shape], values: toFloat32(bytes, info.dtype) };
  }

  private describeFiles(): string {
    return [...new Set([...this.tensors.values()].map((t) => t.file))].join(', ') || '(empty checkpoint)';
  }
}

function readHeader(file: string): { tensors: TensorInfo[]; metadata: Record<string, string> } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new InputError(`cannot open weights: ${(error as Error).message}`, { file }, { cause: error });
  }
  try {
    const size = fstatSync(fd).size;
    const prefix = Buffer.alloc(8);
    if (size < 8 || readSync(fd, prefix, 0, 8, 0) !== 8) throw new InputError('is not a safetensors file (shorter than its 8-byte header length)', { file });
    // Kept as a bigint until checked: a corrupt prefix can exceed 2^53, which a number would misprint.
    const declaredLength = prefix.readBigUInt64LE(0);
    // The Rust reference implementation caps headers at 100 MB; a larger value means a corrupt or foreign file.
    if (declaredLength < 2n || declaredLength > 100_000_000n || 8n + declaredLength > BigInt(size)) {
      throw new InputError(`is not a safetensors file (header length ${declaredLength} for a ${size}-byte file)`, { file });
    }
    const headerLength = Number(declaredLength);
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBytes.toString('utf8'));
    } catch (error) {
      throw new InputError(`safetensors header is not JSON: ${(error as Error).message}`, { file, field: 'header' }, { cause: error });
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new InputError('safetensors header is not a JSON object', { file, field: 'header' });
    const dataStart = 8 + headerLength;
    const dataLength = size - dataStart;
    const tensors: TensorInfo[] = [];
    const spans: { name: string; begin: number; end: number }[] = [];
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = Object.assign(Object.create(null), raw as Record<string, string>);
        continue;
      }
      const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const dtype = entry?.dtype;
      if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw new InputError(`tensor has unsupported dtype ${JSON.stringify(dtype)}`, { file, field: name });
      const shape = entry.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new InputError('tensor shape is not a list of sizes', { file, field: name });
      const offsets = entry.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
        throw new InputError(`tensor data_offsets ${JSON.stringify(offsets)} are not two whole byte offsets [begin, end]`, { file, field: name });
      }
      if (offsets[1] < offsets[0] || offsets[1] > dataLength) {
        throw new InputError(`tensor data_offsets ${JSON.stringify(offsets)} fall outside the ${dataLength} data bytes`, { file, field: name });
      }
      const elements = (shape as number[]).reduce((a, b) => a * b, 1);
      const byteLength = offsets[1] - offsets[0];
      if (byteLength !== elements * DTYPE_BYTES[dtype]) {
        throw new InputError(`tensor holds ${byteLength} bytes but ${dtype}[${shape.join('×')}] needs ${elements * DTYPE_BYTES[dtype]}`, { file, field: name });
      }
      tensors.push({ name, dtype: dtype as SafetensorsDtype, shape: shape as number[], file, offset: dataStart + offsets[0], byteLength });
      spans.push({ name, begin: offsets[0], end: offsets[1] });
    }
    checkContiguous(spans, dataLength, file);
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/**
 * The format requires the tensors' byte ranges, in offset order, to tile the data section exactly: the
 * first begins at 0, each begins where the one before ends, the last ends at the end of the file (the
 * Rust reference's `validate`). Overlaps would let two tensors share bytes; gaps and trailing bytes
 * mean a damaged or foreign file.
 */
function checkContiguous(spans: { name: string; begin: number; end: number }[], dataLength: number, file: string): void {
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: string | null = null;
  for (const span of spans) {
    if (span.begin < expected) {
      throw new InputError(`tensor data_offsets [${span.begin}, ${span.end}] overlap tensor "${previous}" (which ends at ${expected}); tensors may not share bytes`, { file, field: span.name });
    }
    if (span.begin > expected) {
      throw new InputError(`tensor data_offsets [${span.begin}, ${span.end}] leave bytes ${expected}…${span.begin - 1} unused${previous === null ? ' before the first tensor' : ` after tensor "${previous}"`}; the format requires contiguous offsets`, { file, field: span.name });
    }
    expected = span.end;
    previous = span.name;
  }
  if (expected !== dataLength) {
    throw new InputError(`the tensors' data_offsets end at byte ${expected}, but the file holds ${dataLength} data bytes (truncated header or trailing bytes)`, { file, field: previous ?? 'header' });
  }
}

function toFloat32(bytes: Buffer, dtype: SafetensorsDtype): Float32Array {
  // Copy into a fresh buffer first: typed views need aligned offsets.
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (!littleEndianHost) throw new Error('safetensors: big-endian hosts are not supported');
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(aligned.buffer));
    case 'F16': {
      const halves = new Uint16Array(aligned.buffer);
      const out = new Float32Array(halves.length);
      for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const halves = new Uint16Array(aligned.buffer);
      const words = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) words[i] = halves[i] << 16;
      return new Float32Array(words.buffer);
    }
    default:
      throw new Error(`not a float dtype: ${dtype}`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** A float32 tensor to write. */
export interface TensorToWrite {
  shape: readonly number[];
  values: Float32Array;
}

/**
 * Writes float32 tensors as one safetensors file, atomically (temp file, fsync, rename). Tensors are
 * laid out in name order and the header is space-padded to a multiple of 8 bytes, as the reference
 * implementation does; `metadata` defaults to `{"format": "pt"}`, which transformers and PEFT require.
 */
export function writeSafetensors(file: string, tensors: ReadonlyMap<string, TensorToWrite> | Record<string, TensorToWrite>, metadata: Record<string, string> = { format: 'pt' }): void {
  const entries: [string, TensorToWrite][] = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, tensor] of entries) {
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (elements !== tensor.values.length) throw new Error(`safetensors: tensor "${name}" has ${tensor.values.length} values for shape [${tensor.shape.join(', ')}]`);
    header[name] = { dtype: 'F32', shape: [...tensor.shape], data_offsets: [offset, offset + 4 * elements] };
    offset += 4 * elements;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomically(
    file,
    (fd) => {
      writeSync(fd, prefix);
      writeSync(fd, headerBytes);
      for (const [, tensor] of entries) writeSync(fd, new Uint8Array(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength));
    },
    { temporary: `${file}.tmp-${process.pid}-${Date.now()}` },
  );
}
