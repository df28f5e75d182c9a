/**
 * The OpenBLAS products of the wasm backend (lib/tensor/blas.ts, native/blas-gemm.c): the same
 * values as a float64 product for every shape, transpose and batch broadcast tf.matMul allows, bit for
 * bit the same on every call, and the addon refuses what would read or write outside its buffer.
 * Without the built addon these tests skip and say why; CI builds it and sets HANLAB_GEMM=openblas.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { BLAS_ADDON, BLAS_ADDON_RECORD, bufferProducts, loadBlasAddon, withProductThreads, type BlasAddon } from '../../lib/tensor/blas.js';
import { initBackend } from '../../lib/backend/index.js';

const ROOT = process.cwd();
const built = existsSync(path.join(ROOT, BLAS_ADDON));
const skip =
  process.env.HANLAB_GEMM === 'wasm'
    ? 'HANLAB_GEMM=wasm: the products are XNNPACK\'s'
    : built
      ? false
      : `${BLAS_ADDON} is not built (npm run build:native needs libopenblas-dev)`;
if (!built && process.env.HANLAB_GEMM === 'openblas') throw new Error(`HANLAB_GEMM=openblas but ${skip}`);

/** op(A) · op(B) in float64, batch by batch; an operand with one batch is shared by all. */
function reference(a: Float32Array, b: Float32Array, batchA: number, batchB: number, m: number, n: number, k: number, tA: boolean, tB: boolean): Float64Array {
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = batchA === 1 ? 0 : p * m * k;
    const bo = batchB === 1 ? 0 : p * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let l = 0; l < k; l++) sum += a[ao + (tA ? l * m + i : i * k + l)] * b[bo + (tB ? j * k + l : l * n + j)];
        out[p * m * n + i * n + j] = sum;
      }
  }
  return out;
}

const shapeCase = fc.record({
  m: fc.integer({ min: 0, max: 24 }),
  n: fc.integer({ min: 0, max: 24 }),
  k: fc.integer({ min: 0, max: 40 }),
  batch: fc.integer({ min: 1, max: 3 }),
  shareA: fc.boolean(),
  shareB: fc.boolean(),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 20 }),
});

describe('OpenBLAS products on the wasm backend', { skip }, () => {
  test('initBackend puts OpenBLAS under tf.matMul, with a pinned kernel and one thread, and leaves the environment as it was', async () => {
    const before = { threads: process.env.OPENBLAS_NUM_THREADS, core: process.env.OPENBLAS_CORETYPE };
    const device = await initBackend({ prefer: 'wasm' });
    assert.equal(device.wasm?.gemm.products, 'openblas');
    assert.equal(device.wasm?.gemm.openblas?.threads, 1);
    assert.match(device.wasm?.gemm.openblas?.config ?? '', /OpenBLAS/);
    const avx2 = process.arch === 'x64' && /^flags\s*:.*\bavx2\b.*$/m.test(readFileSync('/proc/cpuinfo', 'latin1'));
    if (before.core === undefined && avx2) assert.equal(device.wasm?.gemm.openblas?.core, 'Haswell');
    // Programs started later (a notebook's Python) keep the user's OpenBLAS settings.
    assert.deepEqual({ threads: process.env.OPENBLAS_NUM_THREADS, core: process.env.OPENBLAS_CORETYPE }, before);
  });

  test('tf.matMul equals a float64 product for every shape, transpose and shared operand', async () => {
    await initBackend({ prefer: 'wasm' });
    fc.assert(
      fc.property(shapeCase, ({ m, n, k, batch, shareA, shareB, transposeA, transposeB, seed }) => {
        const batchA = shareA ? 1 : batch;
        const batchB = shareB ? 1 : batch;
        const aShape = [...(batchA > 1 || batch > 1 ? [batchA] : []), ...(transposeA ? [k, m] : [m, k])];
        const bShape = [...(batchB > 1 || batch > 1 ? [batchB] : []), ...(transposeB ? [n, k] : [k, n])];
        tf.tidy(() => {
          const a = tf.randomUniform(aShape, -2, 2, 'float32', seed);
          const b = tf.randomUniform(bShape, -2, 2, 'float32', seed + 1);
          const product = tf.matMul(a, b, transposeA, transposeB);
          const expectedShape = [...(aShape.length === 3 ? [Math.max(batchA, batchB)] : []), m, n];
          assert.deepEqual(product.shape, expectedShape);
          const want = reference(a.dataSync() as Float32Array, b.dataSync() as Float32Array, batchA, batchB, m, n, k, transposeA, transposeB);
          const got = product.dataSync();
          for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + k), `element ${i}: ${got[i]} vs ${want[i]}`);
        });
      }),
      { numRuns: 300, seed: 17 },
    );
  });

  test('withProductThreads: OpenBLAS runs the products on that many threads inside, on one again after (also when the work throws); the values hold', async () => {
    await initBackend({ prefer: 'wasm' });
    const addon = loadBlasAddon(ROOT) as BlasAddon;
    const a = tf.randomNormal([300, 700], 0, 1, 'float32', 5);
    const b = tf.randomNormal([700, 500], 0, 1, 'float32', 6);
    const two = await withProductThreads(2, async () => {
      assert.equal(addon.library().threads, 2);
      return tf.matMul(a, b).dataSync();
    });
    assert.equal(addon.library().threads, 1);
    const want = reference(a.dataSync() as Float32Array, b.dataSync() as Float32Array, 1, 1, 300, 500, 700, false, false);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(two[i] - want[i]) <= 1e-5 * 701, `element ${i}: ${two[i]} vs ${want[i]}`);
    await assert.rejects(withProductThreads(2, async () => { throw new RangeError('the work failed'); }), /the work failed/);
    assert.equal(addon.library().threads, 1);
    assert.throws(() => addon.setThreads(0), /setThreads takes one integer from 1 to 256/);
    tf.dispose([a, b]);
  });

  test('the same product gives the same bits on every call, wherever its operands lie in the heap', async () => {
    await initBackend({ prefer: 'wasm' });
    const a = tf.randomNormal([333, 257], 0, 1, 'float32', 3);
    const b = tf.randomNormal([257, 129], 0, 1, 'float32', 4);
    const first = tf.matMul(a, b).dataSync();
    const moved = tf.tidy(() => {
      const padding = tf.zeros([12345]); // shifts where the copies land
      const result = tf.matMul(tf.clone(a), tf.clone(b)).dataSync();
      padding.dispose();
      return result;
    });
    assert.deepEqual(Buffer.from(moved.buffer), Buffer.from(first.buffer));
    tf.dispose([a, b]);
  });

  test('bufferProducts: the same bits as tf.matMul for every shape and transpose, operands anywhere in a caller\'s buffer', async () => {
    await initBackend({ prefer: 'wasm' });
    const product = bufferProducts();
    assert.ok(product, 'OpenBLAS runs the products, so bufferProducts has one');
    fc.assert(
      fc.property(shapeCase, fc.nat({ max: 7 }), ({ m, n, k, transposeA, transposeB, seed }, shift) => {
        tf.tidy(() => {
          const a = tf.randomUniform(transposeA ? [k, m] : [m, k], -2, 2, 'float32', seed);
          const b = tf.randomUniform(transposeB ? [n, k] : [k, n], -2, 2, 'float32', seed + 1);
          const want = tf.matMul(a, b, transposeA, transposeB).dataSync() as Float32Array;
          // Operands at odd places in one buffer, C filled with garbage that must all be overwritten.
          const memory = new Float32Array(shift + m * k + 3 + k * n + 5 + m * n);
          const at = { a: shift, b: shift + m * k + 3, c: shift + m * k + 3 + k * n + 5 };
          memory.set(a.dataSync(), at.a);
          memory.set(b.dataSync(), at.b);
          memory.fill(Number.NaN, at.c);
          product(memory.buffer, transposeA, transposeB, m, n, k, at.a, at.b, at.c);
          const got = memory.subarray(at.c, at.c + m * n);
          assert.deepEqual(Buffer.from(got.slice().buffer), Buffer.from(want.slice().buffer));
        });
      }),
      { numRuns: 200, seed: 29 },
    );
    assert.throws(() => product(new ArrayBuffer(16), false, false, 2, 2, 3, 0, 0, 0), /outside the memory buffer/);
  });

  test('gradients through the products match the plain JavaScript backend', async () => {
    await initBackend({ prefer: 'wasm' });
    const x = [[0.5, -1, 2], [1.5, 0.25, -0.75]];
    const w = [[1, 2], [-1, 0.5], [0.25, -2]];
    const gradients = () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))))([tf.tensor2d(x), tf.tensor2d(w)]).map((g) => g.arraySync() as number[][]);
    const onBlas = gradients();
    await initBackend({ prefer: 'cpu' });
    const onCpu = gradients();
    await initBackend({ prefer: 'wasm' });
    for (let t = 0; t < 2; t++)
      onCpu[t].forEach((row, i) => row.forEach((value, j) => assert.ok(Math.abs(onBlas[t][i][j] - value) < 1e-5, `gradient ${t}[${i}][${j}]`)));
  });

  test('the addon refuses an operand outside its buffer, bad arguments, and fills products over k = 0 with zeros', () => {
    const addon = loadBlasAddon(ROOT) as BlasAddon;
    assert.notEqual(typeof addon, 'string');
    const memory = new Float32Array(64);
    memory.fill(7);
    // m = n = 4, k = 0: the 16 outputs at offset 48 become zeros.
    addon.sgemm(memory.buffer, false, false, 4, 4, 0, 1, 0, 0, 0, 0, 48);
    assert.deepEqual(Array.from(memory.subarray(48)), new Array(16).fill(0));
    // A 4×8 A at offset 40 would end at 72 > 64.
    assert.throws(() => addon.sgemm(memory.buffer, false, false, 4, 4, 8, 1, 40, 0, 0, 0, 0), RangeError);
    // The second product's C would end past the buffer.
    assert.throws(() => addon.sgemm(memory.buffer, false, false, 4, 4, 1, 2, 0, 4, 0, 4, 40), RangeError);
    assert.throws(() => addon.sgemm(memory.buffer, false, false, -1, 4, 1, 1, 0, 0, 0, 0, 0), /m must be a non-negative integer/);
    assert.throws(() => (addon.sgemm as unknown as (...args: unknown[]) => void)(memory, false), /12 arguments/);
    assert.throws(() => (addon.sgemm as unknown as (...args: unknown[]) => void)(memory, false, false, 1, 1, 1, 1, 0, 0, 0, 0, 0), /must be an ArrayBuffer/);
  });
});

test('HANLAB_GEMM: wasm keeps XNNPACK, openblas without the addon is an error, auto says why it fell back', () => {
  const emptyRoot = mkdtempSync(path.join(tmpdir(), 'hanlab-blas-'));
  try {
    const script = `
      import * as tf from '@tensorflow/tfjs';
      import { installBlasProducts } from './lib/tensor/blas.ts';
      import { initBackend } from './lib/backend/index.ts';
      const root = ${JSON.stringify(emptyRoot)};
      process.env.HANLAB_GEMM = 'wasm';
      const device = await initBackend({ prefer: 'wasm' });
      const answers = { wasm: device.wasm.gemm, product: Array.from(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()) };
      process.env.HANLAB_GEMM = 'auto';
      answers.auto = installBlasProducts(root);
      process.env.HANLAB_GEMM = 'openblas';
      try { installBlasProducts(root); } catch (error) { answers.openblas = error.name + ': ' + error.message; }
      process.env.HANLAB_GEMM = 'fast';
      try { installBlasProducts(root); } catch (error) { answers.bogus = error.message; }
      console.log(JSON.stringify(answers));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, HANLAB_BACKEND: '' } });
    assert.equal(run.status, 0, run.stderr);
    const answers = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
    assert.deepEqual(answers.wasm, { products: 'xnnpack' });
    assert.deepEqual(answers.product, [11]);
    assert.equal(answers.auto.products, 'xnnpack');
    assert.match(answers.auto.reason, /native\/build\/blas-gemm\.node is not built \(npm run build:native; it needs Debian's libopenblas-dev\)/);
    assert.match(answers.openblas, /^GemmUnavailableError: HANLAB_GEMM=openblas, but native\/build\/blas-gemm\.node is not built/);
    assert.match(answers.bogus, /HANLAB_GEMM="fast" is not a choice; use auto, openblas or wasm/);
  } finally {
    rmSync(emptyRoot, { recursive: true, force: true });
  }
});

test('build:native without a C compiler says why in one line and goes on; --required (or HANLAB_GEMM=openblas) makes it an error', () => {
  const addon = path.join(ROOT, BLAS_ADDON);
  const before = existsSync(addon) ? statSync(addon).mtimeMs : undefined;
  const build = (args: string[], gemm: string) =>
    spawnSync(process.execPath, ['scripts/build-native.mjs', ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CC: '/nonexistent/cc', HANLAB_GEMM: gemm } });
  const lenient = build([], 'auto');
  assert.equal(lenient.status, 0, lenient.stderr);
  assert.match(
    lenient.stderr,
    /^hanlab: the OpenBLAS matrix products were not built \(no C compiler \(\/nonexistent\/cc\)\); training runs on the wasm backend's own matrix products, about half as fast\. On Debian: apt install gcc libopenblas-dev, then npm run build:native\n$/,
  );
  assert.equal(build(['--required'], 'auto').status, 1);
  assert.equal(build([], 'openblas').status, 1);
  // A failed build leaves the built addon as it was.
  assert.equal(existsSync(addon) ? statSync(addon).mtimeMs : undefined, before);
});

/** installBlasProducts(root), or with `load`, loadBlasAddon(root), in a child process (a damaged addon that did get loaded would kill it with SIGBUS). */
function gemmChoiceIn(root: string, gemm: string, call: 'install' | 'load' = 'install'): { status: number | null; signal: NodeJS.Signals | null; stderr: string; answer?: { products?: string; reason?: string; error?: string; loaded?: string } } {
  const script = `
    import { installBlasProducts, loadBlasAddon } from './lib/tensor/blas.ts';
    const root = ${JSON.stringify(root)};
    try { console.log(JSON.stringify(${call === 'load' ? "{ loaded: typeof loadBlasAddon(root) === 'string' ? loadBlasAddon(root) : 'addon' }" : 'installBlasProducts(root)'})); }
    catch (error) { console.log(JSON.stringify({ error: error.name + ': ' + error.message })); }`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, HANLAB_GEMM: gemm } });
  const last = run.stdout.trim().split('\n').at(-1);
  return { status: run.status, signal: run.signal, stderr: run.stderr, answer: last ? JSON.parse(last) : undefined };
}

test('a damaged addon (truncated, altered, or without its build record) is never loaded: auto falls back saying why, openblas fails in one line', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-blas-damaged-'));
  try {
    const addon = path.join(root, BLAS_ADDON);
    const record = path.join(root, BLAS_ADDON_RECORD);
    mkdirSync(path.dirname(addon), { recursive: true });
    // The real build when there is one (a truncated shared object is what crashed with SIGBUS), else bytes that stand for it.
    const whole = built ? readFileSync(path.join(ROOT, BLAS_ADDON)) : Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(16_000, 7)]);
    writeFileSync(addon, whole);
    writeFileSync(record, JSON.stringify({ size: whole.length, sha256: createHash('sha256').update(whole).digest('hex') }));
    const half = Math.floor(whole.length / 2);
    truncateSync(addon, half);
    const auto = gemmChoiceIn(root, 'auto');
    assert.equal(auto.status, 0, `${auto.signal ?? ''} ${auto.stderr}`);
    assert.deepEqual(auto.answer, { products: 'xnnpack', reason: `native/build/blas-gemm.node is damaged: ${half} bytes where the build wrote ${whole.length}; rebuild it with npm run build:native` });
    const strict = gemmChoiceIn(root, 'openblas');
    assert.equal(strict.status, 0, `${strict.signal ?? ''} ${strict.stderr}`);
    assert.equal(strict.answer?.error, `GemmUnavailableError: HANLAB_GEMM=openblas, but native/build/blas-gemm.node is damaged: ${half} bytes where the build wrote ${whole.length}; rebuild it with npm run build:native`);
    // Same size, one byte changed.
    const altered = Buffer.from(whole);
    altered[altered.length - 1] ^= 0xff;
    writeFileSync(addon, altered);
    assert.match(gemmChoiceIn(root, 'auto').answer?.reason ?? '', /is damaged: its SHA-256 differs from the one the build wrote/);
    rmSync(record);
    assert.match(gemmChoiceIn(root, 'auto').answer?.reason ?? '', /has no readable size and checksum record \(native\/build\/blas-gemm\.node\.json\), so it cannot be verified/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('build:native writes the size and checksum record, and --if-stale rebuilds an addon that no longer matches it', { skip: built ? false : skip }, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'hanlab-blas-rebuild-'));
  try {
    for (const file of ['scripts/build-native.mjs', 'native/blas-gemm.c']) {
      mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
      copyFileSync(path.join(ROOT, file), path.join(root, file));
    }
    const build = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs'), ...args], { encoding: 'utf8', cwd: root, env: { ...process.env, HANLAB_GEMM: 'openblas' } });
    const first = build('--quiet');
    assert.equal(first.status, 0, first.stderr);
    const addon = path.join(root, BLAS_ADDON);
    const written = JSON.parse(readFileSync(path.join(root, BLAS_ADDON_RECORD), 'utf8'));
    assert.deepEqual(written, { size: statSync(addon).size, sha256: createHash('sha256').update(readFileSync(addon)).digest('hex') });
    assert.equal(gemmChoiceIn(root, 'openblas', 'load').answer?.loaded, 'addon');
    truncateSync(addon, 1000);
    const again = build('--if-stale', '--quiet');
    assert.equal(again.status, 0, again.stderr);
    assert.equal(statSync(addon).size, written.size);
    assert.equal(gemmChoiceIn(root, 'openblas', 'load').answer?.loaded, 'addon');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
