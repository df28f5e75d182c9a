/**
 * Writes GGUF version 3 files: metadata of every GGUF value type, F32 and F16 tensors, aligned as
 * `general.alignment` says (default 32). The tiny test models and the LoRA converter write through it.
 */
import { writeSync } from 'node:fs';
import { writeFileAtomically } from '../../atomic-file.js';
import {
  GGML_MAX_DIMS, GGML_TYPE_F16, GGML_TYPE_F32, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION,
  valueTypeCode, type GgufValueType,
} from './format.js';
import { float32ToFloat16Bits } from './float16.js';
import { checkItem, type GgufItem, type GgufMetadata, type GgufValue } from './values.js';

export interface GgufTensorToWrite {
  /** At most 63 UTF-8 bytes (ggml's GGML_MAX_NAME). */
  name: string;
  type: 'F32' | 'F16';
  /** ggml order: dims[0] is the contiguous one (a PyTorch [out, in] weight is [in, out] here). */
  dims: readonly number[];
  /** Row-major in PyTorch's order, i.e. dims[0] varies fastest. */
  data: Float32Array;
}

export interface GgufContent {
  metadata: GgufMetadata | Iterable<readonly [string, GgufValue]>;
  tensors: readonly GgufTensorToWrite[];
}

const encoder = new TextEncoder();

class ByteWriter {
  private chunks: Uint8Array[] = [];
  private current = new DataView(new ArrayBuffer(1 << 16));
  private used = 0;
  length = 0;

  private room(n: number): DataView {
    if (this.used + n > this.current.byteLength) {
      this.flush();
      this.current = new DataView(new ArrayBuffer(Math.max(1 << 16, n)));
    }
    return this.current;
  }
  private flush(): void {
    if (this.used) this.chunks.push(new Uint8Array(this.current.buffer, 0, this.used));
    this.current = new DataView(new ArrayBuffer(1 << 16));
    this.used = 0;
  }
  private advance(n: number): number {
    const at = this.used;
    this.used += n;
    this.length += n;
    return at;
  }
  u8(v: number): void { this.room(1).setUint8(this.advance(1), v); }
  i8(v: number): void { this.room(1).setInt8(this.advance(1), v); }
  u16(v: number): void { this.room(2).setUint16(this.advance(2), v, true); }
  i16(v: number): void { this.room(2).setInt16(this.advance(2), v, true); }
  u32(v: number): void { this.room(4).setUint32(this.advance(4), v, true); }
  i32(v: number): void { this.room(4).setInt32(this.advance(4), v, true); }
  f32(v: number): void { this.room(4).setFloat32(this.advance(4), v, true); }
  f64(v: number): void { this.room(8).setFloat64(this.advance(8), v, true); }
  u64(v: bigint | number): void { this.room(8).setBigUint64(this.advance(8), BigInt(v), true); }
  i64(v: bigint): void { this.room(8).setBigInt64(this.advance(8), v, true); }
  bytes(b: Uint8Array): void {
    this.flush();
    this.chunks.push(b);
    this.length += b.length;
  }
  string(s: string): void {
    const b = encoder.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad) this.bytes(new Uint8Array(pad));
  }
  result(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

function writeItem(w: ByteWriter, type: GgufValueType, item: GgufItem, where: string): void {
  checkItem(type, item, where);
  switch (type) {
    case 'uint8': return w.u8(item as number);
    case 'int8': return w.i8(item as number);
    case 'uint16': return w.u16(item as number);
    case 'int16': return w.i16(item as number);
    case 'uint32': return w.u32(item as number);
    case 'int32': return w.i32(item as number);
    case 'float32': return w.f32(item as number);
    case 'float64': return w.f64(item as number);
    case 'uint64': return w.u64(item as bigint);
    case 'int64': return w.i64(item as bigint);
    case 'bool': return w.u8(item ? 1 : 0);
    case 'string': return w.string(item as string);
    case 'array': {
      const array = item as Extract<GgufItem, { type: 'array' }>;
      w.u32(valueTypeCode(array.itemType));
      w.u64(array.items.length);
      array.items.forEach((sub, i) => writeItem(w, array.itemType, sub, `${where}[${i}]`));
    }
  }
}

function alignmentOf(metadata: GgufMetadata): number {
  const value = metadata.get('general.alignment');
  if (value === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (value.type !== 'uint32' || value.value <= 0 || (value.value & (value.value - 1)) !== 0) {
    throw new RangeError('GGUF general.alignment must be a uint32 power of two');
  }
  return value.value;
}

/** The whole file as bytes. */
export function encodeGguf(content: GgufContent): Buffer {
  const metadata: GgufMetadata = content.metadata instanceof Map ? content.metadata : new Map(content.metadata);
  const alignment = alignmentOf(metadata);
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(content.tensors.length);
  w.u64(metadata.size);
  for (const [key, value] of metadata) {
    w.string(key);
    w.u32(valueTypeCode(value.type));
    writeItem(w, value.type, value.type === 'array' ? value : value.value, `metadata "${key}"`);
  }
  const names = new Set<string>();
  let offset = 0;
  const payloads: Uint8Array[] = [];
  for (const tensor of content.tensors) {
    const where = `tensor "${tensor.name}"`;
    if (names.has(tensor.name)) throw new RangeError(`GGUF ${where}: written twice`);
    names.add(tensor.name);
    if (encoder.encode(tensor.name).length > 63) throw new RangeError(`GGUF ${where}: names are at most 63 bytes`);
    if (tensor.dims.length < 1 || tensor.dims.length > GGML_MAX_DIMS) throw new RangeError(`GGUF ${where}: 1 to ${GGML_MAX_DIMS} dims`);
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    if (!tensor.dims.every((d) => Number.isInteger(d) && d > 0) || elements !== tensor.data.length) {
      throw new RangeError(`GGUF ${where}: dims [${tensor.dims.join(', ')}] do not hold ${tensor.data.length} values`);
    }
    w.string(tensor.name);
    w.u32(tensor.dims.length);
    for (const d of tensor.dims) w.u64(d);
    w.u32(tensor.type === 'F32' ? GGML_TYPE_F32 : GGML_TYPE_F16);
    w.u64(offset);
    const payload = tensorBytes(tensor);
    payloads.push(payload);
    offset += Math.ceil(payload.length / alignment) * alignment;
  }
  w.padTo(alignment);
  for (const payload of payloads) {
    w.bytes(payload);
    w.padTo(alignment);
  }
  return w.result();
}

function tensorBytes(tensor: GgufTensorToWrite): Uint8Array {
  if (tensor.type === 'F32') {
    const out = new Uint8Array(tensor.data.length * 4);
    const view = new DataView(out.buffer);
    tensor.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return out;
  }
  const out = new Uint8Array(tensor.data.length * 2);
  const view = new DataView(out.buffer);
  tensor.data.forEach((v, i) => view.setUint16(i * 2, float32ToFloat16Bits(v), true));
  return out;
}

/** Writes the file whole or not at all (a temporary file renamed into place, synced first). */
export function writeGgufFile(file: string, content: GgufContent): void {
  const bytes = encodeGguf(content);
  writeFileAtomically(file, (fd) => writeSync(fd, bytes));
}
