/**
 * Test helper: a real Jupyter server (Debian's `jupyter-notebook`) on 127.0.0.1 with a random port and
 * token, the project's kernelspecs installed by `hanlab kernels install --prefix` into a temporary
 * JUPYTER_PATH, and every Jupyter folder (runtime, config, data) private to the test. The server and
 * its kernels carry HANLAB_TEST_MARKER, so a test can prove nothing of them is left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { newMarker, processesWithMarker, waitForNoProcesses } from '../notebook/processes.js';

/** The jupyter-notebook command, or undefined when not installed. HANLAB_JUPYTER_NOTEBOOK may name one. */
export function findJupyterNotebook(): string | undefined {
  for (const candidate of [process.env.HANLAB_JUPYTER_NOTEBOOK, 'jupyter-notebook', '/usr/bin/jupyter-notebook']) {
    if (!candidate) continue;
    if (spawnSync(candidate, ['--version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return undefined;
}

/** Why the remote tests skip here, or false when they run (CI sets HANLAB_REQUIRE_JUPYTER=1: never skip). */
export function remoteSkipReason(): string | false {
  if (findJupyterNotebook() || process.env.HANLAB_REQUIRE_JUPYTER === '1') return false;
  return 'jupyter-notebook is not installed (apt install jupyter-notebook; CI sets HANLAB_REQUIRE_JUPYTER=1)';
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface JupyterServer {
  url: string;
  token: string;
  port: number;
  marker: string;
  process: ChildProcess;
  /** The running kernels (`GET /api/kernels`). */
  kernels(): Promise<Array<{ id: string; name: string; execution_state?: string }>>;
  /** Server log so far (for failure messages). */
  log(): string;
  /** SIGKILL the server and every process it started: a host that goes away. */
  crash(): Promise<void>;
  /** SIGTERM (Jupyter stops its kernels), then checks nothing of it is left. */
  stop(): Promise<void>;
}

const root = process.cwd();

/** Starts jupyter-notebook with hanlab's kernelspecs; resolves when its API answers. */
/**
 * `port` and `token`: those of a server that stopped (restarting it); default a free port and a new token.
 * `env`: more environment for the server and so its kernels; `addKernelSpecs`: called with the kernels
 * folder after `hanlab kernels install`, to add variants of the specs.
 */
export async function startJupyterServer(
  options: { notebookDir?: string; port?: number; token?: string; env?: Record<string, string>; addKernelSpecs?: (kernelsDir: string) => void } = {},
): Promise<JupyterServer> {
  const jupyter = findJupyterNotebook();
  if (!jupyter) throw new Error('jupyter-notebook is not installed (apt install jupyter-notebook)');
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-jupyter-server-'));
  const prefix = path.join(work, 'prefix');
  // Installed the way a user does it, with the CLI.
  const install = spawnSync(process.execPath, ['bin/hanlab.mjs', 'kernels', 'install', '--prefix', prefix], { cwd: root, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`hanlab kernels install failed: ${install.stderr}`);
  options.addKernelSpecs?.(path.join(prefix, 'share', 'jupyter', 'kernels'));
  for (const dir of ['runtime', 'config', 'data']) mkdirSync(path.join(work, dir));
  const token = options.token ?? randomBytes(16).toString('hex');
  const port = options.port ?? (await freePort());
  const marker = newMarker();
  const args = [
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--port-retries=0',
    `--NotebookApp.token=${token}`,
    `--notebook-dir=${options.notebookDir ?? root}`,
    // Kernels shut down promptly and are not restarted behind the test's back.
    '--MappingKernelManager.cull_idle_timeout=0',
  ];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const child = spawn(jupyter, args, {
    cwd: work,
    env: {
      ...process.env,
      ...options.env,
      JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
      JUPYTER_RUNTIME_DIR: path.join(work, 'runtime'),
      JUPYTER_CONFIG_DIR: path.join(work, 'config'),
      JUPYTER_DATA_DIR: path.join(work, 'data'),
      HANLAB_TEST_MARKER: marker,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (chunk) => (log += chunk));
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}/`;
  const api = async (route: string) => {
    const response = await fetch(new URL(route, url), { headers: { authorization: `token ${token}` }, signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`);
    return response.json();
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter-notebook exited with ${child.exitCode}:\n${log}`);
    try {
      await api('api/status');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`jupyter-notebook did not answer within 60 s:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const cleanUp = async () => {
    const left = await waitForNoProcesses(marker, 10_000);
    rmSync(work, { recursive: true, force: true });
    if (left.length) throw new Error(`processes of the Jupyter server left running: ${left.join(', ')}`);
  };
  return {
    url,
    token,
    port,
    marker,
    process: child,
    kernels: () => api('api/kernels') as Promise<Array<{ id: string; name: string; execution_state?: string }>>,
    log: () => log,
    async crash() {
      for (const pid of [child.pid!, ...processesWithMarker(marker)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await exited;
      await cleanUp();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // Notebook asks for confirmation on the first SIGINT only; SIGTERM stops it and its kernels.
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await cleanUp();
    },
  };
}
