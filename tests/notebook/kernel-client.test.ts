import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { KernelDiedError, KernelSpecError } from '../../lib/notebook/errors.js';
import { ExecuteTimeout, KernelClient, liveKernelCount, type ExecuteOutcome } from '../../lib/notebook/kernel-client.js';
import { isListening, newMarker, processesWithMarker, waitForNoProcesses } from './processes.js';

const marker = newMarker();
let kernel: KernelClient;

/**
 * tslab answers "abort" to requests arriving within 200 ms of a failed (or interrupted) cell; how soon
 * that window opens depends on the machine's load, so retry past it, as the runner does.
 */
async function afterAbortWindow(execute: () => Promise<ExecuteOutcome>): Promise<ExecuteOutcome> {
  for (let attempt = 0; ; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const outcome = await execute();
    if (outcome.status !== 'abort' || attempt === 10) return outcome;
  }
}

// One kernel for the whole file: starting tslab takes seconds.
before(async () => {
  kernel = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
});
after(async () => {
  await kernel?.shutdown({ graceful: false });
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel process may outlive the tests');
});

describe('KernelClient with a real tslab kernel', () => {
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

  test('a failing cell answers status error with the error text on stderr (tslab has no error message)', async () => {
    const outcome = await kernel.execute("throw new Error('nope')");
    assert.equal(outcome.status, 'error');
    assert.equal(outcome.reply.ename, undefined, 'tslab sends no ename: the runner builds the error output');
    assert.match(String(outcome.streams.at(-1)?.text), /Error: nope/);
    assert.equal((await afterAbortWindow(() => kernel.execute('1'))).status, 'ok');
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
    const alive = await afterAbortWindow(() => kernel.execute("console.log('still alive')"));
    assert.deepEqual([alive.status, alive.outputs], ['ok', [{ output_type: 'stream', name: 'stdout', text: 'still alive\n' }]]);
  });

  test('shutdown stops the process, closes every port and removes the connection file', async () => {
    const second = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
    const ports = [second.connection.shell_port, second.connection.iopub_port, second.connection.stdin_port, second.connection.control_port, second.connection.hb_port];
    assert.ok(await isListening(ports[0]));
    assert.ok(processesWithMarker(marker).includes(second.pid!));
    await second.shutdown({ graceMs: 20_000 });
    assert.deepEqual(second.exited, { code: 0, signal: null }, 'shutdown_request ends tslab by itself');
    for (const port of ports) assert.equal(await isListening(port), false, `port ${port} still open`);
    assert.equal(existsSync(second.connectionFile), false);
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
