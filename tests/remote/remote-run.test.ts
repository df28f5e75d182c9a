/**
 * `hanlab run --server` against a real Jupyter server (Debian's jupyter-notebook, started here on
 * 127.0.0.1 with a random port and token and hanlab's kernelspecs on a temporary JUPYTER_PATH):
 * the same executed notebook as a local run, a server killed mid-run, a wrong token, an unreachable
 * URL, two notebooks at once, timeouts, interrupts and signals. After every test the server has no
 * kernel left, and at the end no process of the server or its kernels is left.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CellTimeoutError } from '../../lib/jupyter/errors.js';
import { readNotebook, type CodeCell, type ErrorOutput, type Notebook } from '../../lib/notebook/nbformat.js';
import { RemoteKernel, RemoteKernelLostError, liveRemoteKernelCount, remoteLauncher } from '../../lib/jupyter/remote-kernel.js';
import { RemoteServerError, parseServerAddress, requireKernelSpec } from '../../lib/jupyter/remote-server.js';
import { readResults } from '../../lib/results/read.js';
import { runNotebook, type RunMetadata } from '../../lib/jupyter/runner.js';
import { freePort, remoteSkipReason, startJupyterServer, type JupyterServer } from './jupyter-server.js';

const skip = remoteSkipReason();
const FIXTURES = 'tests/fixtures/notebooks';
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-remote-'));

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the real CLI; `onStderr` sees its progress lines as they come. */
function hanlab(args: string[], options: { env?: NodeJS.ProcessEnv; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/hanlab.mjs', ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
}

const runOf = (notebook: Notebook) => notebook.metadata.hanlab?.run as RunMetadata;
const codeCells = (notebook: Notebook) => notebook.cells.filter((cell): cell is CodeCell => cell.cell_type === 'code');

/** Result values without what is timing by nature (durations, seconds, throughput). */
function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (/(durationMs|seconds|Seconds|perSecond|PerSecond|elapsed)$/.test(key)) continue;
    out[key] = withoutTimings(inner);
  }
  return out;
}

/** Cell outputs with stream text kept whole, for comparing two runs of the same notebook. */
function outputsOf(notebook: Notebook): unknown {
  return codeCells(notebook).map((cell) => ({ count: cell.execution_count, outputs: cell.outputs }));
}

describe('hanlab run --server', { skip }, () => {
  let server: JupyterServer;

  before(async () => {
    server = await startJupyterServer();
  });

  afterEach(async () => {
    // Nothing left on the server after any test (the CLI's runs finish before their test does).
    const deadline = Date.now() + 10_000;
    let kernels = await server.kernels();
    while (kernels.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      kernels = await server.kernels();
    }
    assert.deepEqual(kernels, [], 'GET /api/kernels is empty after the test');
    assert.equal(liveRemoteKernelCount(), 0, 'no remote kernel connection left open');
  });

  after(async () => {
    await server?.stop(); // throws when a process of the server or its kernels is left
  });

  test('a study notebook on the server writes the same results and outputs as a local run; the metadata names the server, never the token', async () => {
    const input = 'notebooks/04-json-judgement.ipynb';
    const remoteOut = path.join(work, '04-remote.ipynb');
    const localOut = path.join(work, '04-local.ipynb');
    const [remote, local] = await Promise.all([
      hanlab(['run', input, '--server', server.url, '--token', server.token, '--out', remoteOut, '-q']),
      hanlab(['run', input, '--out', localOut, '-q']),
    ]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(local.code, 0, local.stderr);
    const remoteNotebook = readNotebook(remoteOut);
    const localNotebook = readNotebook(localOut);
    assert.deepEqual(withoutTimings({ ...readResults(remoteNotebook) }), withoutTimings({ ...readResults(localNotebook) }));
    assert.deepEqual(codeCells(remoteNotebook).map((cell) => cell.execution_count), codeCells(localNotebook).map((cell) => cell.execution_count));
    assert.deepEqual(remoteNotebook.metadata.kernelspec, localNotebook.metadata.kernelspec);
    assert.deepEqual(remoteNotebook.metadata.language_info, localNotebook.metadata.language_info);

    const run = runOf(remoteNotebook);
    assert.equal(run.server, server.url);
    assert.equal(run.ok, true);
    assert.equal(run.kernel, 'hanlab');
    assert.deepEqual(run.inputHashes, runOf(localNotebook).inputHashes, 'the server tree holds the same inputs');
    assert.equal(run.inputMismatch, undefined);
    assert.ok(!JSON.stringify(remoteNotebook).includes(server.token), 'the token is nowhere in the executed notebook');
    assert.ok(!remote.stderr.includes(server.token) && !remote.stdout.includes(server.token));
    assert.equal(runOf(localNotebook).server, undefined);
  });

  test('outputs, errors, parameters and execution counts match a local run cell by cell', async () => {
    const launcher = remoteLauncher(parseServerAddress(server.url, server.token));
    for (const [fixture, parameters] of [
      ['success.ipynb', {}],
      ['several-errors.ipynb', {}],
      ['parameters.ipynb', { epochs: 7, model: 'klue/roberta-large', labels: ['PS', 'OG'] }],
    ] as const) {
      const input = path.join(FIXTURES, fixture);
      const allowErrors = fixture === 'several-errors.ipynb';
      const [remote, local] = await Promise.all([
        runNotebook(input, { launcher, parameters, allowErrors }),
        runNotebook(input, { parameters, allowErrors }),
      ]);
      assert.equal(remote.ok, local.ok, fixture);
      assert.deepEqual(outputsOf(remote.notebook), outputsOf(local.notebook), fixture);
      assert.deepEqual({ ...readResults(remote.notebook) }, { ...readResults(local.notebook) }, fixture);
      assert.deepEqual(runOf(remote.notebook).parameters, runOf(local.notebook).parameters);
      assert.deepEqual(runOf(remote.notebook).failedCell, runOf(local.notebook).failedCell);
      assert.equal(runOf(remote.notebook).deviceSource, 'kernel-probe');
      assert.equal(runOf(remote.notebook).server, server.url);
    }
  });

  test('the device manifest comes from the remote kernel: a notebook that reports its device, and the kernel probe otherwise', async () => {
    const launcher = remoteLauncher(parseServerAddress(server.url, server.token));
    const device = await runNotebook(path.join(FIXTURES, 'device.ipynb'), { launcher });
    assert.equal(device.ok, true, device.error?.message);
    const run = runOf(device.notebook);
    assert.equal(run.deviceSource, 'notebook');
    assert.match(String((run.device as { backend?: string }).backend), /wasm|cpu|tensorflow/);
    const probed = runOf((await runNotebook(path.join(FIXTURES, 'ten-cells.ipynb'), { launcher })).notebook);
    assert.equal(probed.deviceSource, 'kernel-probe');
    assert.ok(Array.isArray((probed.device as { backends?: unknown[] }).backends));
    assert.equal(probed.platform.node, process.version, 'the kernel reports its own Node (the same binary here)');
    assert.ok(probed.packages['@tensorflow/tfjs'], 'the kernel reports its installed packages');
    assert.equal(typeof probed.git?.commit, 'string');
  });

  test('two notebooks at once on one server, each in its own kernel', async () => {
    const args = ['--server', server.url, '--token', server.token, '-q'];
    const [a, b] = await Promise.all([
      hanlab(['run', path.join(FIXTURES, 'ten-cells.ipynb'), '--out', path.join(work, 'ten-a.ipynb'), ...args]),
      hanlab(['run', path.join(FIXTURES, 'parameters.ipynb'), '-p', 'epochs=11', '--out', path.join(work, 'params-b.ipynb'), ...args]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual({ ...readResults(readNotebook(path.join(work, 'ten-a.ipynb'))) }, { total: 36 });
    assert.equal((readResults(readNotebook(path.join(work, 'params-b.ipynb'))).params as { epochs: number }).epochs, 11);
  });

  test('a connect timeout shorter than the kernel\'s start does not cut the start short (the server answers the channels handshake only once the kernel is up)', async () => {
    const result = await hanlab(['run', path.join(FIXTURES, 'ten-cells.ipynb'), '--server', server.url, '--token', server.token, '--connect-timeout', '0.5', '--out', path.join(work, 'short-connect.ipynb'), '-q']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual({ ...readResults(readNotebook(path.join(work, 'short-connect.ipynb'))) }, { total: 36 });
  });

  test('a per-cell timeout fails the cell, keeps the partial notebook and removes the kernel from the server', async () => {
    const output = path.join(work, 'timeout-remote.ipynb');
    const result = await runNotebook(path.join(FIXTURES, 'timeout.ipynb'), { launcher: remoteLauncher(parseServerAddress(server.url, server.token)), cellTimeoutMs: 1500, output });
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof CellTimeoutError, String(result.error));
    const saved = readNotebook(output);
    const cells = codeCells(saved);
    assert.deepEqual(cells[0].outputs, [{ output_type: 'stream', name: 'stdout', text: 'start\n' }]);
    assert.equal(cells[1].outputs[0].output_type, 'stream');
    assert.equal((cells[1].outputs.at(-1) as ErrorOutput).ename, 'CellTimeoutError');
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'timeout', 'skipped']);
  });

  test('interrupt: the server interrupts the running cell and the kernel goes on', async () => {
    const kernel = await RemoteKernel.start(parseServerAddress(server.url, server.token), 'hanlab');
    try {
      const busy = kernel.execute('const until = Date.now() + 60000; while (Date.now() < until) {}');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const started = Date.now();
      await kernel.interrupt();
      const outcome = await busy;
      assert.equal(outcome.status, 'error');
      assert.ok(Date.now() - started < 10_000);
      assert.deepEqual(outcome.outputs.map((output) => (output.output_type === 'error' ? `${output.ename}: ${output.evalue}` : output.output_type)), ['InterruptError: the cell was interrupted']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const after = await kernel.execute('console.log(6 * 7)');
      assert.equal(after.status, 'ok');
      assert.deepEqual(after.outputs, [{ output_type: 'stream', name: 'stdout', text: '42\n' }]);
    } finally {
      await kernel.shutdown();
    }
  });

  test('a kernel that dies on the server: one line, exit 1, no stack trace, and the kernel the server restarted is shut down too', async () => {
    const output = path.join(work, 'kernel-dies-remote.ipynb');
    const result = await hanlab(['run', path.join(FIXTURES, 'kernel-dies.ipynb'), '--server', server.url, '--token', server.token, '--out', output]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.match(lines.at(-1)!, /^hanlab run: the kernel on http:\/\/127\.0\.0\.1:\d+\/ died and the server restarted it; the notebook's state is gone while running cell 2 \("console\.log\('dying'\);"\)$/);
    assert.ok(!/^\s+at /m.test(result.stderr) && !result.stderr.includes('Kernel connection disconnected'), result.stderr);
    assert.deepEqual(runOf(readNotebook(output)).cells.map((cell) => cell.status), ['ok', 'kernel-died', 'skipped']);
    // The restarted kernel is gone from the server as soon as the command has exited.
    assert.deepEqual(await server.kernels(), []);
  });

  test('a wrong token is one clear line and exit 2, before anything starts', async () => {
    const result = await hanlab(['run', path.join(FIXTURES, 'success.ipynb'), '--server', server.url, '--token', 'not-the-token', '--out', path.join(work, 'never.ipynb')]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^hanlab run: the Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ refused the token \(HTTP 403\); give the server's token with --token or \$JUPYTER_TOKEN\n$/);
    assert.ok(!result.stderr.includes('not-the-token'));
    assert.equal(existsSync(path.join(work, 'never.ipynb')), false);
  });

  test('the token may come from $JUPYTER_TOKEN or from the ?token= URL Jupyter prints (which wins over the variable)', async () => {
    const fromEnv = await hanlab(['run', path.join(FIXTURES, 'ten-cells.ipynb'), '--server', server.url, '--out', path.join(work, 'env-token.ipynb'), '-q'], { env: { JUPYTER_TOKEN: server.token } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const printed = `${server.url}tree?token=${server.token}`;
    const fromUrl = await hanlab(['run', path.join(FIXTURES, 'ten-cells.ipynb'), '--server', printed, '--out', path.join(work, 'url-token.ipynb'), '-q'], { env: { JUPYTER_TOKEN: 'stale-token' } });
    assert.equal(fromUrl.code, 0, fromUrl.stderr);
    assert.equal(runOf(readNotebook(path.join(work, 'url-token.ipynb'))).server, server.url);
  });

  test('a kernel the server does not have is one line naming what it has', async () => {
    await assert.rejects(requireKernelSpec(parseServerAddress(server.url, server.token), 'hanlab-tpu'), (error: Error) => {
      assert.ok(error instanceof RemoteServerError);
      assert.match(error.message, /has no kernel "hanlab-tpu" \(it has: .*hanlab, hanlab-gpu.*\); install hanlab's kernelspecs where the server runs/);
      return true;
    });
  });

  test('SIGINT during a remote run shuts the kernel down on the server, writes the partial notebook and exits 130', async () => {
    let sent = false;
    const result = await hanlab(['run', path.join(FIXTURES, 'timeout.ipynb'), '--server', server.url, '--token', server.token, '--out', path.join(work, 'sigint.ipynb')], {
      onStderr: (text, child) => {
        // Cell 1 is done: cell 2 (two minutes of sleep) is running on the server.
        if (!sent && text.includes('cell 1: ok')) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 300);
        }
      },
    });
    assert.ok(sent, result.stderr);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /hanlab run: the run was stopped by SIGINT while cell 2 \("console\.log\('sleeping'\);"\) was running/);
    assert.equal((codeCells(readNotebook(path.join(work, 'sigint.ipynb')))[1].outputs.at(-1) as ErrorOutput).ename, 'RunStoppedError');
    assert.deepEqual(await server.kernels(), []);
  });
});

describe('hanlab run --server: servers that fail', { skip, concurrency: 2 }, () => {
  test('the server killed mid-run: a clear error, the partial notebook written, exit 1', async () => {
    const server = await startJupyterServer();
    const output = path.join(work, 'crash.ipynb');
    let crashed: Promise<void> | undefined;
    const result = await hanlab(['run', path.join(FIXTURES, 'timeout.ipynb'), '--server', server.url, '--token', server.token, '--out', output, '--connect-timeout', '2'], {
      onStderr: (text) => {
        if (!crashed && text.includes('cell 1: ok')) crashed = new Promise((resolve) => setTimeout(resolve, 500)).then(() => server.crash());
      },
    });
    await crashed;
    assert.ok(crashed, result.stderr);
    assert.equal(result.code, 1, result.stderr);
    const last = result.stderr.trim().split('\n').at(-1)!;
    assert.match(last, /^hanlab run: (cannot reach the Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ any more: connection refused|the connection to the Jupyter server at .* was lost).* while running cell 2 \("console\.log\('sleeping'\);"\)$/);
    assert.ok(result.ms < 60_000, `gave up after ${result.ms} ms`);
    const saved = readNotebook(output);
    const cells = codeCells(saved);
    assert.deepEqual(cells[0].outputs, [{ output_type: 'stream', name: 'stdout', text: 'start\n' }]);
    assert.deepEqual(cells[1].outputs[0], { output_type: 'stream', name: 'stdout', text: 'sleeping\n' }, 'what the cell printed before the crash is kept');
    assert.equal((cells[1].outputs.at(-1) as ErrorOutput).ename, 'RemoteKernelLostError');
    assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'kernel-died', 'skipped']);
    assert.ok(!JSON.stringify(saved).includes(server.token));
  });

  test('a server frozen mid-cell (SIGSTOP) ends the run with one line within about the connect timeout, and its kernel goes once it runs again', async () => {
    const server = await startJupyterServer();
    const output = path.join(work, 'frozen.ipynb');
    let frozenAt = 0;
    try {
      // --timeout 0: no cell limit would ever end this run; only the liveness check can.
      const result = await hanlab(['run', path.join(FIXTURES, 'timeout.ipynb'), '--server', server.url, '--token', server.token, '--out', output, '--connect-timeout', '3', '--timeout', '0'], {
        onStderr: (text) => {
          if (!frozenAt && text.includes('cell 1: ok')) {
            frozenAt = Date.now();
            process.kill(server.process.pid!, 'SIGSTOP');
          }
        },
      });
      const tookMs = Date.now() - frozenAt;
      assert.ok(frozenAt, result.stderr);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr.trim().split('\n').at(-1)!, /^hanlab run: the Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ stopped answering: no answer within 3 s \(is it stopped, or its host frozen\?\) while running cell 2 /);
      // The connect timeout, plus one liveness interval and the shutdown request's second.
      assert.ok(tookMs < 3_000 + 750 + 1_000 + 3_000, `ended ${tookMs} ms after the server froze`);
      const saved = readNotebook(output);
      assert.deepEqual(codeCells(saved)[0].outputs, [{ output_type: 'stream', name: 'stdout', text: 'start\n' }]);
      assert.deepEqual(runOf(saved).cells.map((cell) => cell.status), ['ok', 'kernel-died', 'skipped']);
    } finally {
      process.kill(server.process.pid!, 'SIGCONT');
    }
    // The shutdown request was sent before hanlab left: the server carries it out when it runs again.
    const deadline = Date.now() + 15_000;
    let kernels = await server.kernels();
    while (kernels.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      kernels = await server.kernels();
    }
    assert.deepEqual(kernels, []);
    await server.stop();
  });

  test('SIGTERM while the server is frozen: the partial notebook is written and hanlab exits within the connect timeout', async () => {
    const server = await startJupyterServer();
    const output = path.join(work, 'frozen-sigterm.ipynb');
    let signalledAt = 0;
    try {
      const result = await hanlab(['run', path.join(FIXTURES, 'timeout.ipynb'), '--server', server.url, '--token', server.token, '--out', output, '--connect-timeout', '5', '--timeout', '0'], {
        onStderr: (text, child) => {
          if (!signalledAt && text.includes('cell 1: ok')) {
            process.kill(server.process.pid!, 'SIGSTOP');
            signalledAt = Date.now();
            child.kill('SIGTERM');
          }
        },
      });
      assert.equal(result.code, 143, result.stderr);
      // The shutdown request waits the connect timeout for the frozen server, no longer (it was 40 s).
      assert.ok(Date.now() - signalledAt < 5_000 + 4_000, `exited ${Date.now() - signalledAt} ms after SIGTERM`);
      assert.equal((codeCells(readNotebook(output))[1].outputs.at(-1) as ErrorOutput).ename, 'RunStoppedError');
    } finally {
      process.kill(server.process.pid!, 'SIGCONT');
    }
    await server.stop();
  });

  test('a server restarted mid-run is named as such, not reported as an interrupted cell', async () => {
    const first = await startJupyterServer();
    const output = path.join(work, 'restarted.ipynb');
    let restarted: Promise<JupyterServer> | undefined;
    const result = await hanlab(['run', path.join(FIXTURES, 'timeout.ipynb'), '--server', first.url, '--token', first.token, '--out', output, '--connect-timeout', '30'], {
      onStderr: (text) => {
        if (!restarted && text.includes('cell 1: ok')) restarted = first.stop().then(() => startJupyterServer({ port: first.port, token: first.token }));
      },
    });
    const second = await restarted!;
    try {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr.trim().split('\n').at(-1)!, /^hanlab run: the Jupyter server at http:\/\/127\.0\.0\.1:\d+\/ was restarted \(it has run since [\d-]+T[\d:]+Z?\); the kernel and the notebook's state are gone while running cell 2 /);
      assert.ok(!result.stderr.includes('InterruptError'), result.stderr);
      assert.equal((codeCells(readNotebook(output))[1].outputs.at(-1) as ErrorOutput).ename, 'RemoteKernelLostError');
      assert.deepEqual(await second.kernels(), []);
    } finally {
      await second.stop();
    }
  });

  test('nothing listening: one line, exit 2, at once', async () => {
    const port = await freePort();
    const result = await hanlab(['run', path.join(FIXTURES, 'success.ipynb'), '--server', `http://127.0.0.1:${port}/`, '--token', 'x']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `hanlab run: cannot reach the Jupyter server at http://127.0.0.1:${port}/: connection refused (is the server running, and on this port?)\n`);
  });

  test('a server that accepts the connection and never answers: fails within the connect timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const result = await hanlab(['run', path.join(FIXTURES, 'success.ipynb'), '--server', `http://127.0.0.1:${port}/`, '--connect-timeout', '1.5']);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `hanlab run: cannot reach the Jupyter server at http://127.0.0.1:${port}/: no answer within 1.5 s\n`);
      // Node's start-up and tsx take a second or more of it on a busy machine; the OS would wait minutes.
      assert.ok(result.ms < 1500 + 20_000, `took ${result.ms} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('bad --server values are usage errors', async () => {
    for (const [server, message] of [
      ['gpu-host:8888', /--server must be an http:\/\/ or https:\/\/ URL/],
      ['not a url', /--server must be a URL such as http:\/\/gpu-host:8888\//],
      ['http://me:secret@host:8888/', /must not carry credentials in the URL/],
    ] as const) {
      const result = await hanlab(['run', path.join(FIXTURES, 'success.ipynb'), '--server', server]);
      assert.equal(result.code, 2, server);
      assert.match(result.stderr, message);
      assert.ok(!result.stderr.includes('secret'));
    }
  });

  test('a lost kernel is a KernelDiedError the runner records', () => {
    const error = new RemoteKernelLostError('the kernel on http://h/ died', { index: 2, firstLine: 'train()' });
    assert.equal(error.message, 'the kernel on http://h/ died while running cell 3 ("train()")');
  });
});

after(() => rmSync(work, { recursive: true, force: true }));
