/**
 * The protocol layer (lib/kernel/kernel.ts) driven with a fake engine and a fake transport: message
 * order on IOPub, reply shapes, abort semantics, history, comms, shutdown. No sockets, no TypeScript.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CellFailure, Engine, ExecuteContext, ExecuteOutcome } from '../../lib/kernel/engine.js';
import { Kernel, type ChannelName } from '../../lib/kernel/kernel.js';
import { Session, type Message } from '../../lib/jupyter/protocol.js';

const FAILURE: CellFailure = { ename: 'RangeError', evalue: 'bad', traceback: ['RangeError: bad', '    at In[1]:1:7'] };

/** Runs code by name: `value:<text>`, `print:<n>` (n stream writes), `later:<text>` (written after the cell ended), `fail`, `wait` (until released). */
class FakeEngine implements Engine {
  readonly languageInfo = { name: 'typescript', version: '5.0.4', mimetype: 'text/typescript', file_extension: '.ts' };
  readonly implementation = 'hanlab';
  readonly implementationVersion = '9.9.9';
  kernel?: Kernel;
  interrupts = 0;
  executed: Array<{ code: string; context: ExecuteContext }> = [];
  private release?: () => void;
  private running = false;
  private pendingUncaught?: unknown;

  banner() {
    return 'fake banner';
  }
  async warm() {}
  async execute(code: string, context: ExecuteContext): Promise<ExecuteOutcome> {
    this.executed.push({ code, context });
    this.running = true;
    try {
      if (code === 'wait') await new Promise<void>((resolve) => (this.release = resolve));
      if (code.startsWith('later:')) setTimeout(() => this.kernel!.stream('stdout', code.slice(6)), 20);
      if (code.startsWith('print:')) for (let i = 0; i < Number(code.slice(6)); i++) this.kernel!.stream('stdout', `line ${i}\n`);
      if (code === 'display') {
        this.kernel!.display({ data: { 'text/plain': 'shown' }, metadata: {} }, false);
        this.kernel!.clearOutput(true);
      }
      if (code === 'fail') return { status: 'error', failure: FAILURE };
      if (this.pendingUncaught !== undefined) return { status: 'error', failure: { ename: 'Error', evalue: String(this.pendingUncaught), traceback: [] } };
      if (code.startsWith('value:')) return { status: 'ok', result: { value: code.slice(6) } };
      return { status: 'ok' };
    } finally {
      this.running = false;
      this.pendingUncaught = undefined;
    }
  }
  releaseWait() {
    this.release?.();
  }
  async complete(code: string) {
    return { matches: ['max', 'min'], cursorStart: code.length - 1, cursorEnd: code.length };
  }
  async inspect() {
    return { found: true, text: 'help text' };
  }
  async isComplete(code: string) {
    return code.endsWith('{') ? { status: 'incomplete' as const, indent: '  ' } : code === 'import = 7q' ? { status: 'invalid' as const } : { status: 'complete' as const };
  }
  interrupt() {
    this.interrupts++;
  }
  failRunningCell(error: unknown) {
    if (!this.running) return false;
    this.pendingUncaught = error;
    return true;
  }
  close() {}
}

function setup() {
  const session = new Session('key', 'kernel-session');
  const client = new Session('key', 'client-session', 'tester');
  const engine = new FakeEngine();
  const sent: Array<{ channel: ChannelName; message: Message<object> }> = [];
  const logged: string[] = [];
  let shutdowns = 0;
  const kernel = new Kernel({
    session,
    engine,
    transport: { send: (channel, message) => sent.push({ channel, message }) },
    formatValue: (value) => ({ 'text/plain': `'${String(value)}'` }),
    log: (text) => logged.push(text),
    onShutdown: () => shutdowns++,
    warmAfterMs: 10,
  });
  engine.kernel = kernel;
  const request = (msgType: string, content: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => {
    const message = client.message(msgType, content, metadata) as Message;
    message.identities = [Buffer.from('client-1')];
    return message;
  };
  const execute = (code: string, extra: Record<string, unknown> = {}) => request('execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...extra });
  /** Waits until a reply to `message` was sent and the kernel published idle for it. */
  const settled = async (message: Message) => {
    for (let i = 0; i < 200; i++) {
      const mine = sent.filter((entry) => entry.message.parent_header.msg_id === message.header.msg_id);
      if (mine.some((entry) => entry.channel === 'iopub' && entry.message.header.msg_type === 'status' && (entry.message.content as { execution_state: string }).execution_state === 'idle')) return mine;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`no idle for ${message.header.msg_type}`);
  };
  const summary = (entries: Array<{ channel: ChannelName; message: Message<object> }>) =>
    entries.map(({ channel, message }) => {
      const content = message.content as Record<string, unknown>;
      return `${channel}:${message.header.msg_type}${message.header.msg_type === 'status' ? `:${content.execution_state}` : ''}`;
    });
  return { kernel, engine, sent, logged, request, execute, settled, summary, shutdowns: () => shutdowns };
}

describe('Kernel (protocol layer) with a fake engine', () => {
  test('execute: busy, execute_input, outputs, execute_result, then the reply, then idle; all under the request', async () => {
    const { kernel, execute, settled, summary, engine } = setup();
    const message = execute('value:6');
    kernel.receive('shell', message);
    const mine = await settled(message);
    assert.deepEqual(summary(mine), ['iopub:status:busy', 'iopub:execute_input', 'iopub:execute_result', 'shell:execute_reply', 'iopub:status:idle']);
    assert.deepEqual(mine[1].message.content, { code: 'value:6', execution_count: 1 });
    assert.deepEqual(mine[2].message.content, { execution_count: 1, data: { 'text/plain': "'6'" }, metadata: {} });
    assert.deepEqual(mine[3].message.content, { status: 'ok', execution_count: 1, payload: [], user_expressions: {} });
    assert.deepEqual(mine[3].message.identities, [Buffer.from('client-1')], 'the reply is routed back to the client that asked');
    assert.deepEqual(engine.executed[0].context, { executionCount: 1 });
  });

  test('an error: an iopub error and an error reply with ename/evalue/traceback', async () => {
    const { kernel, execute, settled, summary } = setup();
    const message = execute('fail');
    kernel.receive('shell', message);
    const mine = await settled(message);
    assert.deepEqual(summary(mine), ['iopub:status:busy', 'iopub:execute_input', 'iopub:error', 'shell:execute_reply', 'iopub:status:idle']);
    assert.deepEqual(mine[2].message.content, FAILURE);
    assert.deepEqual(mine[3].message.content, { status: 'error', execution_count: 1, ...FAILURE });
  });

  test('no abort window: a request sent after an error runs; only requests already waiting are aborted (ipykernel 6)', async () => {
    const { kernel, execute, settled, engine } = setup();
    const failing = execute('fail');
    const queuedBehind = execute('value:queued');
    const notStopping = execute('fail', { stop_on_error: false });
    kernel.receive('shell', failing);
    kernel.receive('shell', queuedBehind);
    await settled(queuedBehind);
    const aborted = (await settled(queuedBehind)).find((entry) => entry.message.header.msg_type === 'execute_reply')!;
    assert.deepEqual(aborted.message.content, { status: 'aborted' });
    // After the error was answered: no window, it runs.
    const after = execute('value:after');
    kernel.receive('shell', after);
    const reply = (await settled(after)).find((entry) => entry.message.header.msg_type === 'execute_reply')!;
    assert.equal((reply.message.content as { status: string }).status, 'ok');
    // stop_on_error false (nbclient --allow-errors) never aborts what follows.
    const behind = execute('value:behind');
    kernel.receive('shell', notStopping);
    kernel.receive('shell', behind);
    const behindReply = (await settled(behind)).find((entry) => entry.message.header.msg_type === 'execute_reply')!;
    assert.equal((behindReply.message.content as { status: string }).status, 'ok');
    assert.deepEqual(engine.executed.map((run) => run.code), ['fail', 'value:after', 'fail', 'value:behind']);
  });

  test('400 writes in one synchronous burst leave as one stream message', async () => {
    const { kernel, execute, settled } = setup();
    const message = execute('print:400');
    kernel.receive('shell', message);
    const streams = (await settled(message)).filter((entry) => entry.message.header.msg_type === 'stream');
    assert.equal(streams.length, 1);
    const text = (streams[0].message.content as { text: string }).text;
    assert.equal(text.split('\n').length, 401);
    assert.ok(text.endsWith('line 399\n'));
  });

  test('output a cell left behind (a timer firing later) goes to that cell, not to the cell running then', async () => {
    const { kernel, execute, settled, engine, sent } = setup();
    const early = execute('later:late line\n');
    kernel.receive('shell', early);
    await settled(early);
    const running = execute('wait');
    kernel.receive('shell', running);
    await new Promise((resolve) => setTimeout(resolve, 60));
    engine.releaseWait();
    await settled(running);
    kernel.flush();
    const streams = sent.filter((entry) => entry.message.header.msg_type === 'stream');
    assert.equal(streams.length, 1);
    assert.deepEqual(streams[0].message.parent_header, early.header);
    assert.deepEqual(streams[0].message.content, { name: 'stdout', text: 'late line\n' });
  });

  test('display_data and clear_output go to the running cell', async () => {
    const { kernel, execute, settled, summary } = setup();
    const message = execute('display');
    kernel.receive('shell', message);
    const mine = await settled(message);
    assert.deepEqual(summary(mine), ['iopub:status:busy', 'iopub:execute_input', 'iopub:display_data', 'iopub:clear_output', 'shell:execute_reply', 'iopub:status:idle']);
    assert.deepEqual(mine[3].message.content, { wait: true });
  });

  test('silent: no execute_input, no result, no new execution count; store_history false keeps history clean', async () => {
    const { kernel, execute, settled, summary, request } = setup();
    const silent = execute('value:hidden', { silent: true });
    kernel.receive('shell', silent);
    assert.deepEqual(summary(await settled(silent)), ['iopub:status:busy', 'shell:execute_reply', 'iopub:status:idle']);
    const unstored = execute('value:x', { store_history: false });
    kernel.receive('shell', unstored);
    await settled(unstored);
    const history = request('history_request', { output: false, raw: true, hist_access_type: 'tail', n: 10 });
    kernel.receive('shell', history);
    const reply = (await settled(history)).find((entry) => entry.channel === 'shell')!;
    assert.deepEqual(reply.message.content, { status: 'ok', history: [] });
  });

  test('history: tail, range, glob search (unique, n), with outputs', async () => {
    const { kernel, execute, settled, request } = setup();
    for (const code of ['value:1 + 2', 'value:abc', 'value:1 + 2', 'value:1 + 3']) {
      const message = execute(code);
      kernel.receive('shell', message);
      await settled(message);
    }
    const ask = async (content: Record<string, unknown>) => {
      const message = request('history_request', { output: false, raw: true, ...content });
      kernel.receive('shell', message);
      return ((await settled(message)).find((entry) => entry.channel === 'shell')!.message.content as { history: unknown[] }).history;
    };
    assert.deepEqual(await ask({ hist_access_type: 'tail', n: 2 }), [[1, 3, 'value:1 + 2'], [1, 4, 'value:1 + 3']]);
    assert.deepEqual(await ask({ hist_access_type: 'tail', n: 1, output: true }), [[1, 4, ['value:1 + 3', "'1 + 3'"]]]);
    assert.deepEqual(await ask({ hist_access_type: 'range', session: 1, start: 2, stop: 4 }), [[1, 2, 'value:abc'], [1, 3, 'value:1 + 2']]);
    assert.deepEqual(await ask({ hist_access_type: 'search', pattern: 'value:1 + ?' }), [[1, 1, 'value:1 + 2'], [1, 3, 'value:1 + 2'], [1, 4, 'value:1 + 3']]);
    assert.deepEqual(await ask({ hist_access_type: 'search', pattern: 'value:1*', unique: true }), [[1, 3, 'value:1 + 2'], [1, 4, 'value:1 + 3']]);
    assert.deepEqual(await ask({ hist_access_type: 'search', pattern: '*', n: 1 }), [[1, 4, 'value:1 + 3']]);
  });

  test('kernel_info on shell and control, is_complete, complete, inspect: the right reply types and fields', async () => {
    const { kernel, request, settled } = setup();
    const replyOf = async (channel: 'shell' | 'control', msgType: string, content: Record<string, unknown> = {}) => {
      const message = request(msgType, content);
      kernel.receive(channel, message);
      return (await settled(message)).find((entry) => entry.channel === channel)!.message;
    };
    for (const channel of ['shell', 'control'] as const) {
      const info = await replyOf(channel, 'kernel_info_request');
      assert.equal(info.header.msg_type, 'kernel_info_reply');
      assert.deepEqual(info.content, {
        status: 'ok',
        protocol_version: '5.3',
        implementation: 'hanlab',
        implementation_version: '9.9.9',
        language_info: { name: 'typescript', version: '5.0.4', mimetype: 'text/typescript', file_extension: '.ts' },
        banner: 'fake banner',
        help_links: [],
        debugger: false,
      });
    }
    assert.deepEqual((await replyOf('shell', 'is_complete_request', { code: 'function f() {' })).content, { status: 'incomplete', indent: '  ' });
    assert.deepEqual((await replyOf('shell', 'is_complete_request', { code: 'import = 7q' })).content, { status: 'invalid' });
    assert.deepEqual((await replyOf('shell', 'complete_request', { code: 'Math.m', cursor_pos: 6 })).content, { status: 'ok', matches: ['max', 'min'], cursor_start: 5, cursor_end: 6, metadata: {} });
    assert.deepEqual((await replyOf('shell', 'inspect_request', { code: 'Math.max', cursor_pos: 8, detail_level: 0 })).content, { status: 'ok', found: true, data: { 'text/plain': 'help text' }, metadata: {} });
  });

  test('comm_info is answered with comm_info_reply; comm_open to an unknown target is closed; nothing is logged', async () => {
    const { kernel, request, settled, logged } = setup();
    const info = request('comm_info_request', { target_name: 'jupyter.widget' });
    kernel.receive('shell', info);
    const reply = (await settled(info)).find((entry) => entry.channel === 'shell')!.message;
    assert.equal(reply.header.msg_type, 'comm_info_reply');
    assert.deepEqual(reply.content, { status: 'ok', comms: {} });
    const open = request('comm_open', { comm_id: 'c-1', target_name: 'jupyter.widget', data: {} });
    kernel.receive('shell', open);
    const closing = (await settled(open)).find((entry) => entry.message.header.msg_type === 'comm_close')!;
    assert.equal(closing.channel, 'iopub');
    assert.deepEqual(closing.message.content, { comm_id: 'c-1', data: {} });
    const message = request('comm_msg', { comm_id: 'c-1', data: {} });
    kernel.receive('shell', message);
    await settled(message);
    assert.deepEqual(logged, []);
  });

  test('interrupt_request interrupts the engine; shutdown_request is answered on control and IOPub, then the host closes', async () => {
    const { kernel, request, settled, engine, shutdowns, execute } = setup();
    const waiting = execute('wait');
    kernel.receive('shell', waiting);
    const interrupt = request('interrupt_request');
    kernel.receive('control', interrupt);
    const interruptReply = (await settled(interrupt)).find((entry) => entry.channel === 'control')!.message;
    assert.deepEqual([interruptReply.header.msg_type, interruptReply.content], ['interrupt_reply', { status: 'ok' }]);
    assert.equal(engine.interrupts, 1, 'control is served while a cell runs');
    engine.releaseWait();
    await settled(waiting);
    const shutdown = request('shutdown_request', { restart: true });
    kernel.receive('control', shutdown);
    const replies = (await settled(shutdown)).filter((entry) => entry.message.header.msg_type === 'shutdown_reply');
    assert.deepEqual(replies.map((entry) => [entry.channel, entry.message.content]), [['control', { status: 'ok', restart: true }], ['iopub', { status: 'ok', restart: true }]]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(shutdowns(), 1);
  });

  test('an uncaught exception fails the running cell; between cells it is shown under the last cell', async () => {
    const { kernel, execute, settled, sent, engine } = setup();
    const waiting = execute('wait');
    kernel.receive('shell', waiting);
    await new Promise((resolve) => setTimeout(resolve, 20));
    kernel.uncaught('boom', () => ({ ename: 'X', evalue: 'never used', traceback: [] }));
    engine.releaseWait();
    const reply = (await settled(waiting)).find((entry) => entry.channel === 'shell')!.message.content as { status: string; evalue: string };
    assert.deepEqual([reply.status, reply.evalue], ['error', 'boom']);
    const before = sent.length;
    kernel.uncaught(new Error('later'), () => ({ ename: 'Error', evalue: 'later', traceback: ['Error: later'] }));
    const late = sent.slice(before);
    assert.deepEqual(late.map((entry) => [entry.channel, entry.message.header.msg_type, entry.message.parent_header.msg_id]), [['iopub', 'error', waiting.header.msg_id]]);
  });

  test('user_expressions are evaluated silently after the cell', async () => {
    const { kernel, execute, settled } = setup();
    const message = execute('value:1', { user_expressions: { answer: 'value:42' } });
    kernel.receive('shell', message);
    const reply = (await settled(message)).find((entry) => entry.channel === 'shell')!.message.content as { user_expressions: unknown };
    assert.deepEqual(reply.user_expressions, { answer: { status: 'ok', data: { 'text/plain': "'42'" }, metadata: {} } });
  });
});
