/**
 * Loading the native TensorFlow backends (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node).
 *
 * Both are optional: tfjs-node-gpu's install script downloads libtensorflow, which fails without
 * internet, so npm drops it (optionalDependency) or, where install scripts are not allowed, leaves
 * the package without its native binding. This project also aliases @tensorflow/tfjs-node to plain
 * @tensorflow/tfjs (package.json "overrides", for danfojs-node), so "the package loads" is never
 * proof of a native backend: we check that the `tensorflow` backend really got registered.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type NativePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

export type NativeLoad = { ok: true; version: string } | { ok: false; reason: string };

/** Resolves packages from the project root (the kernel's and CLI's working directory). */
function projectRequire(root: string = process.cwd()): NodeJS.Require {
  return createRequire(path.join(root, 'package.json'));
}

/** Where the package is installed, or undefined. Does not load it. */
export function locatePackage(name: string, root?: string): string | undefined {
  try {
    return path.dirname(projectRequire(root).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** Loads the package so it registers the `tensorflow` backend with our tf instance. */
export function loadNativeBackend(name: NativePackage, root?: string): NativeLoad {
  const dir = locatePackage(name, root);
  if (!dir) {
    return {
      ok: false,
      reason:
        name === '@tensorflow/tfjs-node-gpu'
          ? `${name} is not installed (it is an optional dependency whose install downloads libtensorflow; ` +
            'on a GPU host with internet run `npm install --include=optional` or `npm rebuild @tensorflow/tfjs-node-gpu`)'
          : `${name} is not installed`,
    };
  }
  const req = projectRequire(root);
  const pkg = req(`${name}/package.json`) as { name?: string; version?: string };
  if (pkg.name !== name) {
    return { ok: false, reason: `${name} resolves to ${pkg.name}@${pkg.version} (an npm alias), not the native package` };
  }
  if (tf.findBackend('tensorflow')) return { ok: true, version: pkg.version ?? 'unknown' };
  try {
    req(name);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const binding = /tfjs_binding\.node|native addon|libtensorflow/i.test(message);
    return {
      ok: false,
      reason: binding
        ? `${name}@${pkg.version} is installed without its native binding (its install script, which downloads ` +
          `libtensorflow, did not run or failed: run \`npm rebuild ${name}\` on a host with internet). Loader said: ${firstLine(message)}`
        : `${name}@${pkg.version} failed to load: ${firstLine(message)}`,
    };
  }
  if (!tf.findBackend('tensorflow')) {
    return { ok: false, reason: `${name}@${pkg.version} loaded but registered no "tensorflow" backend (a second copy of @tensorflow/tfjs?)` };
  }
  return { ok: true, version: pkg.version ?? 'unknown' };
}

function firstLine(text: string): string {
  return text.split('\n')[0].slice(0, 400);
}
