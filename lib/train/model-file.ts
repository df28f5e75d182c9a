/**
 * One-file container for saved models and checkpoints: a JSON header (model description,
 * vocabulary, trainer state) and the weights as raw little-endian float32 arrays, sealed by a
 * SHA-256 checksum so a damaged file is refused instead of loaded with wrong weights. Written to a
 * temporary file in the same directory, flushed, then renamed over the target, so a kill mid-write
 * leaves the previous file intact; temporaries left by killed writers are removed by the next write
 * (or `removeStaleTemporaries`).
 *
 * Layout: "HANLAB2\n", uint32 header byte length, header JSON (UTF-8), zero padding to a multiple of
 * 4, each array's float32 data in the order the header's `arrays` lists them, then the 32-byte SHA-256
 * of everything before it. Files in the first layout ("HANLAB1\n", no checksum) still read.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { processExists } from '../processes.js';
import { writeFileAtomically } from '../atomic-file.js';

const MAGIC = 'HANLAB2\n';
const MAGIC_WITHOUT_CHECKSUM = 'HANLAB1\n';
const CHECKSUM_BYTES = 32;

export interface ArrayEntry {
  name: string;
  length: number;
}

/** The file's bytes do not match their checksum, or its structure is broken (truncated, bad header). */
export class CorruptFileError extends InputError {}

export interface WriteOptions {
  /** Keep the file being replaced as `<file>.prev` (checkpoints fall back to it). */
  keepPrevious?: boolean;
}

/** The name `file` is kept under by `keepPrevious`. */
export function previousFile(file: string): string {
  return `${file}.prev`;
}

export function writeContainer(file: string, header: Record<string, unknown>, arrays: Record<string, Float32Array>, options: WriteOptions = {}): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  removeStaleTemporaries(file);
  const entries: ArrayEntry[] = Object.entries(arrays).map(([name, values]) => ({ name, length: values.length }));
  const headerBytes = Buffer.from(JSON.stringify({ ...header, arrays: entries }), 'utf8');
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  const padding = Buffer.alloc((4 - ((prefix.length + headerBytes.length) % 4)) % 4);
  const hash = createHash('sha256');
  const writeSealed = (fd: number) => {
    const write = (bytes: Uint8Array) => {
      hash.update(bytes);
      writeSync(fd, bytes);
    };
    write(prefix);
    write(headerBytes);
    write(padding);
    for (const values of Object.values(arrays)) write(littleEndian(Buffer.from(values.buffer, values.byteOffset, values.byteLength)));
    writeSync(fd, hash.digest());
  };
  // The temporary name carries the writer's pid: removeStaleTemporaries knows a killed writer's by it.
  writeFileAtomically(file, writeSealed, {
    temporary: `${file}.tmp-${process.pid}-${Date.now()}`,
    beforeReplace: () => {
      if (options.keepPrevious && existsSync(file)) renameSync(file, previousFile(file));
    },
  });
}

export function readContainer(file: string): { header: Record<string, unknown>; arrays: Map<string, Float32Array> } {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    throw new InputError(`cannot read model file: ${(error as Error).message}`, { file }, { cause: error });
  }
  const magic = data.length >= MAGIC.length + 4 ? data.toString('latin1', 0, MAGIC.length) : '';
  if (magic !== MAGIC && magic !== MAGIC_WITHOUT_CHECKSUM) {
    throw new InputError('not a hanlab model or checkpoint file (bad magic bytes)', { file });
  }
  const sealed = magic === MAGIC;
  const headerLength = data.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(data.toString('utf8', headerStart, headerStart + headerLength));
  } catch (error) {
    throw new CorruptFileError('model file header is not valid JSON (truncated or damaged file)', { file, field: 'header' }, { cause: error });
  }
  const entries = header.arrays as ArrayEntry[] | undefined;
  if (!Array.isArray(entries)) throw new CorruptFileError('model file header lists no arrays', { file, field: 'arrays' });
  let at = headerStart + headerLength;
  at += (4 - (at % 4)) % 4;
  const regions: { entry: ArrayEntry; at: number }[] = [];
  for (const entry of entries) {
    const byteLength = entry.length * 4;
    if (at + byteLength > data.length) throw new CorruptFileError(`model file is truncated inside array "${entry.name}"`, { file, field: entry.name });
    regions.push({ entry, at });
    at += byteLength;
  }
  const end = at + (sealed ? CHECKSUM_BYTES : 0);
  if (data.length < end) throw new CorruptFileError('model file is truncated inside its checksum', { file });
  if (data.length > end) throw new CorruptFileError(`model file has ${data.length - end} unexpected trailing bytes`, { file });
  if (sealed) {
    const expected = data.subarray(at, end);
    const actual = createHash('sha256').update(data.subarray(0, at)).digest();
    if (!actual.equals(expected)) {
      throw new CorruptFileError('checksum mismatch: the file is damaged (its bytes changed after it was written)', { file });
    }
  }
  const arrays = new Map<string, Float32Array>();
  for (const { entry, at: from } of regions) {
    // Copy into a fresh (4-byte aligned) buffer: the file buffer's offsets need not be aligned.
    const values = new Float32Array(entry.length);
    new Uint8Array(values.buffer).set(littleEndian(data.subarray(from, from + entry.length * 4)));
    arrays.set(entry.name, values);
  }
  return { header, arrays };
}

/**
 * Removes `<file>.tmp-<pid>-<time>` files whose writing process is gone (a writer killed mid-write
 * leaves its temporary behind; a live writer's is kept). Returns the names removed.
 */
export function removeStaleTemporaries(file: string): string[] {
  const dir = path.dirname(path.resolve(file));
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)-\d+$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processExists(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

const hostIsLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function littleEndian(bytes: Buffer | Uint8Array): Buffer {
  return hostIsLittleEndian ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.from(bytes).swap32();
}
