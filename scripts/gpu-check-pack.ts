/**
 * Builds what scripts/gpu-check.sh carries to a GPU host without a package registry: one folder (and
 * its .tar.xz, at most 64 MiB) that runs scripts/gpu-check.ts without node_modules.
 *
 *   node --import tsx scripts/gpu-check-pack.ts OUT_DIR [--with-node] [--with-vulkan-loader]
 *
 * In it: gpu-check.mjs (esbuild's bundle of scripts/gpu-check.ts and the lib/ it uses; esbuild ships
 * with tsx), the linux-x64 dawn.node only, tfjs-backend-wasm's .wasm files (the CPU side), the
 * tokenizers addon for linux-x64 (the one native package the encoder needs: too big to bundle all
 * platforms), the KLUE NER and NSMC files it reads, a small BERT checkpoint (made here with
 * scripts/make-tiny-checkpoint.ts, which needs python3-torch), gpu-check.sh itself, and on request this
 * machine's Node binary and Vulkan loader (for a host whose `ldconfig -p` lacks libvulkan.so.1).
 * Prints the archive's size; exits 1 when it is over the limit.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dawnBinary, locatePackage } from '../lib/backend/probe.js';
import { BERT_SIZES } from './gpu-check.js';
import { makeTinyCheckpoint } from './make-tiny-checkpoint.js';

export const CARRY_LIMIT_BYTES = 64 * 2 ** 20;

export async function packGpuCheck(out: string, options: { withNode?: boolean; withVulkanLoader?: boolean } = {}): Promise<{ archive: string; bytes: number }> {
  const root = process.cwd();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [path.join(root, 'scripts', 'gpu-check.ts')],
    outfile: path.join(out, 'gpu-check.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Native addons stay files beside the bundle; CommonJS inside an ES module needs a require.
    external: ['tokenizers', 'webgpu', '*.node'],
    // (tfjs-backend-wasm's Emscripten loader reads __dirname under Node.)
    banner: {
      js:
        "import { createRequire as __hanlabCreateRequire } from 'node:module'; import { fileURLToPath as __hanlabPath } from 'node:url'; " +
        "const require = __hanlabCreateRequire(import.meta.url); const __filename = __hanlabPath(import.meta.url); const __dirname = __hanlabPath(new URL('.', import.meta.url));",
    },
    logLevel: 'error',
    minify: true,
  });
  const dawn = dawnBinary(root);
  if ('problem' in dawn) throw new Error(dawn.problem);
  if (!dawn.path.includes('linux-x64')) throw new Error(`the GPU host is linux-x64; this machine's dawn.node is ${dawn.path}`);
  copyFileSync(dawn.path, path.join(out, 'dawn.node'));
  const wasm = locatePackage('@tensorflow/tfjs-backend-wasm', root);
  if (!wasm) throw new Error('@tensorflow/tfjs-backend-wasm is not installed');
  mkdirSync(path.join(out, 'wasm'));
  for (const file of readdirSync(path.join(wasm.dir, 'dist')).filter((name) => name.endsWith('.wasm'))) copyFileSync(path.join(wasm.dir, 'dist', file), path.join(out, 'wasm', file));
  const tokenizers = locatePackage('tokenizers', root);
  if (!tokenizers) throw new Error('tokenizers is not installed');
  const carriedTokenizers = path.join(out, 'node_modules', 'tokenizers');
  mkdirSync(carriedTokenizers, { recursive: true });
  for (const file of ['package.json', 'index.js', 'tokenizers.linux-x64-gnu.node']) copyFileSync(path.join(tokenizers.dir, file), path.join(carriedTokenizers, file));
  for (const file of ['klue-ner/klue-ner-v1.1_dev.tsv', 'nsmc/ratings_train.first14274.txt']) {
    mkdirSync(path.dirname(path.join(out, 'data', file)), { recursive: true });
    copyFileSync(path.join(root, 'data', file), path.join(out, 'data', file));
  }
  makeTinyCheckpoint({ arch: 'bert', out: path.join(out, 'bert'), seed: 7, head: 'seq:2', sizes: BERT_SIZES });
  copyFileSync(path.join(root, 'scripts', 'gpu-check.sh'), path.join(out, 'gpu-check.sh'));
  chmodSync(path.join(out, 'gpu-check.sh'), 0o755);
  if (options.withNode) {
    mkdirSync(path.join(out, 'node', 'bin'), { recursive: true });
    copyFileSync(process.execPath, path.join(out, 'node', 'bin', 'node'));
    chmodSync(path.join(out, 'node', 'bin', 'node'), 0o755);
  }
  if (options.withVulkanLoader) {
    const listed = spawnSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).stdout.split('\n').find((line) => /libvulkan\.so\.1 .*x86-64/.test(line));
    const loader = listed?.split('=>')[1]?.trim();
    if (!loader || !existsSync(loader)) throw new Error('this machine has no libvulkan.so.1 to carry (apt install libvulkan1)');
    mkdirSync(path.join(out, 'lib'));
    copyFileSync(realpathSync(loader), path.join(out, 'lib', 'libvulkan.so.1'));
  }
  const archive = `${out.replace(/\/$/, '')}.tar.xz`;
  const tar = spawnSync('tar', ['-C', path.dirname(out), '-cf', archive, '-I', 'xz -T2 -1', path.basename(out)], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  return { archive, bytes: statSync(archive).size };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'with-node': { type: 'boolean', default: false }, 'with-vulkan-loader': { type: 'boolean', default: false } } });
  const [out] = positionals;
  if (!out) {
    console.error('usage: gpu-check-pack.ts OUT_DIR [--with-node] [--with-vulkan-loader]');
    process.exit(2);
  }
  const { archive, bytes } = await packGpuCheck(path.resolve(out), { withNode: values['with-node'], withVulkanLoader: values['with-vulkan-loader'] });
  const mib = bytes / 2 ** 20;
  console.log(`${archive}: ${mib.toFixed(1)} MiB (limit ${CARRY_LIMIT_BYTES / 2 ** 20} MiB)`);
  if (bytes > CARRY_LIMIT_BYTES) process.exit(1);
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error) => {
    console.error(`gpu-check-pack: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
