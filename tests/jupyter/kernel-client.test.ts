import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { KernelDiedError, KernelSpecError } from '../../lib/jupyter/errors.js';
import { ExecuteTimeout, KernelClient, liveKernelCount } from '../../lib/jupyter/kernel-client.js';
import { isListening, newMarker, processesWithMarker, waitForNoProcesses } from '../notebook/processes.js';

const marker = newMarker();
let kernel: KernelClient;

// One kernel for the whole file: starting tslab takes seconds.
before(async () => {
  kernel = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
});
after(async () => {
  await kernel?.shutdown({ graceful: false });
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel process may outlive the tests');
});

describe('KernelClient with a real hanlab kernel', () => {
  test('the kernel runs from the project root and answers kernel_info', async () => {
    const info = await kernel.kernelInfo();
    assert.equal((info.language_info as { name: string }).name, 'typescript');
    const outcome = await kernel.execute('console.log(process.cwd()); console.log(process.env.HANLAB_KERNEL)');
    assert.equal(outcome.status, 'ok');
    assert.deepEqual(outcome.outputs, [{ output_type: 'stream', name: 'stdout', text: `${process.cwd()}\nhanlab\n` }]);
    assert.equal(typeof outcome.executionCount, 'number');
  });

  test('stdout and stderr arrive as streams in order, display data with all mime types', async () => {
    const outcome = await kernel.execute(
      "console.log('a'); console.error('b'); console.log('c');\nimport * as tslab from 'tslab';\ntslab.display.html('<b>x</b>');",
    );
    assert.equal(outcome.status, 'ok');
    assert.deepEqual(outcome.outputs, [
      { output_type: 'stream', name: 'stdout', text: 'a\n' },
      { output_type: 'stream', name: 'stderr', text: 'b\n' },
      { output_type: 'stream', name: 'stdout', text: 'c\n' },
      { output_type: 'display_data', data: { 'text/html': '<b>x</b>' }, metadata: {} },
    ]);
    assert.deepEqual(outcome.streams.map((chunk) => chunk.text), ['a\n', 'b\n', 'c\n']);
  });

  test('a failing cell: an error output and an execute_reply with ename/evalue/traceback; the next request runs at once', async () => {
    const outcome = await kernel.execute("throw new Error('nope')");
    assert.equal(outcome.status, 'error');
    assert.deepEqual([outcome.reply.ename, outcome.reply.evalue], ['Error', 'nope']);
    assert.deepEqual(outcome.outputs.map((output) => output.output_type), ['error']);
    assert.deepEqual(outcome.streams, [], 'the error is not printed to stderr as well');
    // No abort window (tslab aborted everything for 200 ms after an error).
    const next = await kernel.execute('1 + 1');
    assert.equal(next.status, 'ok');
    assert.deepEqual(next.outputs, [{ output_type: 'execute_result', execution_count: next.executionCount, data: { 'text/plain': '2' }, metadata: {} }]);
  });

  test('the heartbeat echoes', async () => {
    assert.equal(await kernel.heartbeat(), true);
  });

  test('a timeout rejects with ExecuteTimeout and the outputs so far; interrupt stops the cell', async () => {
    const outputs: unknown[] = [];
    await assert.rejects(
      kernel.execute("console.log('waiting');\nawait new Promise((resolve) => setTimeout(resolve, 60000));", { timeoutMs: 500, outputs: outputs as never }),
      (error: unknown) => error instanceof ExecuteTimeout && error.timeoutMs === 500,
    );
    assert.deepEqual(outputs, [{ output_type: 'stream', name: 'stdout', text: 'waiting\n' }]);
    kernel.interrupt();
    // A request that reaches the kernel before the interrupted cell has ended waits behind it, and a
    // cell ending in an error aborts what waits behind it (ipykernel does the same); then ask again.
    let alive = await kernel.execute("console.log('still alive')");
    if (alive.status === 'abort') alive = await kernel.execute("console.log('still alive')");
    assert.deepEqual([alive.status, alive.outputs], ['ok', [{ output_type: 'stream', name: 'stdout', text: 'still alive\n' }]]);
  });

  test('shutdown stops the process, closes every port and removes the connection file', async () => {
    const second = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
    const ports = [second.connection.shell_port, second.connection.iopub_port, second.connection.stdin_port, second.connection.control_port, second.connection.hb_port];
    // The key that signs messages is readable by this user only, in a folder only this user can list.
    assert.equal(statSync(second.connectionFile).mode & 0o777, 0o600);
    assert.equal(statSync(second.connectionDir).mode & 0o777, 0o700);
    assert.ok(await isListening(ports[0]));
    assert.ok(processesWithMarker(marker).includes(second.pid!));
    await second.shutdown({ graceMs: 20_000 });
    assert.deepEqual(second.exited, { code: 0, signal: null }, 'shutdown_request ends the kernel by itself');
    for (const port of ports) assert.equal(await isListening(port), false, `port ${port} still open`);
    assert.equal(existsSync(second.connectionFile), false);
    assert.equal(existsSync(second.connectionDir), false, 'the private folder goes too');
    assert.equal(processesWithMarker(marker).includes(second.pid!), false);
    await assert.rejects(second.execute('1'), KernelDiedError);
  });

  test('a kernel killed from outside fails the running request with KernelDiedError', async () => {
    const victim = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
    const running = victim.execute('await new Promise((resolve) => setTimeout(resolve, 60000));', { cell: { index: 4, firstLine: 'await sleep()' } });
    setTimeout(() => process.kill(victim.pid!, 'SIGKILL'), 200);
    await assert.rejects(running, (error: unknown) => error instanceof KernelDiedError && error.signal === 'SIGKILL' && /while running cell 5 \("await sleep\(\)"\)/.test(error.message));
    await victim.shutdown();
    assert.equal(liveKernelCount(), 1, 'only the shared kernel is left');
  });

  test('an unknown kernel name fails before anything starts', async () => {
    await assert.rejects(KernelClient.start({ kernel: 'nope' }), KernelSpecError);
  });
});
