/** `hanlab run` and `hanlab kernels`: the thin CLI over lib/notebook (exit codes, files, messages). */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNotebook, type CodeCell } from '../../lib/notebook/nbformat.js';
import { newMarker, waitForNoProcesses } from './processes.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-cli-run-'));
const marker = newMarker();
after(async () => {
  rmSync(work, { recursive: true, force: true });
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel left by the CLI');
});

function hanlab(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', env: { ...process.env, HANLAB_TEST_MARKER: marker, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('hanlab run', () => {
  test('a failing cell: exit 1, the partial notebook written, the cell and its error printed', () => {
    const out = path.join(work, 'error.ipynb');
    const { code, stderr } = hanlab(['run', 'tests/fixtures/notebooks/error.ipynb', '--out', out, '--timeout', '30']);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /\[1\/3\] cell 1: ok/);
    assert.match(stderr, /\[2\/3\] cell 2: error \(.*\)\n    DataError: klue-ner\.tsv:12: 태그 "B-XX"를 알 수 없음/);
    assert.match(stderr, /hanlab run: cell 2 \("console\.log\('about to fail'\);"\) failed: DataError/);
    const saved = readNotebook(out);
    assert.equal((saved.cells[1] as CodeCell).outputs.at(-1)?.output_type, 'error');
    assert.equal((saved.cells[2] as CodeCell).execution_count, null);
  });

  test('usage errors exit 2 before any kernel starts, and say what is wrong', () => {
    assert.equal(hanlab(['run', '--help']).code, 0);
    const cases: [string[], RegExp][] = [
      [['run'], /give exactly one notebook/],
      [['run', 'tests/fixtures/notebooks/parameters.ipynb', '--kernel', 'python3'], /--kernel must be one of hanlab, hanlab-gpu/],
      [['run', 'tests/fixtures/notebooks/parameters.ipynb', '--timeout', '0'], /--timeout must be a positive number/],
      [['run', 'tests/fixtures/notebooks/parameters.ipynb', '-p', 'epochs=many'], /parameter "epochs" is declared as number, got "many"/],
      [['run', path.join(work, 'missing.ipynb')], /missing\.ipynb: cannot read notebook \(ENOENT\)/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = hanlab(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
    }
  });
});

describe('hanlab kernels', () => {
  test('install --prefix writes both specs; list --json shows them and each backend', () => {
    const prefix = path.join(work, 'prefix');
    const install = hanlab(['kernels', 'install', '--prefix', prefix]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /installed hanlab -> .*hanlab\ninstalled hanlab-gpu -> /);
    assert.ok(existsSync(path.join(prefix, 'share', 'jupyter', 'kernels', 'hanlab-gpu', 'kernel.json')));
    const list = hanlab(['kernels', 'list', '--prefix', prefix, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const { kernels, backends } = JSON.parse(list.stdout);
    assert.deepEqual(kernels.map((kernel: { name: string }) => kernel.name), ['hanlab', 'hanlab-gpu']);
    assert.ok(kernels.every((kernel: { installed: string[] }) => kernel.installed.some((dir) => dir.startsWith(prefix))));
    assert.deepEqual(backends.map((probe: { backend: string }) => probe.backend), ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    const cpuKernel = kernels[0].backend.backend;
    assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(cpuKernel));
    const text = hanlab(['kernels', 'list']);
    assert.match(text.stdout, /^hanlab  \(hanlab \(TypeScript, CPU\)\)\n  backend: /);
    assert.equal(hanlab(['kernels', 'install', '--user', '--prefix', prefix]).code, 2);
    assert.equal(hanlab(['kernels', 'remove']).code, 2);
  });
});

describe('no orphan kernels', () => {
  test('a runner killed with SIGKILL (no cleanup possible) does not leave its kernel running', async () => {
    const script = "import { KernelClient } from './lib/notebook/kernel-client.ts';\nconst kernel = await KernelClient.start();\nconsole.log(kernel.pid);\nsetInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, HANLAB_TEST_MARKER: marker }, stdio: ['ignore', 'pipe', 'inherit'] });
    const kernelPid = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
      child.once('exit', (code) => reject(new Error(`the runner exited early (${code})`)));
    });
    assert.ok(kernelPid > 0);
    child.kill('SIGKILL');
    // The launcher notices it was re-parented within about a second and exits.
    assert.deepEqual(await waitForNoProcesses(marker, 10_000), []);
  });
});
