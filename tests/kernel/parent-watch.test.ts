/**
 * A kernel whose Jupyter client died exits (ipykernel's parent poller), taking the processes its
 * notebook started with it. The kernel is launched by jupyter_client itself (Debian's
 * python3-jupyter-client, which sets JPY_PARENT_PID and starts the kernel in its own session); the
 * Python process is then killed with SIGKILL, so nobody shuts the kernel down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { installKernelSpecs } from '../../lib/jupyter/kernelspec.js';
import { findJupyterClientPython, isolatedJupyterEnv, skipUnlessRequired } from '../notebook/jupyter.js';
import { processesWithMarker, testWorkspace, waitForNoProcesses } from '../notebook/processes.js';

const python = findJupyterClientPython();
const skip = skipUnlessRequired(python ? undefined : 'python3-jupyter-client is not installed');
const { work, marker } = testWorkspace('parent-watch', 'the kernel and its children are gone');

// Starts the kernel the way Jupyter does, runs a cell that spawns a child, prints the pids, and waits.
const CLIENT = `
import sys, time
from jupyter_client.manager import KernelManager
km = KernelManager(kernel_name='hanlab')
km.start_kernel()
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
reply = kc.execute_interactive("import { spawn } from 'child_process';\\nconsole.log(spawn('sleep', ['300'], { stdio: 'ignore' }).pid)", timeout=60)
print(km.provisioner.pid, flush=True)
time.sleep(600)
`;

test('the kernel exits, with the processes its notebook started, when the Jupyter process that launched it is killed', { skip, timeout: 120_000 }, async () => {
  const prefix = path.join(work, 'prefix');
  installKernelSpecs({ prefix });
  const client = spawn(python!, ['-c', CLIENT], { env: isolatedJupyterEnv(prefix, work, { HANLAB_TEST_MARKER: marker }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  client.stderr.on('data', (chunk) => (stderr += chunk));
  const kernelPid = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    client.stdout.on('data', (chunk) => {
      stdout += chunk;
      const lines = stdout.trim().split('\n');
      if (lines.length >= 2) resolve(Number(lines.at(-1)));
    });
    client.once('exit', (code) => reject(new Error(`the Jupyter client exited early (${code}): ${stderr}`)));
  });
  try {
    await checkAndKill(client, kernelPid);
  } finally {
    client.kill('SIGKILL');
  }
});

async function checkAndKill(client: ReturnType<typeof spawn>, kernelPid: number): Promise<void> {
  const running = processesWithMarker(marker);
  assert.ok(running.includes(kernelPid), 'the kernel runs');
  const environ = readFileSync(`/proc/${kernelPid}/environ`, 'latin1');
  assert.match(environ, /(^|\0)JPY_PARENT_PID=\d+/, 'Jupyter told the kernel who its parent is');
  assert.ok(running.some((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').startsWith('sleep\u0000300')), 'the notebook\'s child runs');
  const started = Date.now();
  client.kill('SIGKILL');
  assert.deepEqual(await waitForNoProcesses(marker, 10_000), [], 'kernel and its child are gone');
  console.log(`orphaned kernel exited ${Date.now() - started} ms after its Jupyter client was killed`);
}
