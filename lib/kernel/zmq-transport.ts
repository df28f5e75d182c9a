/**
 * The kernel's five ZeroMQ sockets (shell and control ROUTER, IOPub PUB, stdin ROUTER, heartbeat REP)
 * bound as the connection file says, with every incoming message checked against the HMAC key.
 *
 * zeromq.js allows one send in flight per socket, so each socket has a queue that sends in order.
 * The heartbeat echoes from a worker thread with its own ZeroMQ context, as ipykernel's heartbeat
 * thread does: a cell that keeps the main thread busy for minutes must not look like a dead kernel.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as zmq from 'zeromq';
import { channelAddress, ProtocolError, type ConnectionInfo, type Message, type Session } from '../jupyter/protocol.js';
import type { ChannelName, KernelTransport } from './kernel.js';

/** Sends a socket's messages one after another. */
class SendQueue {
  private readonly pending: Buffer[][] = [];
  private sending = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly socket: zmq.Router | zmq.Publisher,
    private readonly onError: (error: unknown) => void,
  ) {}

  push(frames: Buffer[]): void {
    this.pending.push(frames);
    if (!this.sending) void this.run();
  }

  /** Resolves when everything queued so far has been handed to ZeroMQ. */
  drained(): Promise<void> {
    if (!this.sending && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async run(): Promise<void> {
    this.sending = true;
    try {
      for (let frames = this.pending.shift(); frames; frames = this.pending.shift()) {
        try {
          await this.socket.send(frames);
        } catch (error) {
          if (this.socket.closed) return;
          this.onError(error);
        }
      }
    } finally {
      this.sending = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}

/**
 * A heartbeat echo in its own thread (plain CommonJS: a worker has no TypeScript loader). A worker
 * ended while its ZeroMQ socket is open aborts the whole process, so the socket is closed first: on a
 * message (orderly shutdown), or synchronously at process exit (a notebook calling process.exit()),
 * when the main thread waits on `closed` until the worker has closed it.
 */
const HEARTBEAT_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const zmq = require(workerData.zeromq);
const closed = new Int32Array(workerData.closed);
const socket = new zmq.Reply({ linger: 0 });
const close = () => { if (!socket.closed) socket.close(); Atomics.store(closed, 0, 1); Atomics.notify(closed, 0); };
parentPort.once('message', () => { close(); parentPort.close(); });
(async () => {
  await socket.bind(workerData.address);
  for await (const frames of socket) await socket.send(frames);
})().catch((error) => { if (!socket.closed) parentPort.postMessage(String(error && error.message || error)); });
`;

export class ZmqTransport implements KernelTransport {
  private readonly sockets: { shell: zmq.Router; control: zmq.Router; stdin: zmq.Router; iopub: zmq.Publisher };
  private readonly queues: Record<ChannelName, SendQueue>;
  private heartbeat?: Worker;
  private closed = false;

  private constructor(
    private readonly connection: ConnectionInfo,
    private readonly session: Session,
    private readonly log: (text: string) => void,
  ) {
    this.sockets = {
      shell: new zmq.Router({ linger: 1000 }),
      control: new zmq.Router({ linger: 1000 }),
      stdin: new zmq.Router({ linger: 0 }),
      // Outputs are coalesced (iopub.ts), so this only guards against a client that stopped reading.
      iopub: new zmq.Publisher({ linger: 1000, sendHighWaterMark: 100_000 }),
    };
    const report = (channel: ChannelName) => (error: unknown) => this.log(`[hanlab kernel] sending on ${channel} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    this.queues = {
      shell: new SendQueue(this.sockets.shell, report('shell')),
      control: new SendQueue(this.sockets.control, report('control')),
      stdin: new SendQueue(this.sockets.stdin, report('stdin')),
      iopub: new SendQueue(this.sockets.iopub, report('iopub')),
    };
  }

  /** Binds every socket; `onMessage` gets each verified message from shell, control and stdin. */
  static async bind(connection: ConnectionInfo, session: Session, onMessage: (channel: ChannelName, message: Message) => void, log: (text: string) => void): Promise<ZmqTransport> {
    const transport = new ZmqTransport(connection, session, log);
    const { shell, control, stdin, iopub } = transport.sockets;
    await Promise.all([
      iopub.bind(channelAddress(connection, 'iopub')),
      shell.bind(channelAddress(connection, 'shell')),
      control.bind(channelAddress(connection, 'control')),
      stdin.bind(channelAddress(connection, 'stdin')),
    ]);
    transport.startHeartbeat();
    for (const channel of ['shell', 'control', 'stdin'] as const) void transport.receive(channel, onMessage);
    return transport;
  }

  send(channel: ChannelName, message: Message<object>): void {
    if (this.closed) return;
    this.queues[channel].push(this.session.serialize(message));
  }

  /** Waits (at most `timeoutMs`) until every queued message has been handed to ZeroMQ. */
  async drain(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(Object.values(this.queues).map((queue) => queue.drained())),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Closes every socket, the heartbeat thread's included (waits for that thread to end, at most a second). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of Object.values(this.sockets)) socket.close();
    const heartbeat = this.heartbeat;
    if (!heartbeat) return;
    const ended = new Promise<void>((resolve) => heartbeat.once('exit', () => resolve()));
    heartbeat.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }

  private startHeartbeat(): void {
    const zeromq = createRequire(path.join(process.cwd(), 'package.json')).resolve('zeromq');
    const closed = new SharedArrayBuffer(4);
    const worker = new Worker(HEARTBEAT_WORKER, { eval: true, workerData: { zeromq, address: channelAddress(this.connection, 'hb'), closed } });
    worker.on('message', (message) => this.log(`[hanlab kernel] heartbeat: ${String(message)}\n`));
    worker.on('error', (error) => this.log(`[hanlab kernel] heartbeat thread failed: ${error.message}\n`));
    worker.unref();
    process.once('exit', () => {
      if (this.closed) return;
      worker.postMessage('close');
      Atomics.wait(new Int32Array(closed), 0, 0, 1000);
    });
    this.heartbeat = worker;
  }

  private async receive(channel: 'shell' | 'control' | 'stdin', onMessage: (channel: ChannelName, message: Message) => void): Promise<void> {
    try {
      for await (const frames of this.sockets[channel]) {
        let message: Message;
        try {
          message = this.session.deserialize(frames);
        } catch (error) {
          // A message not signed with our key is not from our client: never act on it.
          if (error instanceof ProtocolError) this.log(`[hanlab kernel] dropped a message on ${channel}: ${error.message}\n`);
          continue;
        }
        onMessage(channel, message);
      }
    } catch (error) {
      if (!this.closed) this.log(`[hanlab kernel] the ${channel} socket failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}
