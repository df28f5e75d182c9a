#!/usr/bin/env node
// `npm run build:native` (and before `npm start` / `npm test`, with --if-stale): compiles
// native/blas-gemm.c, the bridge from the wasm backend's matrix products to OpenBLAS
// (lib/tensor/blas.ts), into native/build/blas-gemm.node.
//
// One C file against Node-API needs no build system: the compiler is called directly, with Node's own
// headers (node-gyp would fetch headers from the internet where a Node install lacks them). Without a
// C compiler or Debian's libopenblas-dev the build is skipped with one line saying so, and hanlab runs
// the wasm backend's own products (slower, same results to rounding); `--required` makes that an error.
//
// Beside the addon the build writes blas-gemm.node.json, its size and SHA-256: lib/tensor/blas.ts
// checks them before loading it, because loading a damaged (truncated) shared object kills the process
// with SIGBUS, where no fallback can run. A build whose record is missing or does not match is stale.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'native', 'blas-gemm.c');
const target = path.join(root, 'native', 'build', 'blas-gemm.node');
const record = `${target}.json`;
const required = process.argv.includes('--required') || process.env.HANLAB_GEMM === 'openblas';
const quiet = process.argv.includes('--quiet');

/** The addon's size and checksum, as lib/tensor/blas.ts checks them. */
function describe(file) {
  const bytes = readFileSync(file);
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function matchesRecord() {
  try {
    const written = JSON.parse(readFileSync(record, 'utf8'));
    const actual = describe(target);
    return written.size === actual.size && written.sha256 === actual.sha256;
  } catch {
    return false;
  }
}

if (process.argv.includes('--if-stale') && existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs && matchesRecord()) process.exit(0);

const headers = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((dir) =>
  existsSync(path.join(dir, 'node_api.h')),
);
const compiler = process.env.CC || 'cc';
const staging = `${target}.tmp-${process.pid}`;
try {
  if (!headers) throw new Error(`Node's headers (node_api.h) are not beside ${process.execPath}`);
  mkdirSync(path.dirname(target), { recursive: true });
  execFileSync(compiler, ['-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', `-I${headers}`, source, '-lopenblas', '-o', staging], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Renamed into place: a process loading the addon meanwhile sees the old file or the new one (and,
  // for the moment between the two renames, a record that does not match it: it then falls back once).
  writeFileSync(`${staging}.json`, JSON.stringify(describe(staging)) + '\n');
  renameSync(staging, target);
  renameSync(`${staging}.json`, record);
  if (!quiet) console.error(`hanlab: built ${path.relative(root, target)} (OpenBLAS matrix products)`);
} catch (error) {
  rmSync(staging, { force: true });
  rmSync(`${staging}.json`, { force: true });
  const output = String(error.stderr ?? '').trim().split('\n').slice(-3).join(' / ');
  const why = error.code === 'ENOENT' ? `no C compiler (${compiler})` : output || error.message;
  const line = `hanlab: the OpenBLAS matrix products were not built (${why}); training runs on the wasm backend's own matrix products, about half as fast. On Debian: apt install gcc libopenblas-dev, then npm run build:native`;
  if (required) {
    console.error(line);
    process.exit(1);
  }
  console.error(line);
}
