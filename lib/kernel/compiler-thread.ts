/**
 * The kernel's side of the compiler's thread (compiler-worker.ts): starts it, says when it is ready, and
 * gives tslab's executor converters whose methods answer synchronously, as tslab's own do (the executor
 * calls `convert` and uses its result in the same breath). A call posts the request, waits on a shared
 * counter with Atomics.wait and takes the reply with receiveMessageOnPort: the kernel's thread blocks
 * exactly as long as it used to compile in place, and not at all while the program is being built.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { CodeCacheStatus } from './code-cache.js';
import type { CompilerReady, CompilerReply, CompilerRequest, CompilerWorkerData, ConverterMethod, ConverterName } from './compiler-worker.js';

export interface CompilerThreadOptions {
  root: string;
  /** The code-cache folder (code-cache.ts); default: the user's. "off" disables it. */
  codeCacheDir?: string;
  /** Text the thread writes to its stdout/stderr (tslab prints the watch program's diagnostics there). */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export interface RemoteConverter {
  convert(prevDecl: string, src: string): unknown;
  inspect(prevDecl: string, src: string, position: number): unknown;
  complete(prevDecl: string, src: string, position: number): unknown;
  addModule(name: string, content: string, meta?: unknown): unknown;
  close(): void;
}

export class CompilerThread {
  /** Resolves when the node converter is built (with how the code cache served it); rejects when the thread failed to build it. */
  readonly ready: Promise<{ codeCache: CodeCacheStatus; ms: number }>;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;
  private closed = false;

  constructor(options: CompilerThreadOptions) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.signal = new Int32Array(new SharedArrayBuffer(8));
    const data: CompilerWorkerData = { root: options.root, port: port2, signal: this.signal, codeCacheDir: options.codeCacheDir };
    this.worker = startWorker({ hanlabCompiler: data }, [port2]);
    this.worker.unref();
    if (this.worker.stdout) this.worker.stdout.on('data', (chunk: Buffer) => (options.stdout ?? ((text) => process.stdout.write(text)))(chunk.toString('utf8')));
    if (this.worker.stderr) this.worker.stderr.on('data', (chunk: Buffer) => (options.stderr ?? ((text) => process.stderr.write(text)))(chunk.toString('utf8')));
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (message: CompilerReady) => (message.outcome === 'ready' ? resolve({ codeCache: message.codeCache, ms: message.ms }) : reject(new Error(`the compiler thread failed to start: ${message.error}`))));
      this.worker.once('error', (error) => reject(error));
      this.worker.once('exit', (code) => reject(new Error(`the compiler thread exited (code ${code}) before it was ready`)));
    });
    // Nobody may be waiting yet; the engine reads the outcome when it needs the compiler.
    this.ready.catch(() => undefined);
  }

  /** A converter living in the thread; its methods block until the thread answers. */
  converter(name: ConverterName): RemoteConverter {
    const call = (method: ConverterMethod, args: unknown[]) => this.call({ converter: name, method, args });
    return {
      convert: (prevDecl, src) => call('convert', [prevDecl, src]),
      inspect: (prevDecl, src, position) => call('inspect', [prevDecl, src, position]),
      complete: (prevDecl, src, position) => call('complete', [prevDecl, src, position]),
      addModule: (name, content, meta) => call('addModule', meta === undefined ? [name, content] : [name, content, meta]),
      // The converters close with the thread.
      close: () => undefined,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }

  private call(request: CompilerRequest): unknown {
    if (this.closed) throw new Error('the compiler thread is closed');
    const before = Atomics.load(this.signal, 0);
    this.port.postMessage(request);
    while (Atomics.load(this.signal, 0) === before) Atomics.wait(this.signal, 0, before);
    const received = receiveMessageOnPort(this.port);
    if (!received) throw new Error('the compiler thread stopped before it answered');
    const reply = received.message as CompilerReply;
    if (reply.outcome === 'value') return reply.value;
    const error = new Error(reply.error.message);
    error.name = reply.error.name;
    if (reply.error.stack) error.stack = reply.error.stack;
    throw error;
  }
}

/**
 * From the build (dist/), the worker is the compiled compiler-worker.js; from the sources, it is the
 * TypeScript file, which a worker can load only after registering tsx in its own thread.
 */
function startWorker(workerData: unknown, transferList: MessagePort[]): Worker {
  const options = { workerData, transferList, stdout: true, stderr: true };
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./compiler-worker.js', import.meta.url), options);
  const entry = new URL('./compiler-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { ...options, eval: true });
}
