/**
 * Test helper: finds processes started with a marker in their environment, so each test file can
 * prove it left no kernel running (without being confused by other people's kernels on the machine).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

/** A fresh marker to pass as HANLAB_TEST_MARKER in the kernel's environment. */
export function newMarker(): string {
  return randomUUID();
}

/** PIDs of live processes whose environment has HANLAB_TEST_MARKER=<marker> (Linux /proc). */
export function processesWithMarker(marker: string): number[] {
  const needle = `HANLAB_TEST_MARKER=${marker}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const status = readFileSync(`/proc/${entry}/status`, 'latin1');
      if (/^State:\s+Z/m.test(status)) continue; // a zombie holds nothing and is reaped by its parent
      if (environ.split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found.filter((pid) => pid !== process.pid);
}

/** Waits (a little) for marked processes to go: exit is asynchronous after a kill. */
export async function waitForNoProcesses(marker: string, timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = processesWithMarker(marker);
  while (left.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = processesWithMarker(marker);
  }
  return left;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A temporary folder and a process marker for one test file. After the file's tests the folder is
 * removed and no process started with the marker may still run.
 */
export function testWorkspace(name: string, what = 'no process the tests started is left'): { work: string; marker: string } {
  const work = mkdtempSync(path.join(tmpdir(), `hanlab-${name}-`));
  const marker = newMarker();
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(await waitForNoProcesses(marker), [], what);
  });
  return { work, marker };
}
