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
 *   by `shutdownRemoteKernels()` from the CLI's SIGINT/SIGTERM handler (a server that is restarting
 *   the kernel refuses the shutdown for a moment: it is asked again);
 * - trust a quiet socket: a frozen server (SIGSTOP, a hung host) keeps its TCP connections open and
 *   says nothing, so a liveness check asks for the kernel's model every few seconds and ends the run
 *   when no answer comes within the connect timeout; a server that was restarted answers 404 for the
 *   kernel and a new start time, and is named as such.
 */
import type WebSocket from 'ws';
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

/**
 * Jupyter's kernel connection, with one change: after a server-side restart the client calls
 * `reconnect()` without awaiting it, and disposing the connection meanwhile rejects that promise with
 * nobody to handle it (a stack trace after hanlab's own error line). RemoteKernel follows the
 * connection status itself, so the rejection carries nothing it needs.
 */
class QuietKernelConnection extends JupyterKernelConnection {
  override reconnect(): Promise<void> {
    return super.reconnect().catch(() => undefined);
  }
}

/** How often the liveness check asks the server about the kernel: a quarter of the connect timeout, within 0.25–2.5 s. */
export function livenessIntervalMs(connectTimeoutMs: number): number {
  return Math.min(2_500, Math.max(250, Math.round(connectTimeoutMs / 4)));
}

/** The error names of an interrupted cell (the hanlab kernel's, IPython's). */
const INTERRUPT_NAMES = new Set(['InterruptError', 'KeyboardInterrupt']);

/** What the server said about the kernel when asked. */
type Liveness = { state: 'alive' } | { state: 'gone'; reason: string } | { state: 'unreachable'; reason: string; timedOut: boolean };

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
  /** The server's start time (`GET /api/status`) when the kernel started: a different one later means it was restarted. */
  private serverStarted?: string;
  /** Set while this client's own interrupt request is in flight or answered (its error reply is expected). */
  private interruptRequested = false;
  /** The server stopped answering: the shutdown request is sent, not waited for. */
  private unresponsive = false;
  private livenessTimer?: NodeJS.Timeout;
  /** Whether the server answers `GET /api/kernels/{id}` for this kernel (the liveness check's question). */
  private livenessCheckable = false;
  /** Aborts the requests still in flight at shutdown (a frozen server would hold them to their timeout). */
  private readonly requests = new AbortController();
  private readonly sockets = new Set<WebSocket>();

  private constructor(address: ServerAddress, model: Kernel.IModel, options: RemoteKernelOptions) {
    this.address = address;
    this.id = model.id;
    this.name = model.name;
    this.options = options;
    const settings = clientSettings(address, options, (request, attempt) => this.fetchPolicy(request, attempt), (socket) => this.sockets.add(socket));
    this.connection = new QuietKernelConnection({ model, serverSettings: settings, handleComms: false });
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
    kernel.serverStarted = await kernel.fetchServerStarted();
    // A gateway may not show single kernels (Kernel Gateway's list_kernels=False): then the socket
    // and the reconnect grace are all there is, as before.
    kernel.livenessCheckable = await kernel.kernelModelAnswers();
    if (kernel.livenessCheckable) kernel.scheduleLivenessCheck();
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
    this.interruptRequested = false;
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
      if (status === 'error' && this.livenessCheckable && !this.interruptRequested && INTERRUPT_NAMES.has(String(content.ename))) {
        // Nobody here interrupted the cell. A server that shuts down (or restarts) interrupts its
        // kernels first, then stops them: the error is then the server going away, not the cell.
        const liveness = await this.watchAfterForeignInterrupt();
        if (liveness.state !== 'alive') {
          this.lose(liveness.reason);
          throw new RemoteKernelLostError(this.lostReason ?? liveness.reason, options.cell);
        }
      }
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
    this.interruptRequested = true;
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
   *
   * A server that is restarting the kernel (it died) answers 500 until the new one is up: the request
   * is repeated for up to 15 s. A frozen server gets the request without waiting for its answer: it
   * reads it when it runs again.
   */
  async shutdown(_options: { graceful?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.livenessTimer);
    const connectTimeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + Math.max(15_000, connectTimeoutMs);
    for (;;) {
      let status: number | undefined;
      try {
        status = (await this.request('DELETE', `api/kernels/${encodeURIComponent(this.id)}`, this.unresponsive ? 1_000 : connectTimeoutMs)).status;
      } catch {
        // A network error: the server is gone, or frozen (it reads the request when it runs again).
      }
      if (status === undefined || status < 500 || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    this.requests.abort();
    this.connection.dispose();
    await this.closeSockets();
    live.delete(this);
  }

  /** Waits briefly for the sockets' closing handshake, then drops them (a frozen server never answers it, and `ws` would wait 30 s). */
  private async closeSockets(): Promise<void> {
    const open = [...this.sockets].filter((socket) => socket.readyState !== socket.CLOSED);
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open.map((socket) => new Promise((resolve) => socket.once('close', resolve)))),
      new Promise((resolve) => (timer = setTimeout(resolve, this.unresponsive ? 0 : 1_000))),
    ]);
    clearTimeout(timer);
    for (const socket of open) if (socket.readyState !== socket.CLOSED) socket.terminate();
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
    clearTimeout(this.livenessTimer);
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

  /**
   * One HTTP request to the server with the token, bounded by `timeoutMs` (until the headers come).
   * A timer of its own: Node 20 may collect an `AbortSignal.timeout` combined with `AbortSignal.any`
   * before it fires, and undici would then wait 300 s for a frozen server.
   */
  private async request(method: string, route: string, timeoutMs: number): Promise<Response> {
    const headers: Record<string, string> = this.address.token ? { Authorization: `token ${this.address.token}` } : {};
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${formatSeconds(timeoutMs)}`, 'TimeoutError')), timeoutMs);
    const cancel = () => controller.abort(new DOMException('the kernel was shut down', 'AbortError'));
    this.requests.signal.addEventListener('abort', cancel, { once: true });
    try {
      return await fetch(new URL(route, this.address.url), { method, headers, signal: controller.signal });
    } finally {
      clearTimeout(timer);
      this.requests.signal.removeEventListener('abort', cancel);
    }
  }

  /** `started` of `GET /api/status` (Jupyter Server and Notebook have it; gateways may not). */
  private async fetchServerStarted(): Promise<string | undefined> {
    try {
      const response = await this.request('GET', 'api/status', this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      const started = response.ok ? ((await response.json()) as { started?: unknown }).started : undefined;
      return typeof started === 'string' ? started : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether `GET /api/kernels/{id}` answers 200 now, within the connect timeout. */
  private async kernelModelAnswers(): Promise<boolean> {
    try {
      const response = await this.request('GET', `api/kernels/${encodeURIComponent(this.id)}`, this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** Why the server no longer has the kernel: restarted (a new start time), or the kernel shut down by someone else. */
  private async goneReason(): Promise<string> {
    const now = this.serverStarted === undefined ? undefined : await this.fetchServerStarted();
    if (now !== undefined && now !== this.serverStarted) {
      return `the Jupyter server at ${this.address.url} was restarted (it has run since ${now.replace(/\.\d+/, '')}); the kernel and the notebook's state are gone`;
    }
    return `the Jupyter server at ${this.address.url} no longer has the kernel (shut down from elsewhere, culled, or the server restarted); the notebook's state is gone`;
  }

  /**
   * Asks the server for the kernel's model (`GET /api/kernels/{id}`), each attempt bounded by the
   * connect timeout. A refused or reset connection is asked again until `retryForMs` passes (a server
   * restarting on its port); no answer at all is a frozen server, at once.
   */
  private async checkLiveness(retryForMs: number): Promise<Liveness> {
    const timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + retryForMs;
    for (;;) {
      try {
        const response = await this.request('GET', `api/kernels/${encodeURIComponent(this.id)}`, timeoutMs);
        await response.body?.cancel();
        if (response.status === 404) return { state: 'gone', reason: await this.goneReason() };
        if (response.status === 401 || response.status === 403) {
          return {
            state: 'gone',
            reason: `the Jupyter server at ${this.address.url} refuses the token now (HTTP ${response.status}): it was restarted with another one, and the kernel and the notebook's state are gone`,
          };
        }
        // Anything else (200, or a 5xx of a busy server) is a server that answers.
        return { state: 'alive' };
      } catch (error) {
        const timedOut = (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError';
        if (timedOut) {
          return {
            state: 'unreachable',
            timedOut,
            reason: `the Jupyter server at ${this.address.url} stopped answering: no answer within ${formatSeconds(timeoutMs)} (is it stopped, or its host frozen?)`,
          };
        }
        if (this.closed || Date.now() >= deadline) {
          return { state: 'unreachable', timedOut, reason: `cannot reach the Jupyter server at ${this.address.url} any more: ${describeNetworkError(error, timeoutMs)}` };
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * After an interrupt this client did not ask for: watches the kernel for a few seconds (a server
   * shutting down stops it within its shutdown wait); alive after that, it was someone's interrupt.
   */
  private async watchAfterForeignInterrupt(): Promise<Liveness> {
    const until = Date.now() + Math.min(this.graceMs(), 10_000);
    for (;;) {
      if (this.lostReason !== undefined) return { state: 'gone', reason: this.lostReason };
      const liveness = await this.checkLiveness(this.graceMs());
      if (liveness.state !== 'alive' || Date.now() >= until || this.closed) return liveness;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The periodic liveness check; stops when the kernel is shut down or lost. */
  private scheduleLivenessCheck(): void {
    if (this.closed || this.lostReason !== undefined) return;
    const intervalMs = livenessIntervalMs(this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    this.livenessTimer = setTimeout(async () => {
      const liveness = await this.checkLiveness(this.graceMs());
      if (this.closed || this.lostReason !== undefined) return;
      if (liveness.state === 'alive') return this.scheduleLivenessCheck();
      if (liveness.state === 'unreachable' && liveness.timedOut) this.unresponsive = true;
      this.lose(liveness.reason);
    }, intervalMs);
    // A run waits on its cells, not on this timer.
    this.livenessTimer.unref();
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
        const response = await attempt(request.clone());
        // The client then reports the kernel dead; say first why it is gone.
        if (response.status === 404 && !this.closed) this.lose(await this.goneReason());
        return response;
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
