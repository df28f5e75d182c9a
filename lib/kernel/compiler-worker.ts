/**
 * The compiler's thread (HANLAB_COMPILER_THREAD=on; off by default, tslab-engine.ts says why): tslab's converters (TypeScript's watch program over the cell, the declarations
 * of earlier cells, lib.es2022 and the project's @types) built in a worker thread that the kernel starts
 * before it binds its sockets. Building that program is the second that a first cell used to wait for
 * after the kernel said idle; in a thread of its own it overlaps with the kernel's start and with the
 * time the client takes to send its first cell. The converters are tslab's own, with tslab's options,
 * so cells are type-checked exactly as before; compiler-thread.ts calls them synchronously from the
 * kernel's thread, where tslab's executor needs their answers.
 *
 * Protocol: requests arrive on `port`; each reply is posted back on it, then `signal[0]` is bumped and
 * notified (the kernel's thread waits on it with Atomics.wait). `signal[1]` becomes 1 when this thread
 * exits, so that a waiting caller never waits for a reply that will not come.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { requireWithCodeCache, type CodeCacheStatus } from './code-cache.js';
import { tslabPaths } from './tslab-paths.js';

export interface CompilerWorkerData {
  root: string;
  port: MessagePort;
  /** [reply counter, thread gone] over a SharedArrayBuffer. */
  signal: Int32Array;
  /** The code-cache folder (code-cache.ts), "off" to load TypeScript without it. */
  codeCacheDir?: string;
}

export type ConverterName = 'node' | 'browser';
export type ConverterMethod = 'convert' | 'inspect' | 'complete' | 'addModule';

export interface CompilerRequest {
  converter: ConverterName;
  method: ConverterMethod;
  args: unknown[];
}

// String discriminants: lib/ also compiles under tslab's settings (no strictNullChecks), where a boolean one does not narrow.
export type CompilerReply = { outcome: 'value'; value: unknown } | { outcome: 'error'; error: { name: string; message: string; stack?: string } };

/** Posted once on parentPort when the node converter is built and has checked an empty cell. */
export type CompilerReady = { outcome: 'ready'; codeCache: CodeCacheStatus; ms: number } | { outcome: 'failed'; error: string };

type Converter = Record<ConverterMethod, (...args: unknown[]) => unknown> & { close(): void };

function serve(data: CompilerWorkerData): void {
  const started = performance.now();
  const { port, signal } = data;
  const paths = tslabPaths(data.root);
  // Before tslab's converter requires it: the converter then gets this module from require.cache.
  const typescript = requireWithCodeCache(paths.typescript, { dir: data.codeCacheDir });
  const require = createRequire(paths.dist('converter.js'));
  const { createConverter } = require(paths.dist('converter.js')) as { createConverter(options: { isJS: boolean; isBrowser: boolean }): Converter };
  const converters = new Map<ConverterName, Converter>();
  const converter = (name: ConverterName): Converter => {
    let found = converters.get(name);
    if (!found) converters.set(name, (found = createConverter({ isJS: false, isBrowser: name === 'browser' })));
    return found;
  };
  // An empty cell builds the type checker (merging every global declaration) before the first real one.
  converter('node').convert('', '');

  const reply = (message: CompilerReply) => {
    port.postMessage(message);
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  port.on('message', (request: CompilerRequest) => {
    try {
      reply({ outcome: 'value', value: converter(request.converter)[request.method](...request.args) });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      reply({ outcome: 'error', error: { name: failure.name, message: failure.message, stack: failure.stack } });
    }
  });
  port.on('close', () => {
    for (const each of converters.values()) each.close();
    process.exit(0);
  });
  parentPort!.postMessage({ outcome: 'ready', codeCache: typescript.status, ms: Math.round(performance.now() - started) } satisfies CompilerReady);
  // After "ready", so it never delays a cell: the cache now holds what building a program compiled.
  setImmediate(() => typescript.save());
}

if (parentPort && (workerData as { hanlabCompiler?: CompilerWorkerData } | undefined)?.hanlabCompiler) {
  const data = (workerData as { hanlabCompiler: CompilerWorkerData }).hanlabCompiler;
  // Whatever ends this thread, a caller waiting for a reply wakes up.
  process.on('exit', () => {
    Atomics.store(data.signal, 1, 1);
    Atomics.add(data.signal, 0, 1);
    Atomics.notify(data.signal, 0);
  });
  try {
    serve(data);
  } catch (error) {
    // One line for the kernel's log (Node's "Cannot find module" goes on with the require stack).
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    parentPort.postMessage({ outcome: 'failed', error: message } satisfies CompilerReady);
  }
}
