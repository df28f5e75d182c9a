/**
 * The official Jupyter kernel test suite (jupyter_kernel_test, in ../shared/reference, run as it is)
 * against the `hanlab` kernel installed into a temporary prefix: every check it has must pass.
 * Skips (saying why) only where Debian's python3-jupyter-client or the reference copy is missing and
 * HANLAB_REQUIRE_JUPYTER is unset; CI sets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { installKernelSpecs } from '../../lib/jupyter/kernelspec.js';
import { findJupyterClientPython, isolatedJupyterEnv, skipUnlessRequired } from '../notebook/jupyter.js';
import { testWorkspace } from '../notebook/processes.js';

const REFERENCE = path.resolve(process.env.HANLAB_REFERENCE_DIR ?? path.join('..', 'shared', 'reference'), 'jupyter_kernel_test');
const python = findJupyterClientPython();
const missing = !python ? 'python3-jupyter-client is not installed (apt install python3-jupyter-client)' : !existsSync(path.join(REFERENCE, 'jupyter_kernel_test', '__init__.py')) ? `jupyter_kernel_test is not at ${REFERENCE}` : undefined;
const skip = skipUnlessRequired(missing);
const { work, marker } = testWorkspace('conformance', 'the suite shut its kernel down');

test('jupyter_kernel_test passes every check against the installed hanlab kernel', { skip, timeout: 300_000 }, async () => {
  assert.equal(missing, undefined, missing);
  const prefix = path.join(work, 'prefix');
  installKernelSpecs({ prefix });
  const suite = path.resolve('tests', 'kernel', 'jupyter_kernel_test_hanlab.py');
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(python!, [suite], {
      env: isolatedJupyterEnv(prefix, work, { PYTHONPATH: REFERENCE, HANLAB_TEST_MARKER: marker, PYTHONDONTWRITEBYTECODE: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ code: exitCode, output }));
  });
  const ran = Number(/^Ran (\d+) tests? in /m.exec(output)?.[1] ?? 0);
  const results = [...output.matchAll(/^(test_\w+) \([^)]*\)[^\n]*? \.\.\. (ok|FAIL|ERROR|skipped.*)$/gm)].map((match) => [match[1], match[2]]);
  console.log(`jupyter_kernel_test: ${ran} checks run; ${results.filter(([, status]) => status === 'ok').length} passed`);
  assert.equal(code, 0, output);
  assert.equal(ran, 12, `the suite's 12 kernel checks ran:\n${output}`);
  assert.deepEqual(results.filter(([, status]) => status !== 'ok'), [], `every check passes, none skipped:\n${output}`);
});
