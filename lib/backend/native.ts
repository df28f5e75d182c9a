/**
 * Loading the native TensorFlow backends (@tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node) into our
 * TensorFlow.js instance.
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
import { locatePackage, nativePackageProblem } from './probe.js';

export type NativePackage = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

// Not a discriminated union: tslab compiles lib/ without strictNullChecks, where `ok: true | false` does not narrow.
export interface NativeLoad {
  ok: boolean;
  /** The package version, when ok. */
  version?: string;
  /** Why not, when !ok. */
  reason?: string;
}

/** Loads the package so it registers the `tensorflow` backend with our tf instance. */
export function loadNativeBackend(name: NativePackage, root: string = process.cwd()): NativeLoad {
  const problem = nativePackageProblem(name, root);
  if (problem) return { ok: false, reason: problem };
  const version = locatePackage(name, root)?.version ?? 'unknown';
  if (tf.findBackend('tensorflow')) return { ok: true, version };
  try {
    createRequire(path.join(root, 'package.json'))(name);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `${name}@${version} failed to load: ${message.split('\n')[0].slice(0, 400)}` };
  }
  if (!tf.findBackend('tensorflow')) {
    return { ok: false, reason: `${name}@${version} loaded but registered no "tensorflow" backend (a second copy of @tensorflow/tfjs?)` };
  }
  return { ok: true, version };
}
