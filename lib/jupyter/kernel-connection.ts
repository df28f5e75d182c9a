/**
 * What the runner needs from a kernel, wherever it runs: a local kernel process over ZeroMQ
 * (`KernelClient`, kernel-client.ts) or a kernel on a Jupyter server, Kernel Gateway or Enterprise
 * Gateway over the kernels REST + WebSocket API (`RemoteKernel`, remote-kernel.ts). The runner talks
 * only to these interfaces, so both transports give the same executed notebook.
 */
import { formatSeconds, type CellLocation } from './errors.js';
import type { Output } from '../notebook/nbformat.js';
import type { StreamChunk } from './cell-errors.js';
import type { Message } from './protocol.js';

export interface ExecuteOptions {
  /** Give up (and throw CellTimeoutError-ready `ExecuteTimeout`) after this long; default: no limit. */
  timeoutMs?: number;
  /** Called with each iopub message of this execution as it arrives (for live progress). */
  onMessage?: (message: Message) => void;
  /** Which notebook cell this is: named in errors, and its id is sent as the request's `cellId`. */
  cell?: CellLocation;
  /** Run without an execution count, history or result (Jupyter's `silent`), e.g. to let the kernel load its compiler. */
  silent?: boolean;
  /** Arrays to fill with outputs and stream chunks as they arrive, so a caller keeps them when execute throws. */
  outputs?: Output[];
  streams?: StreamChunk[];
}

export interface ExecuteOutcome {
  status: 'ok' | 'error' | 'abort';
  executionCount: number | null;
  /** nbformat outputs built from iopub, consecutive streams of the same name merged. */
  outputs: Output[];
  /** Every stream message as it came (outputs merges them): tslab's error text is the last stderr ones. */
  streams: StreamChunk[];
  /** The execute_reply content (ename/evalue/traceback for kernels that send them). */
  reply: Record<string, unknown>;
  durationMs: number;
}

/** Thrown by execute() when timeoutMs passes; the kernel is still running the code. */
export class ExecuteTimeout extends Error {
  readonly timeoutMs: number;
  /** What the cell had output when time ran out. */
  outputs: Output[] = [];
  streams: StreamChunk[] = [];
  constructor(timeoutMs: number) {
    super(`execution did not finish within ${formatSeconds(timeoutMs)}`);
    this.name = 'ExecuteTimeout';
    this.timeoutMs = timeoutMs;
  }
}

/** One started kernel. */
export interface KernelConnection {
  /** The kernel's kernel_info_reply content. */
  kernelInfo(timeoutMs?: number): Promise<Record<string, unknown>>;
  /**
   * Runs code and resolves when the kernel is idle again. Throws `ExecuteTimeout` after
   * `options.timeoutMs`, and `KernelDiedError` (with `options.cell`) when the kernel or the
   * connection to it is lost.
   */
  execute(code: string, options?: ExecuteOptions): Promise<ExecuteOutcome>;
  /** Interrupts the running cell (SIGINT, or the server's interrupt request for a remote kernel). */
  interrupt(): void | Promise<void>;
  /** Stops the kernel and releases everything it held; idempotent. */
  shutdown(options?: { graceful?: boolean }): Promise<void>;
  /**
   * Where the kernel runs, when that is not this machine: what the runner records instead of its own
   * probe (device manifest, installed packages, the working tree's git state and input hashes).
   */
  describeHost?(inputs: readonly string[]): Promise<KernelHostManifest>;
}

/** A remote kernel's own account of its machine and working tree (see remote-kernel.ts). */
export interface KernelHostManifest {
  device: unknown;
  packages: Record<string, string>;
  git?: { commit: string; dirty: boolean };
  platform: { os: string; arch: string; node: string };
  /** Hashes of the notebook's declared inputs in the kernel's working tree (missing files absent). */
  inputHashes: Record<string, string>;
  /** Declared inputs the kernel's working tree does not have. */
  missingInputs: string[];
  root: string;
}

/** Starts kernels somewhere other than this process (the runner starts local ones itself). */
export interface KernelLauncher {
  /** For the run metadata: where the kernels run, without credentials (e.g. `http://gpu-host:8888/`). */
  readonly location: string;
  /** The kernelspec as the server has it (name, display name, language), checked before any kernel starts. */
  kernelSpec(name: string): Promise<{ name: string; display_name: string; language: string }>;
  start(name: string, options: { startTimeoutMs?: number; env?: Record<string, string> }): Promise<KernelConnection>;
}
