/** `hanlab run` and `hanlab kernels`: the thin CLI over lib/notebook (exit codes, files, messages). */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readNotebook, type CodeCell } from '../../lib/notebook/nbformat.js';
import { newMarker, processesWithMarker, waitForNoProcesses } from './processes.js';

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
      [['run', 'tests/fixtures/notebooks/parameters.ipynb', '--timeout=-1'], /--timeout must be a number of seconds \(0: no limit\)/],
      [['run', 'tests/fixtures/notebooks/parameters.ipynb', '--timeout', 'soon'], /--timeout must be a number of seconds/],
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

/** Starts `hanlab run` and resolves once its stderr matches `ready` (the run is then mid-way). */
function startRun(args: string[], ready: RegExp, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/hanlab.mjs', 'run', ...args], { env: { ...process.env, HANLAB_TEST_MARKER: marker, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => child.once('close', (code) => resolve({ code, stderr, stdout })));
  const started = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (ready.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`hanlab run exited before ${ready}: ${stderr}`)));
  });
  started.catch(() => undefined);
  return { child, started, exited };
}

describe('hanlab run stopped from outside', () => {
  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${signal}: the partial notebook is written, the running cell says it was stopped, exit ${exitCode}`, async () => {
      const out = path.join(work, `stopped-${signal}.ipynb`);
      const run = startRun(['tests/fixtures/notebooks/timeout.ipynb', '--out', out], /\[1\/3\] cell 1: ok/);
      await run.started;
      await new Promise((resolve) => setTimeout(resolve, 500));
      run.child.kill(signal);
      const { code, stderr } = await run.exited;
      assert.equal(code, exitCode, stderr);
      assert.match(stderr, new RegExp(`hanlab run: ${signal}: stopping the kernel and writing the partial notebook`));
      assert.match(stderr, /the run was stopped by SIG(INT|TERM) while cell 2 \("console\.log\('sleeping'\);"\) was running/);
      const saved = readNotebook(out);
      assert.deepEqual((saved.cells[0] as CodeCell).outputs, [{ output_type: 'stream', name: 'stdout', text: 'start\n' }]);
      const stopped = (saved.cells[1] as CodeCell).outputs;
      assert.deepEqual(stopped[0], { output_type: 'stream', name: 'stdout', text: 'sleeping\n' });
      assert.equal((stopped.at(-1) as { ename: string }).ename, 'RunStoppedError');
      assert.deepEqual((saved.metadata.hanlab?.run as { cells: { status: string }[] }).cells.map((cell) => cell.status), ['ok', 'stopped', 'skipped']);
    });
  }

  test('a kernel that cannot start: exit 1 and a notebook holding the error', () => {
    const out = path.join(work, 'no-kernel.ipynb');
    // A project folder with the kernelspecs but without npm dependencies: the launcher finds no tslab.
    const bare = mkdtempSync(path.join(work, 'bare-project-'));
    cpSync('kernels', path.join(bare, 'kernels'), { recursive: true });
    const result = spawnSync(process.execPath, [path.resolve('bin/hanlab.mjs'), 'run', path.resolve('tests/fixtures/notebooks/error.ipynb'), '--out', out], {
      cwd: bare,
      encoding: 'utf8',
      env: { ...process.env, HANLAB_TEST_MARKER: marker },
    });
    const { status: code, stderr } = result;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /hanlab run: the kernel exited with code 1 while starting/);
    const first = (readNotebook(out).cells[0] as CodeCell).outputs[0] as { ename: string; evalue: string };
    assert.equal(first.ename, 'KernelDiedError');
    assert.match(first.evalue, /tslab is not installed in/);
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
    assert.deepEqual(backends.map((probe: { backend: string }) => probe.backend), ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    const cpuKernel = kernels[0].backend.backend;
    assert.ok(['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(cpuKernel));
    const text = hanlab(['kernels', 'list']);
    assert.match(text.stdout, /^hanlab  \(hanlab \(TypeScript, CPU\)\)\n  backend: /);
    assert.equal(hanlab(['kernels', 'install', '--user', '--prefix', prefix]).code, 2);
    assert.equal(hanlab(['kernels', 'remove']).code, 2);
  });
});

describe('no orphan kernels', () => {
  test('a runner killed with SIGKILL (no cleanup possible) does not leave its kernel running', async () => {
    const script = "import { KernelClient } from './lib/jupyter/kernel-client.ts';\nconst kernel = await KernelClient.start();\nconsole.log(kernel.pid);\nsetInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, HANLAB_TEST_MARKER: marker }, stdio: ['ignore', 'pipe', 'inherit'] });
    const kernelPid = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
      child.once('exit', (code) => reject(new Error(`the runner exited early (${code})`)));
    });
    assert.ok(kernelPid > 0);
    child.kill('SIGKILL');
    // The kernel notices it was re-parented within about a second and exits.
    assert.deepEqual(await waitForNoProcesses(marker, 10_000), []);
  });

  test('kill -9 of `hanlab run`: the processes the notebook spawned go too, and the connection file with its key is removed', async () => {
    const childMarker = newMarker();
    const run = startRun(['tests/fixtures/notebooks/spawns-child.ipynb', '--out', path.join(work, 'spawns.ipynb')], /\[1\/2\] cell 1: ok/, { HANLAB_TEST_MARKER: childMarker });
    await run.started;
    const marked = processesWithMarker(childMarker);
    const commands = marked.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0'));
    assert.ok(commands.some((argv) => argv[0] === 'sleep' && argv[1] === '300'), `the notebook's child runs: ${JSON.stringify(commands)}`);
    const kernelPid = marked.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('launch.cjs'));
    assert.ok(kernelPid, 'the kernel runs');
    const connectionDir = readFileSync(`/proc/${kernelPid}/environ`, 'latin1').split('\0').find((entry) => entry.startsWith('HANLAB_CONNECTION_DIR='))!.slice('HANLAB_CONNECTION_DIR='.length);
    const connectionFile = path.join(connectionDir, 'connection.json');
    assert.equal(statSync(connectionFile).mode & 0o777, 0o600);
    assert.equal(statSync(connectionDir).mode & 0o777, 0o700);
    run.child.kill('SIGKILL');
    await run.exited;
    assert.deepEqual(await waitForNoProcesses(childMarker, 10_000), [], 'runner, kernel and the spawned sleep are all gone');
    assert.equal(existsSync(connectionDir), false, 'the private connection folder is removed');
  });
});
