/**
 * What the notebook runner needs from a kernel, whatever carries the messages: KernelClient (a local
 * kernel over ZeroMQ) implements it, and a remote transport (a Jupyter server's kernels API) can too.
 */
import { formatSeconds, type CellLocation } from './errors.js';
import type { Output } from './nbformat.js';
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

/** A running kernel, as lib/notebook/runner.ts uses it. */
export interface NotebookKernel {
  /** The kernel_info_reply content. */
  kernelInfo(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Runs code; resolves when the kernel is idle again, with the outputs it produced. */
  execute(code: string, options?: ExecuteOptions): Promise<ExecuteOutcome>;
  /** Interrupts the running cell. */
  interrupt(): void;
  /** Stops the kernel and everything it started; idempotent. */
  shutdown(options?: { graceful?: boolean }): Promise<void>;
}
