/**
 * Starting a kernel and talking to it over ZeroMQ: the connection file, the five channels, execution
 * requests and their outputs, and stopping the kernel so that nothing is left running or listening.
 *
 * One KernelClient owns one kernel process. The process is started in its own process group, so
 * stopping it also stops whatever the notebook spawned; every live kernel is killed when our process
 * exits. When we die without a chance to clean up (SIGKILL), the kernel notices within a second
 * (HANLAB_EXIT_WITH_PARENT, lib/kernel/parent-watch.ts), stops its process group and exits.
 *
 * The connection file holds the key that signs every message: it is written with mode 0600 into a
 * private folder (mode 0700) that is removed when the kernel stops, by us or by the kernel itself
 * (HANLAB_CONNECTION_DIR); folders left by runners that were killed together with their kernel are
 * swept at the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as zmq from 'zeromq';
import { processExists } from '../processes.js';
import { KernelConnectionError, KernelDiedError, KernelStartError, formatSeconds, type CellLocation } from './errors.js';
import { ExecuteTimeout, type ExecuteOptions, type ExecuteOutcome, type KernelConnection } from './kernel-connection.js';
import { kernelCommand, readKernelSpec, type KernelSpec } from './kernelspec.js';
import { applyIopubMessage, type DisplayRegistry } from './iopub-outputs.js';
import type { Output } from '../notebook/nbformat.js';
import type { StreamChunk } from './cell-errors.js';
import { Session, channelAddress, type ConnectionInfo, type Message } from './protocol.js';

export { ExecuteTimeout, type ExecuteOptions, type ExecuteOutcome };

export interface KernelStartOptions {
  /** Kernelspec name under `<root>/kernels/` (default `hanlab`), or a spec read elsewhere. */
  kernel?: string | KernelSpec;
  /** Project root: the kernel's working directory (default process.cwd()). */
  root?: string;
  /** Extra environment for the kernel. */
  env?: Record<string, string>;
  /** How long the kernel may take to answer its first kernel_info_request (default 60 s). */
  startTimeoutMs?: number;
}

interface Pending {
  msgId: string;
  reply?: Message;
  idle: boolean;
  outputs: Output[];
  streams: StreamChunk[];
  onMessage?: (message: Message) => void;
  resolve: () => void;
  reject: (error: Error) => void;
  /** Which socket the reply comes on. */
  channel: 'shell' | 'control';
}

const STDERR_TAIL_BYTES = 16 * 1024;
const live = new Set<KernelClient>();
let exitHookInstalled = false;

/** Last resort: on process exit, kill every kernel still running (synchronously: nothing async runs at exit). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const kernel of live) kernel.killNow();
  });
}

/** Private folders for connection files: `<tmp>/hanlab-kernel-<runner pid>-XXXXXX`. */
const CONNECTION_DIR_PREFIX = 'hanlab-kernel-';

export class KernelClient implements KernelConnection {
  readonly spec: KernelSpec;
  readonly connection: ConnectionInfo;
  readonly connectionFile: string;
  /** The private folder holding the connection file. */
  readonly connectionDir: string;
  readonly process: ChildProcess;
  private readonly session: Session;
  private readonly shell: zmq.Dealer;
  private readonly control: zmq.Dealer;
  private readonly stdin: zmq.Dealer;
  private readonly iopub: zmq.Subscriber;
  private readonly pending = new Map<string, Pending>();
  /** Outputs by display_id, for update_display_data. */
  private readonly displays: DisplayRegistry = new Map();
  private outputTail = '';
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly exitPromise: Promise<void>;
  private closed = false;

  private constructor(spec: KernelSpec, root: string, env: Record<string, string>, connection: ConnectionInfo) {
    this.spec = spec;
    this.connection = connection;
    this.session = new Session(connection.key);
    // The key signs every message: only this user may read it (mkdtemp makes the folder 0700).
    this.connectionDir = mkdtempSync(path.join(os.tmpdir(), `${CONNECTION_DIR_PREFIX}${process.pid}-`));
    this.connectionFile = path.join(this.connectionDir, 'connection.json');
    writeFileSync(this.connectionFile, JSON.stringify(connection, null, 1), { mode: 0o600 });

    const argv = kernelCommand(spec, this.connectionFile);
    this.process = spawn(argv[0], argv.slice(1), {
      cwd: root,
      env: { ...process.env, ...spec.env, HANLAB_PROJECT_ROOT: root, HANLAB_EXIT_WITH_PARENT: '1', HANLAB_CONNECTION_DIR: this.connectionDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    live.add(this);
    installExitHook();
    const keepTail = (chunk: Buffer) => {
      this.outputTail = (this.outputTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    };
    this.process.stdout?.on('data', keepTail);
    this.process.stderr?.on('data', keepTail);
    this.exitPromise = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        // Messages the kernel sent just before it died may still be on their way through our sockets.
        setTimeout(() => {
          this.failPending();
          resolve();
        }, 100);
      });
      this.process.once('error', (error) => {
        this.outputTail += `\n${error.message}`;
        this.exitInfo = { code: null, signal: null };
        live.delete(this);
        this.failPending();
        resolve();
      });
    });

    this.shell = new zmq.Dealer({ linger: 0 });
    this.control = new zmq.Dealer({ linger: 0 });
    this.stdin = new zmq.Dealer({ linger: 0 });
    this.iopub = new zmq.Subscriber({ linger: 0 });
    this.iopub.subscribe();
    // Connecting before the kernel binds is fine: ZeroMQ connects when the port opens.
    this.shell.connect(channelAddress(connection, 'shell'));
    this.control.connect(channelAddress(connection, 'control'));
    this.stdin.connect(channelAddress(connection, 'stdin'));
    this.iopub.connect(channelAddress(connection, 'iopub'));
    void this.receiveLoop(this.shell, 'shell');
    void this.receiveLoop(this.control, 'control');
    void this.receiveLoop(this.iopub, 'iopub');
  }

  /** Starts a kernel and resolves once it answers on shell and publishes on iopub. */
  static async start(options: KernelStartOptions = {}): Promise<KernelClient> {
    const root = path.resolve(options.root ?? process.cwd());
    const spec = typeof options.kernel === 'object' ? options.kernel : readKernelSpec(options.kernel ?? 'hanlab', root);
    sweepStaleConnectionDirs();
    const ports = await freePorts(5);
    const connection: ConnectionInfo = {
      transport: 'tcp',
      ip: '127.0.0.1',
      shell_port: ports[0],
      iopub_port: ports[1],
      stdin_port: ports[2],
      control_port: ports[3],
      hb_port: ports[4],
      key: randomBytes(32).toString('hex'),
      signature_scheme: 'hmac-sha256',
      kernel_name: spec.name,
    };
    const kernel = new KernelClient(spec, root, options.env ?? {}, connection);
    try {
      await kernel.waitForReady(options.startTimeoutMs ?? 60_000);
    } catch (error) {
      await kernel.shutdown({ graceful: false });
      throw error;
    }
    return kernel;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Whether the kernel process has exited (and how). */
  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** The last lines the kernel process wrote to its own stdout/stderr (outside cells). */
  get stderrTail(): string {
    return this.outputTail.split('\n').slice(-40).join('\n');
  }

  /**
   * jupyter_client's wait_for_ready: the shell may answer before our iopub subscription is live (the
   * ZeroMQ "slow joiner"), and outputs published before that are lost. So we repeat kernel_info
   * requests until one's reply and its iopub status both arrive.
   */
  private async waitForReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ids: string[] = [];
    let sending = false;
    let lastSent = Date.now();
    const send = async () => {
      const message = this.session.message('kernel_info_request', {});
      this.track(message.header.msg_id, 'shell');
      ids.push(message.header.msg_id);
      sending = true;
      try {
        // The first send waits until the kernel has bound its port; a dead kernel never binds.
        await Promise.race([this.shell.send(this.session.serialize(message)), this.exitPromise]);
      } finally {
        sending = false;
        lastSent = Date.now();
      }
    };
    const answered = (needIdle: boolean) =>
      ids.some((id) => {
        const pending = this.pending.get(id);
        return Boolean(pending?.reply && (!needIdle || pending.idle));
      });
    try {
      void send().catch(() => undefined);
      while (!answered(true)) {
        if (this.exitInfo) {
          await this.exitPromise; // its last stderr lines (why it died) arrive with it
          throw this.diedError('while starting');
        }
        if (Date.now() > deadline) {
          throw new KernelStartError(
            `the ${this.spec.name} kernel did not answer within ${formatSeconds(timeoutMs)} of starting` +
              (this.stderrTail.trim() ? `; its output:\n${this.stderrTail.trim()}` : ''),
          );
        }
        await delay(10);
        if (sending) continue;
        // Shell answers but iopub has not delivered the status yet: ask again soon. No answer at all:
        // ask again (tslab drops a request that arrives while it is still binding iopub).
        const every = answered(false) ? 50 : 300;
        if (Date.now() - lastSent >= every) void send().catch(() => undefined);
      }
    } finally {
      for (const id of ids) this.pending.delete(id);
    }
  }

  /** Sends code to run and resolves when the kernel is idle again, with the outputs it produced. */
  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    if (this.exitInfo) throw this.diedError(undefined, options.cell);
    const started = Date.now();
    const message = this.session.message(
      'execute_request',
      { code, silent: options.silent === true, store_history: options.silent !== true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      // Jupyter front ends name the cell this way (the kernel uses it to tell cells apart).
      options.cell?.id ? { cellId: options.cell.id } : {},
    );
    const tracked = this.track(message.header.msg_id, 'shell', options.onMessage, options.outputs, options.streams);
    await Promise.race([this.shell.send(this.session.serialize(message)), this.exitPromise]);
    if (this.exitInfo) throw this.diedError(undefined, options.cell);
    let timer: NodeJS.Timeout | undefined;
    const timeout =
      options.timeoutMs !== undefined
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ExecuteTimeout(options.timeoutMs!)), options.timeoutMs);
          })
        : undefined;
    try {
      await (timeout ? Promise.race([tracked.done, timeout]) : tracked.done);
    } catch (error) {
      if (error instanceof KernelDiedError && options.cell) throw this.diedError(undefined, options.cell);
      if (error instanceof ExecuteTimeout) {
        error.outputs = tracked.state.outputs;
        error.streams = tracked.state.streams;
      }
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      this.pending.delete(message.header.msg_id);
    }
    const reply = tracked.state.reply!.content as Record<string, unknown>;
    // "aborted" is what ipykernel and the hanlab kernel send; "abort" is the protocol's older spelling.
    const status = reply.status === 'ok' || reply.status === 'error' ? reply.status : reply.status === 'abort' || reply.status === 'aborted' ? 'abort' : 'error';
    return {
      status,
      executionCount: typeof reply.execution_count === 'number' ? reply.execution_count : null,
      outputs: tracked.state.outputs,
      streams: tracked.state.streams,
      reply,
      durationMs: Date.now() - started,
    };
  }

  /** The kernel's kernel_info_reply content. */
  async kernelInfo(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const message = this.session.message('kernel_info_request', {});
    const tracked = this.track(message.header.msg_id, 'shell');
    await this.shell.send(this.session.serialize(message));
    try {
      if (!(await within(tracked.done, timeoutMs))) throw new KernelStartError(`no kernel_info_reply within ${formatSeconds(timeoutMs)}`);
    } finally {
      this.pending.delete(message.header.msg_id);
    }
    return tracked.state.reply!.content as Record<string, unknown>;
  }

  /** Sends a heartbeat and waits for the echo: true when the kernel's event loop answers in time. */
  async heartbeat(timeoutMs = 2_000): Promise<boolean> {
    const socket = new zmq.Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
    try {
      socket.connect(channelAddress(this.connection, 'hb'));
      const ping = Buffer.from(randomUUID());
      await socket.send(ping);
      const [echo] = await socket.receive();
      return echo.equals(ping);
    } catch {
      return false;
    } finally {
      socket.close();
    }
  }

  /** Interrupts the running cell (SIGINT to the kernel, as its kernelspec's interrupt_mode says). */
  interrupt(): void {
    if (!this.exitInfo && this.process.pid) this.process.kill('SIGINT');
  }

  /**
   * Stops the kernel: a shutdown_request on control (graceful), then SIGTERM and SIGKILL to its whole
   * process group if it lingers. Closes our sockets and removes the connection file. Idempotent.
   */
  async shutdown(options: { graceful?: boolean; graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? 2_000;
    if (!this.exitInfo && options.graceful !== false) {
      try {
        const message = this.session.message('shutdown_request', { restart: false });
        this.track(message.header.msg_id, 'control');
        await this.control.send(this.session.serialize(message));
        await within(this.exitPromise, graceMs);
      } catch {
        // The kernel may already be gone; the signals below make sure.
      }
    }
    if (!this.exitInfo) {
      this.signalGroup('SIGTERM');
      await within(this.exitPromise, 1_000);
    }
    if (!this.exitInfo) {
      this.signalGroup('SIGKILL');
      await this.exitPromise;
    }
    // Children the notebook started may outlive the kernel itself: the group goes too.
    this.signalGroup('SIGKILL');
    this.close();
  }

  /** Synchronous kill of the kernel's process group (for process exit, and for tests simulating a crash). */
  killNow(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.signalGroup(signal);
    if (signal === 'SIGKILL') this.close();
  }

  /** Resolves when the kernel process has exited. */
  waitForExit(): Promise<void> {
    return this.exitPromise;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.process.pid;
    if (!pid) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const socket of [this.shell, this.control, this.stdin, this.iopub]) socket.close();
    rmSync(this.connectionDir, { recursive: true, force: true });
    this.process.stdout?.destroy();
    this.process.stderr?.destroy();
    live.delete(this);
  }

  private diedError(during?: string, cell?: CellLocation): KernelDiedError {
    return new KernelDiedError({
      cell,
      during,
      exitCode: this.exitInfo?.code ?? null,
      signal: this.exitInfo?.signal ?? null,
      stderrTail: this.stderrTail,
    });
  }

  private failPending(): void {
    for (const pending of this.pending.values()) pending.reject(this.diedError());
  }

  private track(msgId: string, channel: 'shell' | 'control', onMessage?: (message: Message) => void, outputs: Output[] = [], streams: StreamChunk[] = []) {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => undefined);
    const state: Pending = { msgId, idle: false, outputs, streams, onMessage, resolve, reject, channel };
    this.pending.set(msgId, state);
    if (this.exitInfo) reject(this.diedError());
    return { done, state };
  }

  private async receiveLoop(socket: zmq.Dealer | zmq.Subscriber, channel: 'shell' | 'control' | 'iopub'): Promise<void> {
    try {
      for await (const frames of socket) {
        let message: Message;
        try {
          message = this.session.deserialize(frames);
        } catch {
          // Unsigned or malformed: not from our kernel (or corrupted); never act on it.
          continue;
        }
        const parentId = message.parent_header?.msg_id;
        const pending = parentId ? this.pending.get(parentId) : undefined;
        if (!pending) continue;
        if (channel === 'iopub') this.onIopub(pending, message);
        else if (channel === pending.channel) pending.reply = message;
        if (pending.reply && pending.idle) pending.resolve();
      }
    } catch (error) {
      // Closing the socket ends the loop. Any other socket failure: no more answers will come, so the
      // requests waiting for them fail now (with the reason) instead of hanging.
      if (this.closed) return;
      const reason = error instanceof Error ? error.message : String(error);
      this.outputTail += `\n[hanlab] ${channel} socket failed: ${reason}`;
      for (const pending of this.pending.values()) pending.reject(new KernelConnectionError(`the ${channel} channel to the kernel failed: ${reason}`));
    }
  }

  private onIopub(pending: Pending, message: Message): void {
    pending.onMessage?.(message);
    const content = message.content as Record<string, unknown>;
    if (message.header.msg_type === 'status') {
      if (content.execution_state === 'idle') pending.idle = true;
      return;
    }
    applyIopubMessage(message.header.msg_type, content, pending, this.displays);
  }
}

/** Kills every kernel this process started (synchronously): for SIGINT/SIGTERM handlers in CLIs. */
export function killAllKernels(): void {
  for (const kernel of [...live]) kernel.killNow();
}

/** The number of kernels this process has started and not yet stopped. */
export function liveKernelCount(): number {
  return live.size;
}

/**
 * Removes connection folders of runners that no longer exist (killed together with their kernel, so
 * neither could clean up). Only our own folders, by name and owner.
 */
function sweepStaleConnectionDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = new RegExp(`^${CONNECTION_DIR_PREFIX}(\\d+)-[A-Za-z0-9]{6}$`).exec(entry);
    if (!match || Number(match[1]) === process.pid || processExists(Number(match[1]))) continue;
    const dir = path.join(os.tmpdir(), entry);
    try {
      if (typeof process.getuid === 'function' && statSync(dir).uid !== process.getuid()) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Removed meanwhile, or not ours.
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `promise` at most `ms`: true when it settled in time. Clears its timer (a pending timer would keep the process alive). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the OS for `count` free loopback ports (all held at once, so they are distinct). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}
