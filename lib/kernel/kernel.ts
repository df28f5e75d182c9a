/**
 * The protocol side of the hanlab kernel (ipykernel's kernelbase): every Jupyter message type of
 * protocol 5.3 on the shell and control channels, the status/execute_input/output/result order on
 * IOPub, history, comms, interrupts and shutdown. The language is an Engine (engine.ts); the sockets
 * are a transport (zmq-transport.ts). Nothing here knows TypeScript or ZeroMQ, so a test can drive it
 * with a fake engine and a fake transport.
 *
 * Aborting after an error follows ipykernel 6: a failed execute_request with `stop_on_error` aborts
 * only the execute requests already waiting at that moment; a request that arrives later runs. (tslab
 * aborted everything for 200 ms after an error, so nbclient's next cell came back empty.)
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MimeBundle } from '../notebook/nbformat.js';
import type { DisplayContent } from '../results/mime.js';
import { PROTOCOL_VERSION, type Message, type Session } from '../jupyter/protocol.js';
import type { CellFailure, Engine, ExecuteOutcome } from './engine.js';
import { History, type HistoryQuery } from './history.js';
import { IopubPublisher, type StreamName } from './iopub.js';

export type ChannelName = 'shell' | 'control' | 'iopub' | 'stdin';

export interface KernelTransport {
  /** Sends a message; messages on one channel leave in the order given. */
  send(channel: ChannelName, message: Message<object>): void;
}

/** Turns a cell's value into a mime bundle (text/plain at least). */
export type ValueFormatter = (value: unknown) => MimeBundle;

export interface KernelOptions {
  session: Session;
  engine: Engine;
  transport: KernelTransport;
  formatValue: ValueFormatter;
  /** Called after a shutdown_request was answered; the host closes sockets and exits. */
  onShutdown?: (restart: boolean) => void;
  /** Where the kernel's own diagnostics go (the real stderr, not a cell's). */
  log?: (text: string) => void;
  /** Start warming the engine this long after announce() if no request came first (default 500 ms). */
  warmAfterMs?: number;
  /** Anything else to load while the engine warms (the display channel's renderers). */
  prepare?: () => Promise<void>;
}

/** The execution whose outputs are being published. */
export interface CurrentExecution {
  parent: Message<object>;
  executionCount: number | null;
  /** The front end's id for the cell (execute_request metadata.cellId), when it sends one. */
  cellId?: string;
  /** Unique per execution, silent ones included. */
  serial: number;
  /** Whether the engine has started running it (it waits for the compiler first). */
  started?: boolean;
}

interface ExecuteRequest {
  code?: unknown;
  silent?: unknown;
  store_history?: unknown;
  user_expressions?: unknown;
  stop_on_error?: unknown;
}

export class Kernel {
  readonly history = new History();
  private readonly iopub: IopubPublisher;
  private readonly queue: Message[] = [];
  private readonly toAbort = new Set<Message>();
  private pumping = false;
  private executionCount = 0;
  private serial = 0;
  private running?: CurrentExecution;
  /** The last execute_request: output that arrives between cells (a timer's print) is shown there. */
  private lastParent?: Message<object>;
  /**
   * The execute_request whose code started the current asynchronous chain. A timer or promise a cell
   * left running writes under its own cell, as ipykernel does for threads, never into whichever cell
   * runs at that moment.
   */
  private readonly cellOfCode = new AsyncLocalStorage<Message<object>>();
  private warming?: Promise<void>;
  private warmTimer?: NodeJS.Timeout;
  private shuttingDown = false;
  private reportingUncaught = false;
  private interruptBeforeStart = false;

  constructor(private readonly options: KernelOptions) {
    this.iopub = new IopubPublisher(options.session, (message) => options.transport.send('iopub', message));
  }

  /**
   * Announces the kernel on IOPub (`starting`, then `idle`), as ipykernel does once its sockets are
   * bound. The compiler loads (blocking for a second or more) when a request needs it, or once the
   * clients have been quiet for `warmAfterMs`: a front end polling kernel_info until it sees the kernel
   * idle (jupyter_client's wait_for_ready) must not wait on it.
   */
  announce(): void {
    this.iopub.publish(undefined, 'status', { execution_state: 'starting' });
    this.iopub.publish(undefined, 'status', { execution_state: 'idle' });
    this.warmWhenQuiet();
  }

  private warmWhenQuiet(): void {
    if (this.warming) return;
    if (this.warmTimer) clearTimeout(this.warmTimer);
    this.warmTimer = setTimeout(() => void this.warm(), this.options.warmAfterMs ?? 500);
    this.warmTimer.unref();
  }

  /** A message arrived from a client. */
  receive(channel: ChannelName, message: Message): void {
    this.warmWhenQuiet();
    if (channel === 'control') {
      void this.handleControl(message);
      return;
    }
    if (channel !== 'shell') return; // stdin replies: the kernel never asks for input
    this.queue.push(message);
    void this.pump();
  }

  /**
   * Interrupts the running cell (SIGINT, interrupt_request). A cell still waiting for the compiler to
   * load is cancelled before it starts: the signal must not be lost while the kernel warms up.
   */
  interrupt(): void {
    if (this.running && !this.running.started) this.interruptBeforeStart = true;
    this.options.engine.interrupt();
  }

  /** The execution running now, for the display channel. */
  get current(): CurrentExecution | undefined {
    return this.running;
  }

  /** Stream text written by notebook code (process.stdout/stderr). */
  stream(name: StreamName, text: string): void {
    this.iopub.stream(this.outputParent(), name, text);
  }

  /** display_data / update_display_data from notebook code. */
  display(content: DisplayContent, update: boolean): void {
    const body = { data: content.data, metadata: content.metadata ?? {}, transient: content.transient ?? {} };
    this.iopub.publish(this.outputParent(), update ? 'update_display_data' : 'display_data', body);
  }

  clearOutput(wait: boolean): void {
    this.iopub.publish(this.outputParent(), 'clear_output', { wait });
  }

  /**
   * An exception nobody caught. It becomes the running cell's error; between cells it is shown under
   * the last cell (and in the kernel's log), never swallowed.
   */
  uncaught(error: unknown, describe: (error: unknown) => CellFailure): void {
    if (this.options.engine.failRunningCell(error)) return;
    // Reporting must not itself end up here again (a failing write reported by a failing write...).
    if (this.reportingUncaught) return;
    this.reportingUncaught = true;
    try {
      const failure = describe(error);
      this.log(`uncaught exception between cells: ${failure.traceback.join('\n')}`);
      this.iopub.publish(this.lastParent, 'error', { ename: failure.ename, evalue: failure.evalue, traceback: failure.traceback });
    } finally {
      this.reportingUncaught = false;
    }
  }

  /** Flushes buffered stream text (before the host exits). */
  flush(): void {
    this.iopub.flush();
  }

  private outputParent(): Message<object> | undefined {
    return this.cellOfCode.getStore() ?? this.running?.parent ?? this.lastParent;
  }

  private log(text: string): void {
    this.options.log?.(`[hanlab kernel] ${text}\n`);
  }

  /** Loads the compiler once, after the first request was answered (or soon after start). */
  private warm(): Promise<void> {
    if (this.warmTimer) clearTimeout(this.warmTimer);
    this.warming ??= Promise.all([this.options.engine.warm(), this.options.prepare?.()]).then(() => undefined, (error: unknown) => {
      // execute() reports it per cell; the log says it once.
      this.log(`the engine failed to load: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    });
    return this.warming;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let message = this.queue.shift(); message; message = this.queue.shift()) {
        try {
          await this.handleShell(message);
        } catch (error) {
          this.log(`failed to handle ${message.header.msg_type}: ${error instanceof Error ? error.stack : String(error)}`);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private reply(channel: 'shell' | 'control', parent: Message, msgType: string, content: object, metadata: Record<string, unknown> = {}): void {
    this.iopub.flush();
    this.options.transport.send(channel, this.options.session.reply(parent, msgType, content, metadata));
  }

  private busy<T>(parent: Message, work: () => Promise<T> | T): Promise<T> {
    this.iopub.publish(parent, 'status', { execution_state: 'busy' });
    return Promise.resolve()
      .then(work)
      .finally(() => this.iopub.publish(parent, 'status', { execution_state: 'idle' }));
  }

  private async handleShell(message: Message): Promise<void> {
    const type = message.header.msg_type;
    const content = (message.content ?? {}) as Record<string, unknown>;
    if (this.toAbort.delete(message)) {
      await this.busy(message, () => this.reply('shell', message, type.replace(/_request$/, '_reply'), { status: 'aborted' }, { status: 'aborted' }));
      return;
    }
    await this.busy(message, async () => {
      switch (type) {
        case 'execute_request':
          return this.execute(message, content as ExecuteRequest);
        case 'kernel_info_request':
          return this.reply('shell', message, 'kernel_info_reply', this.kernelInfo());
        case 'complete_request': {
          const code = String(content.code ?? '');
          const completion = await this.options.engine.complete(code, cursor(content.cursor_pos, code));
          return this.reply('shell', message, 'complete_reply', {
            status: 'ok',
            matches: completion.matches,
            cursor_start: completion.cursorStart,
            cursor_end: completion.cursorEnd,
            metadata: {},
          });
        }
        case 'inspect_request': {
          const code = String(content.code ?? '');
          const found = await this.options.engine.inspect(code, cursor(content.cursor_pos, code), Number(content.detail_level ?? 0));
          return this.reply('shell', message, 'inspect_reply', {
            status: 'ok',
            found: found.found,
            data: found.found && found.text !== undefined ? { 'text/plain': found.text } : {},
            metadata: {},
          });
        }
        case 'is_complete_request': {
          const answer = await this.options.engine.isComplete(String(content.code ?? ''));
          return this.reply('shell', message, 'is_complete_reply', answer.status === 'incomplete' ? { status: 'incomplete', indent: answer.indent ?? '' } : { status: answer.status });
        }
        case 'history_request':
          return this.reply('shell', message, 'history_reply', { status: 'ok', history: this.history.query(content as HistoryQuery) });
        case 'comm_info_request':
          // No comm targets are registered (no widgets); the answer is an empty, well-formed list.
          return this.reply('shell', message, 'comm_info_reply', { status: 'ok', comms: {} });
        case 'comm_open':
          // Unknown target: close it, as ipykernel does, so the front end does not wait on it.
          return this.iopub.publish(message, 'comm_close', { comm_id: content.comm_id, data: {} });
        case 'comm_msg':
        case 'comm_close':
          return undefined;
        case 'shutdown_request':
          return this.shutdown('shell', message, content.restart === true);
        case 'interrupt_request':
          this.interrupt();
          return this.reply('shell', message, 'interrupt_reply', { status: 'ok' });
        default:
          this.log(`unknown message type on shell: ${type}`);
          return undefined;
      }
    });
  }

  private async handleControl(message: Message): Promise<void> {
    const type = message.header.msg_type;
    await this.busy(message, () => {
      switch (type) {
        case 'kernel_info_request':
          return this.reply('control', message, 'kernel_info_reply', this.kernelInfo());
        case 'interrupt_request':
          this.interrupt();
          return this.reply('control', message, 'interrupt_reply', { status: 'ok' });
        case 'shutdown_request':
          return this.shutdown('control', message, (message.content as { restart?: unknown }).restart === true);
        default:
          this.log(`unknown message type on control: ${type}`);
          return undefined;
      }
    });
  }

  private kernelInfo(): Record<string, unknown> {
    const engine = this.options.engine;
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: engine.implementation,
      implementation_version: engine.implementationVersion,
      language_info: engine.languageInfo,
      banner: engine.banner(),
      help_links: [],
      debugger: false,
    };
  }

  private shutdown(channel: 'shell' | 'control', message: Message, restart: boolean): void {
    this.reply(channel, message, 'shutdown_reply', { status: 'ok', restart });
    // Other front ends learn of it on IOPub (ipykernel does the same).
    this.iopub.publish(message, 'shutdown_reply', { status: 'ok', restart });
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    setImmediate(() => this.options.onShutdown?.(restart));
  }

  private async execute(message: Message, request: ExecuteRequest): Promise<void> {
    const code = typeof request.code === 'string' ? request.code : '';
    const silent = request.silent === true;
    const storeHistory = !silent && request.store_history !== false;
    const stopOnError = request.stop_on_error !== false;
    const started = new Date().toISOString();
    if (!silent) {
      this.executionCount++;
      this.iopub.publish(message, 'execute_input', { code, execution_count: this.executionCount });
    }
    const count = this.executionCount;
    if (storeHistory) this.history.add(count, code);
    const cellId = (message.metadata as { cellId?: unknown } | undefined)?.cellId;
    this.running = { parent: message, executionCount: silent ? null : count, cellId: typeof cellId === 'string' ? cellId : undefined, serial: ++this.serial };
    this.lastParent = message;
    let outcome: ExecuteOutcome;
    try {
      await this.warm();
      // An interrupt that came while the compiler loaded is handled (a macrotask) before the cell starts.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.interruptBeforeStart) {
        this.interruptBeforeStart = false;
        outcome = { status: 'error', failure: { ename: 'InterruptError', evalue: 'the cell was interrupted', traceback: ['InterruptError: the cell was interrupted before it started'] } };
      } else {
        this.running.started = true;
        outcome = await this.cellOfCode.run(message, () => this.options.engine.execute(code, { executionCount: silent ? null : count }));
      }
    } catch (error) {
      outcome = { status: 'error', failure: { ename: 'KernelError', evalue: `the kernel failed to run the cell: ${error instanceof Error ? error.message : String(error)}`, traceback: [] } };
    } finally {
      this.running = undefined;
      this.interruptBeforeStart = false;
    }
    const metadata = { started, dependencies_met: true, engine: this.options.session.id, status: outcome.status };
    if (outcome.status === 'error') {
      const { ename, evalue, traceback } = outcome.failure;
      this.iopub.publish(message, 'error', { ename, evalue, traceback });
      this.reply('shell', message, 'execute_reply', { status: 'error', execution_count: count, ename, evalue, traceback }, metadata);
      if (stopOnError && !silent) for (const waiting of this.queue) if (waiting.header.msg_type === 'execute_request') this.toAbort.add(waiting);
      return;
    }
    if (outcome.result && !silent) {
      const data = this.format(outcome.result.value);
      this.iopub.publish(message, 'execute_result', { execution_count: count, data, metadata: {} });
      if (storeHistory && typeof data['text/plain'] === 'string') this.history.setOutput(count, data['text/plain']);
    }
    const userExpressions = await this.userExpressions(request.user_expressions);
    this.reply('shell', message, 'execute_reply', { status: 'ok', execution_count: count, payload: outcome.payload ?? [], user_expressions: userExpressions }, metadata);
  }

  private format(value: unknown): MimeBundle {
    try {
      return this.options.formatValue(value);
    } catch (error) {
      return { 'text/plain': `<the value could not be displayed: ${error instanceof Error ? error.message : String(error)}>` };
    }
  }

  /** user_expressions: each expression evaluated after the cell, silently, as ipykernel does. */
  private async userExpressions(expressions: unknown): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    if (typeof expressions !== 'object' || expressions === null) return out;
    for (const [name, expression] of Object.entries(expressions)) {
      const outcome = await this.options.engine.execute(String(expression), { executionCount: null });
      Object.defineProperty(out, name, {
        value:
          outcome.status === 'ok'
            ? { status: 'ok', data: outcome.result ? this.format(outcome.result.value) : { 'text/plain': 'undefined' }, metadata: {} }
            : { status: 'error', ...outcome.failure },
        enumerable: true,
      });
    }
    return out;
  }
}

function cursor(position: unknown, code: string): number {
  return typeof position === 'number' && Number.isInteger(position) && position >= 0 ? Math.min(position, code.length) : code.length;
}
