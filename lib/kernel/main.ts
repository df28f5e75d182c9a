/**
 * The hanlab kernel process: reads Jupyter's connection file, binds the sockets, and runs the protocol
 * (kernel.ts) over tslab's TypeScript engine (tslab-engine.ts), gated for `hanlab-gpu` (gpu-gate.ts).
 * Started by kernels/launch-tslab.cjs from compiled JavaScript (or through tsx when the build is stale).
 *
 * It answers its first request before loading the compiler, so a front end sees it idle at once;
 * stdout/stderr of notebook code become `stream` output of the running cell; SIGINT interrupts the
 * cell; it exits when its parent is gone, taking the processes the notebook started with it.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { gpuKernelProblem } from '../backend/probe.js';
import { Session } from '../jupyter/protocol.js';
import { readConnectionFile } from './connection-file.js';
import { DisplayChannel } from './display-channel.js';
import type { Engine } from './engine.js';
import { fullGpuCheck, GpuGatedEngine } from './gpu-gate.js';
import { Kernel } from './kernel.js';
import { watchParent } from './parent-watch.js';
import { TslabEngine } from './tslab-engine.js';
import { valueBundle } from './value-display.js';
import { ZmqTransport } from './zmq-transport.js';

export interface KernelProcessOptions {
  connectionFile: string;
  /** `hanlab` or `hanlab-gpu`. */
  kernelName: string;
  /** The project root (the working directory). */
  root: string;
  /** How a child process loads lib/backend for the full GPU check: a module path and Node's loader arguments. */
  backendModule: { path: string; loaderArgs: string[] };
}

export async function runKernelProcess(options: KernelProcessOptions): Promise<void> {
  const stderrWrite = process.stderr.write.bind(process.stderr);
  const log = (text: string) => void stderrWrite(text);
  // Our own stdout/stderr are pipes to whoever started us; once they are gone (SIGKILL), writing fails
  // with EPIPE. That must not become an uncaught exception (whose report would write again, forever).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const connection = readConnectionFile(options.connectionFile);
  if (!connection.signed) {
    log(`[${options.kernelName}] ${options.connectionFile} has no "key": messages are not signed (the protocol's rule for an empty key); whoever reaches ${connection.ip} can run code\n`);
  }
  const session = new Session(connection.key, randomUUID(), 'kernel');
  const version = (JSON.parse(readFileSync(path.join(options.root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';

  const tslab = new TslabEngine({ root: options.root, implementation: 'hanlab', implementationVersion: version });
  let engine: Engine = tslab;
  if (options.kernelName === 'hanlab-gpu' && process.env.HANLAB_ALLOW_CPU_FALLBACK !== '1') {
    const problem = gpuKernelProblem(options.root);
    engine = new GpuGatedEngine(tslab, problem ? { kind: 'refused', reason: problem } : fullGpuCheck(options.backendModule.path, options.backendModule.loaderArgs, options.root));
  }

  let transport: ZmqTransport | undefined;
  let closing = false;
  const close = async (code: number) => {
    if (closing) return;
    closing = true;
    kernel.flush();
    engine.close();
    await transport?.drain();
    await transport?.close();
    process.exit(code);
  };
  const kernel: Kernel = new Kernel({
    session,
    engine,
    transport: { send: (channel, message) => transport?.send(channel, message) },
    formatValue: valueBundle,
    log,
    onShutdown: () => void close(0),
    prepare: async () => {
      await channel.load();
      // tslab's public `display` API sends through its jupyter module: point it at our channel.
      const tslabDir = path.dirname(createRequire(path.join(options.root, 'package.json')).resolve('tslab/package.json'));
      channel.install(createRequire(path.join(options.root, 'package.json'))(path.join(tslabDir, 'dist', 'jupyter.js')));
    },
  });
  const channel = new DisplayChannel(kernel, options.root, log);
  channel.install();
  captureOutput(kernel);

  // SIGINT interrupts the running cell (interrupt_mode "signal"); tslab's executor also stops a
  // synchronous loop on it (breakOnSigint).
  process.on('SIGINT', () => kernel.interrupt());
  process.on('SIGTERM', () => void close(143));
  const uncaught = (error: unknown) => kernel.uncaught(error, (thrown) => tslab.describe(thrown, 'uncaught'));
  process.on('uncaughtException', uncaught);
  process.on('unhandledRejection', uncaught);
  removeConnectionDirOnExit(options.connectionFile);
  watchParent((why) => {
    log(`[${options.kernelName}] ${why}; exiting, and stopping the processes this kernel's notebook started\n`);
    void stopProcessGroup().finally(() => close(0));
  });

  transport = await ZmqTransport.bind(connection, session, (channelName, message) => kernel.receive(channelName, message), log);
  kernel.announce();
}

/** Notebook code's stdout and stderr become `stream` messages of the running cell. */
function captureOutput(kernel: Kernel): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const decoder = new StringDecoder('utf8');
    const stream = process[name];
    stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error) => void), callback?: (error?: Error) => void) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      kernel.stream(name, text);
      const done = typeof encoding === 'function' ? encoding : callback;
      if (done) process.nextTick(done);
      return true;
    }) as typeof stream.write;
  }
}

/**
 * `hanlab run` writes the connection file into a private folder it names in HANLAB_CONNECTION_DIR; the
 * kernel removes that folder when it exits, so a runner killed with SIGKILL leaves no key behind.
 */
function removeConnectionDirOnExit(connectionFile: string): void {
  const dir = process.env.HANLAB_CONNECTION_DIR;
  if (!dir || path.dirname(path.resolve(connectionFile)) !== path.resolve(dir)) return;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

/**
 * Stops the processes the notebook started: they share our process group when we lead it (Jupyter and
 * `hanlab run` both start kernels in a new session). SIGTERM first, SIGKILL half a second later for
 * those still there. Members are found in /proc (Linux), so the kernel itself is not among those signalled.
 */
async function stopProcessGroup(): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const members = groupMembers();
    if (members.length === 0) return;
    for (const pid of members) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
    if (signal === 'SIGTERM') await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Other live processes in our process group (empty unless we lead one; Linux /proc). */
function groupMembers(): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === process.pid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return members;
}
