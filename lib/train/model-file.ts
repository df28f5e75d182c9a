/**
 * One-file container for saved models and checkpoints: a JSON header (model description,
 * vocabulary, trainer state) and the weights as raw little-endian float32 arrays. Written to a
 * temporary file in the same directory, flushed, then renamed over the target, so a kill mid-write
 * leaves the previous file intact.
 *
 * Layout: "HANLAB1\n", uint32 header byte length, header JSON (UTF-8), zero padding to a multiple of
 * 4, then each array's float32 data in the order the header's `arrays` lists them.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, rmSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

const MAGIC = 'HANLAB1\n';

export interface ArrayEntry {
  name: string;
  length: number;
}

export function writeContainer(file: string, header: Record<string, unknown>, arrays: Record<string, Float32Array>): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const entries: ArrayEntry[] = Object.entries(arrays).map(([name, values]) => ({ name, length: values.length }));
  const headerBytes = Buffer.from(JSON.stringify({ ...header, arrays: entries }), 'utf8');
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  const padding = Buffer.alloc((4 - ((prefix.length + headerBytes.length) % 4)) % 4);
  const temp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, headerBytes);
    writeSync(fd, padding);
    for (const values of Object.values(arrays)) {
      const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
      writeSync(fd, littleEndian(bytes));
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, file);
}

export function readContainer(file: string): { header: Record<string, unknown>; arrays: Map<string, Float32Array> } {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    throw new InputError(`cannot read model file: ${(error as Error).message}`, { file }, { cause: error });
  }
  if (data.length < MAGIC.length + 4 || data.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new InputError('not a hanlab model or checkpoint file (bad magic bytes)', { file });
  }
  const headerLength = data.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(data.toString('utf8', headerStart, headerStart + headerLength));
  } catch (error) {
    throw new InputError('model file header is not valid JSON (truncated file?)', { file, field: 'header' }, { cause: error });
  }
  const entries = header.arrays as ArrayEntry[] | undefined;
  if (!Array.isArray(entries)) throw new InputError('model file header lists no arrays', { file, field: 'arrays' });
  let at = headerStart + headerLength;
  at += (4 - (at % 4)) % 4;
  const arrays = new Map<string, Float32Array>();
  for (const entry of entries) {
    const byteLength = entry.length * 4;
    if (at + byteLength > data.length) throw new InputError(`model file is truncated inside array "${entry.name}"`, { file, field: entry.name });
    // Copy into a fresh (4-byte aligned) buffer: the file buffer's offsets need not be aligned.
    const values = new Float32Array(entry.length);
    new Uint8Array(values.buffer).set(littleEndian(data.subarray(at, at + byteLength)));
    arrays.set(entry.name, values);
    at += byteLength;
  }
  if (at !== data.length) throw new InputError(`model file has ${data.length - at} unexpected trailing bytes`, { file });
  return { header, arrays };
}

const hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function littleEndian(bytes: Buffer | Uint8Array): Buffer {
  return hostIsLittleEndian ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.from(bytes).swap32();
}
