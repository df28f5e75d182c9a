/**
 * Enterprise Gateway kernelspecs (`hanlab kernels install --gateway-dir`) and the launcher they run
 * (kernels/gateway/launch.cjs). No Enterprise Gateway, Kubernetes or YARN runs here, so:
 * - the specs are checked for what the gateway reads (process proxy class, argv placeholders, env,
 *   GPU placement), and the YARN submit script with `bash -n`;
 * - the launcher is run as the gateway runs it (the kernel.json argv with the gateway's substitutions,
 *   and as a pod with environment variables only) against tests/remote/fixtures/gateway_side.py,
 *   which plays the gateway's side with the libraries the gateway uses (pycryptodome,
 *   jupyter_client): decrypt the connection info, run code, poll and interrupt through the
 *   communication port while a cell is busy, shut down. Nothing may be left running.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROCESS_PROXIES, gatewayKernelSpecs } from '../../lib/jupyter/remote-gateway.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const root = process.cwd();
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-gateway-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hanlab(args: string[]) {
  return spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' });
}

const readSpec = (dir: string, name: string) => JSON.parse(readFileSync(path.join(dir, name, 'kernel.json'), 'utf8'));

describe('hanlab kernels install --gateway-dir', () => {
  test('distributed: both kernels run the launcher over SSH; hanlab-gpu only on the GPU hosts', () => {
    const dir = path.join(work, 'distributed');
    const result = hanlab(['kernels', 'install', '--gateway-dir', dir, '--placement', 'distributed', '--node-root', '/opt/hanlab', '--node', '/usr/bin/node', '--hosts', 'cpu1,cpu2', '--gpu-hosts', 'gpu1,gpu2']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['hanlab', 'hanlab-gpu']);
    const gpu = readSpec(dir, 'hanlab-gpu');
    assert.equal(gpu.metadata.process_proxy.class_name, 'enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy');
    assert.deepEqual(gpu.metadata.process_proxy.config, { remote_hosts: 'gpu1,gpu2' });
    assert.deepEqual(readSpec(dir, 'hanlab').metadata.process_proxy.config, { remote_hosts: 'cpu1,cpu2' });
    assert.deepEqual(gpu.argv, [
      '/usr/bin/node',
      '/opt/hanlab/kernels/gateway/launch.cjs',
      '--kernel',
      'hanlab-gpu',
      '--RemoteProcessProxy.kernel-id',
      '{kernel_id}',
      '--RemoteProcessProxy.response-address',
      '{response_address}',
      '--RemoteProcessProxy.public-key',
      '{public_key}',
      '--RemoteProcessProxy.port-range',
      '{port_range}',
    ]);
    assert.equal(gpu.env.HANLAB_REQUIRE_GPU, '1', 'the GPU kernel still refuses to start without a GPU');
    assert.equal(gpu.env.HANLAB_PROJECT_ROOT, '/opt/hanlab');
    assert.equal(gpu.language, 'typescript');
  });

  test('kubernetes: a pod of the hanlab image; hanlab-gpu requests nvidia.com/gpu through KERNEL_GPUS; the gateway\'s own scripts are asked for', () => {
    const dir = path.join(work, 'kubernetes');
    const result = hanlab(['kernels', 'install', '--gateway-dir', dir, '--placement', 'kubernetes', '--node-root', '/opt/hanlab', '--image', 'registry.example/hanlab-kernel:0.1.0', '--gpus', '2']);
    assert.equal(result.status, 0, result.stderr);
    const gpu = readSpec(dir, 'hanlab-gpu');
    const cpu = readSpec(dir, 'hanlab');
    assert.equal(gpu.metadata.process_proxy.class_name, 'enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy');
    assert.deepEqual(gpu.metadata.process_proxy.config, { image_name: 'registry.example/hanlab-kernel:0.1.0' });
    assert.equal(gpu.env.KERNEL_GPUS, '2');
    assert.equal(gpu.env.KERNEL_GPUS_LIMIT, '2');
    assert.equal(cpu.env.KERNEL_GPUS, undefined);
    assert.deepEqual(gpu.argv.slice(0, 2), ['python3', '{resource_dir}/scripts/launch_kubernetes.py']);
    assert.match(result.stdout, /Copy Enterprise Gateway's launch_kubernetes\.py and kernel-pod\.yaml\.j2/);
    assert.match(result.stdout, /kubernetes\/hanlab-gpu\/scripts\/kernel-pod\.yaml\.j2/);
  });

  test('yarn: a submit script that names the application after the kernel id, GPUs for hanlab-gpu', () => {
    const dir = path.join(work, 'yarn');
    const result = hanlab(['kernels', 'install', '--gateway-dir', dir, '--placement', 'yarn', '--node-root', '/opt/hanlab', '--gpu-queue', 'gpu']);
    assert.equal(result.status, 0, result.stderr);
    const gpu = readSpec(dir, 'hanlab-gpu');
    assert.equal(gpu.metadata.process_proxy.class_name, 'enterprise_gateway.services.processproxies.yarn.YarnClusterProcessProxy');
    assert.equal(gpu.argv[0], '{resource_dir}/bin/run.sh');
    assert.equal(gpu.env.HANLAB_YARN_QUEUE, 'gpu');
    assert.equal(gpu.env.HANLAB_YARN_GPUS, '1');
    assert.equal(readSpec(dir, 'hanlab').env.HANLAB_YARN_GPUS, '0');
    const script = path.join(dir, 'hanlab-gpu', 'bin', 'run.sh');
    assert.equal(spawnSync('bash', ['-n', script]).status, 0, 'run.sh is valid bash');
    assert.match(readFileSync(script, 'utf8'), /^name: \$kernel_id$/m);
  });

  test('usage errors', () => {
    assert.match(hanlab(['kernels', 'install', '--gateway-dir', work]).stderr, /--gateway-dir needs --placement \(distributed, kubernetes, yarn\)/);
    assert.match(hanlab(['kernels', 'install', '--gateway-dir', work, '--placement', 'docker']).stderr, /--placement must be one of distributed, kubernetes, yarn, not "docker"/);
    assert.match(hanlab(['kernels', 'install', '--placement', 'yarn']).stderr, /--placement goes with --gateway-dir/);
    assert.match(hanlab(['kernels', 'install', '--gateway-dir', work, '--placement', 'yarn', '--node-root', 'relative/path']).stderr, /--node-root must be an absolute path on the nodes/);
    assert.deepEqual(Object.keys(PROCESS_PROXIES), ['distributed', 'kubernetes', 'yarn']);
  });
});

/** Python with what the gateway uses (Debian: python3-pycryptodome, python3-jupyter-client). */
function gatewayPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', 'import Cryptodome, jupyter_client'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return undefined;
}
const python = gatewayPython();
const pythonSkip =
  !python && process.env.HANLAB_REQUIRE_JUPYTER !== '1' ? 'needs Python with pycryptodome and jupyter_client (apt install python3-pycryptodome python3-jupyter-client)' : false;

interface Exchange {
  info: Record<string, number | string>;
  first: [string, string];
  poll_seconds: number;
  interrupted: string;
  interrupt_seconds: number;
  after: [string, string];
}

/** Starts the gateway side, then the launcher as `start(publicKey, responseAddress)` says; resolves with both outcomes. */
async function exchange(start: (publicKey: string, responseAddress: string) => ReturnType<typeof spawn>): Promise<{ result: Exchange; launcherCode: number | null; launcherLog: string }> {
  const gateway = spawn(python!, [path.join(root, 'tests', 'remote', 'fixtures', 'gateway_side.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let gatewayErr = '';
  gateway.stderr!.on('data', (chunk) => (gatewayErr += chunk));
  const lines = createInterface({ input: gateway.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  assert.ok(!first.done, gatewayErr);
  const { public_key: publicKey, response_address: responseAddress } = JSON.parse(first.value);
  const launcher = start(publicKey, responseAddress);
  let launcherLog = '';
  launcher.stderr!.on('data', (chunk) => (launcherLog += chunk));
  launcher.stdout!.on('data', (chunk) => (launcherLog += chunk));
  const launcherExit = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
  const second = await lines.next();
  const gatewayExit = await new Promise<number | null>((resolve) => gateway.once('exit', (code) => resolve(code)));
  assert.equal(gatewayExit, 0, `gateway side failed:\n${gatewayErr}\nlauncher:\n${launcherLog}`);
  const timer = setTimeout(() => launcher.kill('SIGKILL'), 15_000);
  const launcherCode = await launcherExit;
  clearTimeout(timer);
  return { result: JSON.parse(second.value) as Exchange, launcherCode, launcherLog };
}

describe('kernels/gateway/launch.cjs against the gateway\'s side of the protocol', { skip: pythonSkip }, () => {
  test('distributed: the kernel.json argv with the gateway\'s substitutions; connection info decrypts; code runs; poll and interrupt work while a cell is busy; shutdown leaves nothing', async () => {
    const dir = path.join(work, 'exchange');
    assert.equal(hanlab(['kernels', 'install', '--gateway-dir', dir, '--placement', 'distributed', '--node-root', root, '--node', process.execPath]).status, 0);
    const spec = readSpec(dir, 'hanlab');
    const marker = newMarker();
    const kernelId = '8d3f6c1e-0000-4000-8000-000000000001';
    const { result, launcherCode, launcherLog } = await exchange((publicKey, responseAddress) => {
      const substitutions: Record<string, string> = { kernel_id: kernelId, response_address: responseAddress, public_key: publicKey, port_range: '45000..46999', resource_dir: path.join(dir, 'hanlab') };
      const argv = (spec.argv as string[]).map((arg) => arg.replace(/\{(\w+)\}/g, (whole, name: string) => substitutions[name] ?? whole));
      return spawn(argv[0], argv.slice(1), { env: { ...process.env, ...spec.env, KERNEL_ID: kernelId, HANLAB_TEST_MARKER: marker }, stdio: ['ignore', 'pipe', 'pipe'] });
    });
    assert.equal(result.info.kernel_id, kernelId);
    assert.equal(result.info.pid, Number(result.info.pid));
    for (const port of ['shell_port', 'iopub_port', 'stdin_port', 'hb_port', 'control_port', 'comm_port']) {
      assert.ok(Number(result.info[port]) >= 45000 && Number(result.info[port]) <= 46999, `${port} ${result.info[port]} in the port range`);
    }
    assert.equal(result.info.signature_scheme, 'hmac-sha256');
    assert.deepEqual(result.first, ['ok', '42 hanlab\n']);
    assert.ok(result.poll_seconds < 3, `the poll during a busy cell took ${result.poll_seconds} s (the cell runs 60 s)`);
    assert.equal(result.interrupted, 'error', 'SIGINT through the communication port interrupted the cell');
    assert.ok(result.interrupt_seconds < 10);
    assert.deepEqual(result.after, ['ok', 'still here\n']);
    assert.equal(launcherCode, 0, launcherLog);
    assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel or launcher left');
    assert.ok(!readdirSync(tmpdir()).some((entry) => entry.startsWith('hanlab-gateway-') && existsSync(path.join(tmpdir(), entry, `kernel-${kernelId}.json`))), 'the connection file is removed');
  });

  test('kubernetes: in a pod the launcher takes everything from the environment (KERNEL_ID, RESPONSE_ADDRESS, PUBLIC_KEY, PORT_RANGE, HANLAB_KERNEL)', async () => {
    const marker = newMarker();
    const { result, launcherCode, launcherLog } = await exchange((publicKey, responseAddress) =>
      spawn(process.execPath, [path.join(root, 'kernels', 'gateway', 'launch.cjs')], {
        env: { ...process.env, KERNEL_ID: 'pod-kernel', RESPONSE_ADDRESS: responseAddress, PUBLIC_KEY: publicKey, PORT_RANGE: '0..0', HANLAB_KERNEL: 'hanlab', HANLAB_TEST_MARKER: marker },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    assert.equal(result.info.kernel_id, 'pod-kernel');
    assert.deepEqual(result.first, ['ok', '42 hanlab\n']);
    assert.equal(launcherCode, 0, launcherLog);
    assert.deepEqual(await waitForNoProcesses(marker), []);
  });

  test('bad arguments are one line on stderr and exit 1 (the gateway logs it)', () => {
    const launcher = path.join(root, 'kernels', 'gateway', 'launch.cjs');
    const env = { ...process.env, KERNEL_ID: '', RESPONSE_ADDRESS: '', PUBLIC_KEY: '', PORT_RANGE: '' };
    for (const [args, message] of [
      [[], /missing --RemoteProcessProxy\.kernel-id/],
      [['--kernel', 'python3', '--kernel-id', 'k'], /--kernel must be one of hanlab, hanlab-gpu/],
      [['--kernel-id', 'k', '--response-address', 'nowhere', '--public-key', 'x'], /response-address must be IP:PORT/],
      [['--kernel-id', 'k', '--response-address', '127.0.0.1:1', '--public-key', 'x', '--port-range', '9..1'], /bad port range 9\.\.1/],
      [['--kernel-id', 'k', '--response-address', '127.0.0.1:1', '--public-key', 'x', '--RemoteProcessProxy.spark-context-initialization-mode', 'eager'], /must be none for hanlab kernels/],
    ] as const) {
      const run = spawnSync(process.execPath, [launcher, ...args], { encoding: 'utf8', env });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1);
    }
  });

  test('the specs written for every placement carry the same launcher arguments', () => {
    for (const placement of ['distributed', 'kubernetes', 'yarn'] as const) {
      for (const spec of gatewayKernelSpecs({ placement, nodeRoot: '/opt/hanlab' })) {
        const argv = JSON.parse(spec.files[0].content).argv as string[];
        assert.deepEqual(argv.slice(-8).filter((arg) => arg.startsWith('{')), ['{kernel_id}', '{response_address}', '{public_key}', '{port_range}'], `${placement} ${spec.name}`);
      }
    }
  });
});

describe('the launcher\'s communication port against strangers', () => {
  /** Connects from `localAddress` to the communication port, sends `data`, and resolves when the launcher closes the connection. */
  function send(port: number, localAddress: string, data: string | Buffer, { end = true } = {}): Promise<number> {
    const started = Date.now();
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
        socket.write(data, () => {
          if (end) socket.end();
        });
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(Date.now() - started));
    });
  }

  test('only the gateway\'s host is heard; an oversized, endless or malformed request is closed and logged; the kernel goes on until the gateway says shutdown', async () => {
    // The "gateway" answers from 127.0.0.2; a stranger on the same machine connects from 127.0.0.1.
    const gateway = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.2', resolve));
    const publicKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const marker = newMarker();
    const launcher = spawn(process.execPath, [path.join(root, 'kernels', 'gateway', 'launch.cjs')], {
      env: { ...process.env, KERNEL_ID: 'stranger-test', RESPONSE_ADDRESS: `127.0.0.2:${(gateway.address() as net.AddressInfo).port}`, PUBLIC_KEY: publicKey, PORT_RANGE: '0..0', HANLAB_KERNEL: 'hanlab', HANLAB_TEST_MARKER: marker },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    launcher.stdout!.on('data', (chunk) => (log += chunk));
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      let port: number | undefined;
      await new Promise<void>((resolve, reject) => {
        launcher.stderr!.on('data', (chunk) => {
          log += chunk;
          port ??= Number(/communication port (\d+)/.exec(log)?.[1]) || undefined;
          if (port) resolve();
        });
        setTimeout(() => reject(new Error(`no communication port within 30 s: ${log}`)), deadline - Date.now()).unref();
      });
      const stillRunning = () => launcher.exitCode === null && launcher.signalCode === null;

      await send(port!, '127.0.0.1', JSON.stringify({ shutdown: 1 }));
      await send(port!, '127.0.0.1', JSON.stringify({ signum: 9 }));
      await send(port!, '127.0.0.2', Buffer.alloc(100_000, '{'), { end: false });
      await send(port!, '127.0.0.2', JSON.stringify({ signum: '9; rm -rf /' }));
      await send(port!, '127.0.0.2', '[1, 2]');
      const silentMs = await send(port!, '127.0.0.2', '', { end: false });
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(stillRunning(), `the launcher carried out a request it should have refused:\n${log}`);
      assert.match(log, /refused a request from 127\.0\.0\.1: only the gateway's host \(127\.0\.0\.2\) may send them/);
      assert.match(log, /closed a request from 127\.0\.0\.2: more than 4096 bytes/);
      assert.match(log, /ignored a request from 127\.0\.0\.2 with signum "9; rm -rf \/": not a signal number/);
      assert.match(log, /closed a request from 127\.0\.0\.2: not a JSON object/);
      assert.match(log, /closed a request from 127\.0\.0\.2: no whole request within 5 s/);
      assert.ok(silentMs >= 4_500 && silentMs < 15_000, `a silent connection was closed after ${silentMs} ms`);

      // The gateway's own requests still work: its poll, then shutdown.
      await send(port!, '127.0.0.2', JSON.stringify({ signum: 0 }));
      assert.ok(stillRunning());
      await send(port!, '127.0.0.2', JSON.stringify({ shutdown: 1 }));
      const timer = setTimeout(() => launcher.kill('SIGKILL'), 20_000);
      assert.equal(await exited, 0, log);
      clearTimeout(timer);
      assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel or launcher left');
    } finally {
      if (launcher.exitCode === null) launcher.kill('SIGKILL');
      await new Promise((resolve) => gateway.close(resolve));
    }
  });
});
