/**
 * A kernel on a Jupyter server (Notebook, Jupyter Server, Kernel Gateway, Enterprise Gateway), driven
 * through the kernels REST and WebSocket API with `@jupyterlab/services`: `POST /api/kernels` starts
 * it, `/api/kernels/{id}/channels` carries the messages, `POST …/interrupt` interrupts it and
 * `DELETE /api/kernels/{id}` stops it. `RemoteKernel` implements the runner's `KernelConnection`, so
 * `hanlab run --server` writes the same executed notebook as a local run.
 *
 * What the client library does for a browser tab and we must not do in a batch run:
 * - reconnect for minutes when the server is gone: a lost connection that does not come back within
 *   the grace period fails the running cell with a clear error (the partial notebook is kept);
 * - carry on after the server restarted a dead kernel: the notebook's state is gone, so that too is a
 *   lost kernel;
 * - leave kernels behind: every kernel this process started is shut down at the end, on error, and
 *   by `shutdownRemoteKernels()` from the CLI's SIGINT/SIGTERM handler.
 */
import { KernelAPI, KernelConnection as JupyterKernelConnection, type Kernel, type KernelMessage } from '@jupyterlab/services';
import type { StreamChunk } from './cell-errors.js';
import { KernelDiedError, KernelStartError, formatSeconds, type CellLocation } from './errors.js';
import { applyIopubMessage, type DisplayRegistry } from './iopub-outputs.js';
import { ExecuteTimeout, type ExecuteOptions, type ExecuteOutcome } from './kernel-client.js';
import type { KernelConnection, KernelHostManifest, KernelLauncher } from './kernel-connection.js';
import type { Output } from '../notebook/nbformat.js';
import type { Message } from './protocol.js';
import { HOST_MARKER, hostProbeCell } from './host-probe.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_KERNEL_START_TIMEOUT_MS,
  clientSettings,
  describeNetworkError,
  requireKernelSpec,
  serverFailure,
  type ServerAddress,
  type ServerOptions,
} from './remote-server.js';

export interface RemoteKernelOptions extends ServerOptions {
  /**
   * How long a lost connection may take to come back before the running cell fails; default: the
   * connect timeout. The server keeps the kernel's messages for a reconnecting client meanwhile.
   */
  reconnectGraceMs?: number;
}

/** The kernel or the connection to it is gone: the runner records the cell as `kernel-died` and keeps the partial notebook. */
export class RemoteKernelLostError extends KernelDiedError {
  constructor(reason: string, cell?: CellLocation) {
    super({ cell, exitCode: null, signal: null, stderrTail: '' });
    const where = cell ? ` while running cell ${cell.index + 1}${cell.firstLine ? ` ("${cell.firstLine.slice(0, 60)}")` : ''}` : '';
    this.message = `${reason}${where}`;
  }
}

const live = new Set<RemoteKernel>();

/** Shuts down every remote kernel this process started (for SIGINT/SIGTERM handlers); bounded by `timeoutMs`. */
export async function shutdownRemoteKernels(timeoutMs = 5_000): Promise<void> {
  const all = Promise.allSettled([...live].map((kernel) => kernel.shutdown({ graceful: false })));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

/** Remote kernels started by this process and not yet shut down. */
export function liveRemoteKernelCount(): number {
  return live.size;
}

export class RemoteKernel implements KernelConnection {
  readonly id: string;
  readonly name: string;
  readonly address: ServerAddress;
  private readonly connection: Kernel.IKernelConnection;
  private readonly options: RemoteKernelOptions;
  private readonly displays: DisplayRegistry = new Map();
  /** Set once the kernel or the connection is gone for good: why, in words. */
  private lostReason?: string;
  private readonly lostListeners = new Set<(reason: string) => void>();
  private reconnectTimer?: NodeJS.Timeout;
  private everConnected = false;
  private closed = false;

  private constructor(address: ServerAddress, model: Kernel.IModel, options: RemoteKernelOptions) {
    this.address = address;
    this.id = model.id;
    this.name = model.name;
    this.options = options;
    const settings = clientSettings(address, options, (request, attempt) => this.fetchPolicy(request, attempt));
    this.connection = new JupyterKernelConnection({ model, serverSettings: settings, handleComms: false });
    this.connection.statusChanged.connect((_, status) => this.onStatus(status));
    this.connection.connectionStatusChanged.connect((_, status) => this.onConnectionStatus(status));
    live.add(this);
  }

  /** Starts kernel `name` on the server and waits until it answers kernel_info. */
  static async start(address: ServerAddress, name: string, options: RemoteKernelOptions & { env?: Record<string, string> } = {}): Promise<RemoteKernel> {
    // A gateway may first schedule a pod or a container (and pull its image): more than a local start.
    const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_KERNEL_START_TIMEOUT_MS;
    // Enterprise Gateway passes KERNEL_* variables of the request to the kernel (KERNEL_USERNAME, …);
    // other servers ignore the field.
    const env = Object.fromEntries(Object.entries(options.env ?? {}).filter(([key]) => key.startsWith('KERNEL_')));
    let model: Kernel.IModel;
    try {
      model = await KernelAPI.startNew({ name, ...(Object.keys(env).length ? { env } : {}) } as KernelAPI.IKernelOptions, clientSettings(address, { ...options, startTimeoutMs }));
    } catch (error) {
      throw serverFailure(error, address, `start a "${name}" kernel (POST /api/kernels)`, startTimeoutMs);
    }
    const kernel = new RemoteKernel(address, model, { ...options, startTimeoutMs });
    try {
      await kernel.waitForKernelInfo(startTimeoutMs, `the "${name}" kernel on ${address.url} did not answer within ${formatSeconds(startTimeoutMs)} of starting`);
    } catch (error) {
      await kernel.shutdown({ graceful: false });
      if (error instanceof RemoteKernelLostError) {
        throw new KernelStartError(
          `the "${name}" kernel on ${address.url} stopped while starting (${error.message}); the server's log says why (a GPU kernel refuses to start without a usable GPU)`,
        );
      }
      throw error;
    }
    return kernel;
  }

  async kernelInfo(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const reply = await this.untilLost(this.connection.info, timeoutMs, `no kernel_info_reply within ${formatSeconds(timeoutMs)}`);
    return reply as unknown as Record<string, unknown>;
  }

  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    if (this.lostReason !== undefined) throw new RemoteKernelLostError(this.lostReason, options.cell);
    const started = Date.now();
    const target: { outputs: Output[]; streams: StreamChunk[] } = { outputs: options.outputs ?? [], streams: options.streams ?? [] };
    const future = this.connection.requestExecute(
      { code, silent: options.silent === true, store_history: options.silent !== true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      true,
      // Jupyter front ends name the cell this way (the hanlab kernel uses it to tell cells apart).
      options.cell?.id ? { cellId: options.cell.id } : undefined,
    );
    future.onIOPub = (message) => {
      options.onMessage?.(asProtocolMessage(message));
      if (message.header.msg_type !== 'status') applyIopubMessage(message.header.msg_type, message.content as Record<string, unknown>, target, this.displays);
    };
    let timer: NodeJS.Timeout | undefined;
    let stopWatching: (() => void) | undefined;
    try {
      const lost = new Promise<never>((_, reject) => {
        const listener = (reason: string) => reject(new RemoteKernelLostError(reason, options.cell));
        this.lostListeners.add(listener);
        stopWatching = () => this.lostListeners.delete(listener);
      });
      const racers: Promise<unknown>[] = [future.done, lost];
      if (options.timeoutMs !== undefined) {
        racers.push(new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ExecuteTimeout(options.timeoutMs!)), options.timeoutMs))));
      }
      const reply = (await Promise.race(racers)) as KernelMessage.IExecuteReplyMsg;
      const content = reply.content as unknown as Record<string, unknown>;
      const status = content.status === 'ok' || content.status === 'error' || content.status === 'abort' ? content.status : 'error';
      return {
        status,
        executionCount: typeof content.execution_count === 'number' ? content.execution_count : null,
        outputs: target.outputs,
        streams: target.streams,
        reply: content,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      if (error instanceof ExecuteTimeout) {
        error.outputs = target.outputs;
        error.streams = target.streams;
        throw error;
      }
      if (error instanceof RemoteKernelLostError) throw error;
      // The client rejects `done` when the kernel dies or the connection is disposed.
      throw new RemoteKernelLostError(this.lostReason ?? `the kernel on ${this.address.url} stopped answering (${(error as Error)?.message ?? error})`, options.cell);
    } finally {
      clearTimeout(timer);
      stopWatching?.();
    }
  }

  /** `POST /api/kernels/{id}/interrupt`: the server interrupts the kernel as its kernelspec says (SIGINT for tslab). */
  async interrupt(): Promise<void> {
    if (this.lostReason !== undefined || this.closed) return;
    try {
      await KernelAPI.interruptKernel(this.id, this.connection.serverSettings);
    } catch (error) {
      throw serverFailure(error, this.address, 'interrupt the kernel', this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    }
  }

  /**
   * `DELETE /api/kernels/{id}`, then closes the socket. The server stops the kernel process (its
   * shutdown_request, then signals), so `graceful` changes nothing here. Never throws: a server that is
   * gone has no kernel left to stop. Idempotent.
   */
  async shutdown(_options: { graceful?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    try {
      await KernelAPI.shutdownKernel(this.id, this.connection.serverSettings);
    } catch {
      // 404: already gone; network error: the server is gone and its kernels with it.
    }
    this.connection.dispose();
    live.delete(this);
  }

  /** Runs the host probe in the kernel (after the notebook's cells, so their execution counts are untouched). */
  async describeHost(inputs: readonly string[]): Promise<KernelHostManifest> {
    let outcome = await this.execute(hostProbeCell(inputs), { timeoutMs: 60_000 });
    // tslab refuses requests for ~200 ms after a failed cell.
    for (let retry = 0; outcome.status === 'abort' && retry < 10; retry++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      outcome = await this.execute(hostProbeCell(inputs), { timeoutMs: 60_000 });
    }
    const text = outcome.streams.filter((chunk) => chunk.name === 'stdout').map((chunk) => chunk.text).join('');
    const line = text.split('\n').find((candidate) => candidate.startsWith(HOST_MARKER));
    if (outcome.status !== 'ok' || !line) {
      const stderr = outcome.streams.filter((chunk) => chunk.name === 'stderr').map((chunk) => chunk.text).join('').trim();
      throw new Error(`the kernel could not describe its host${stderr ? `: ${stderr.split('\n')[0]}` : ''} (is the server's checkout an older hanlab?)`);
    }
    return JSON.parse(line.slice(HOST_MARKER.length)) as KernelHostManifest;
  }

  /**
   * Waits for the kernel's first kernel_info_reply. The client asks once, on connecting; tslab drops a
   * request that comes while it is still binding its sockets, so the question is repeated every 2 s
   * (as jupyter_client's wait_for_ready does) until one is answered.
   */
  private async waitForKernelInfo(timeoutMs: number, timeoutMessage: string): Promise<void> {
    let answered = false;
    const nudge = async () => {
      while (!answered && !this.closed && this.lostReason === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 2_000).unref());
        if (answered || this.closed || this.connection.connectionStatus !== 'connected') continue;
        this.connection.requestKernelInfo().catch(() => undefined);
      }
    };
    void nudge();
    try {
      await this.untilLost(this.connection.info, timeoutMs, timeoutMessage);
    } finally {
      answered = true;
    }
  }

  private lose(reason: string): void {
    if (this.lostReason !== undefined || this.closed) return;
    this.lostReason = reason;
    clearTimeout(this.reconnectTimer);
    for (const listener of [...this.lostListeners]) listener(reason);
  }

  /** Resolves with `promise`, or rejects when the kernel is lost or `timeoutMs` passes. */
  private async untilLost<T>(promise: Promise<T>, timeoutMs: number, timeoutMessage: string): Promise<T> {
    if (this.lostReason !== undefined) throw new RemoteKernelLostError(this.lostReason);
    let timer: NodeJS.Timeout | undefined;
    let listener: ((reason: string) => void) | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          listener = (reason) => reject(new RemoteKernelLostError(reason));
          this.lostListeners.add(listener);
        }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new KernelStartError(timeoutMessage)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
      if (listener) this.lostListeners.delete(listener);
    }
  }

  private onStatus(status: Kernel.Status): void {
    if (this.closed) return;
    if (status === 'dead') this.lose(this.lostReason ?? `the kernel on ${this.address.url} died`);
    else if (status === 'autorestarting' || status === 'restarting') {
      this.lose(`the kernel on ${this.address.url} died and the server restarted it; the notebook's state is gone`);
    }
  }

  private onConnectionStatus(status: Kernel.ConnectionStatus): void {
    if (this.closed) return;
    if (status === 'connected') {
      this.everConnected = true;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    } else if (status === 'connecting' && this.everConnected && !this.reconnectTimer) {
      const graceMs = this.graceMs();
      // A little longer than the grace the kernel-model check gets (fetchPolicy), whose reason
      // ("connection refused") says more; this one covers reconnects that hang instead of failing.
      this.reconnectTimer = setTimeout(() => this.lose(`the connection to the Jupyter server at ${this.address.url} was lost and did not come back within ${formatSeconds(graceMs)}`), graceMs + 2_000);
    } else if (status === 'disconnected') {
      this.lose(`the connection to the Jupyter server at ${this.address.url} was closed`);
    }
  }

  private graceMs(): number {
    return this.options.reconnectGraceMs ?? this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  /**
   * The client checks `GET /api/kernels/{id}` after a failed reconnect, and on a network error retries
   * every 10–30 s forever (a browser tab waits for the server to come back). Here the same request is
   * retried for the grace period; if the server stays unreachable, the kernel is reported dead to the
   * client (which then stops) and lost to the runner, with the network error as the reason.
   */
  private async fetchPolicy(request: Request, attempt: (request: Request) => Promise<Response>): Promise<Response> {
    const kernelModel = request.method === 'GET' && new URL(request.url).pathname.endsWith(`/api/kernels/${encodeURIComponent(this.id)}`);
    if (!kernelModel) return attempt(request);
    const deadline = Date.now() + this.graceMs();
    for (;;) {
      try {
        return await attempt(request.clone());
      } catch (error) {
        if (this.closed || Date.now() >= deadline) {
          // `attempt` has already put the network error in words.
          this.lose(`cannot reach the Jupyter server at ${this.address.url} any more: ${error instanceof TypeError ? error.message : describeNetworkError(error, this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS)}`);
          return Response.json({ id: this.id, name: this.name, execution_state: 'dead' });
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
}

/** The runner's launcher for one server. */
export function remoteLauncher(address: ServerAddress, options: RemoteKernelOptions = {}): KernelLauncher {
  return {
    location: address.url,
    kernelSpec: (name) => requireKernelSpec(address, name, options),
    start: (name, startOptions) => RemoteKernel.start(address, name, { ...options, startTimeoutMs: startOptions.startTimeoutMs ?? options.startTimeoutMs, env: startOptions.env }),
  };
}

/** Jupyter's message as kernel-client's `Message` shape (for `onMessage` listeners). */
function asProtocolMessage(message: KernelMessage.IMessage): Message {
  return {
    identities: [],
    header: message.header as unknown as Message['header'],
    parent_header: message.parent_header as unknown as Message['parent_header'],
    metadata: message.metadata as Record<string, unknown>,
    content: message.content as unknown as Record<string, unknown>,
    buffers: [],
  };
}
