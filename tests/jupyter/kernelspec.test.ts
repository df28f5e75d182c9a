import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KernelSpecError } from '../../lib/jupyter/errors.js';
import { KERNEL_NAMES, findInstalledKernelSpecs, installKernelSpecs, kernelCommand, kernelsInstallDir, readKernelSpec, readKernelSpecDir, userJupyterDataDir } from '../../lib/jupyter/kernelspec.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-kernelspec-'));
after(() => rmSync(work, { recursive: true, force: true }));
const root = process.cwd();

describe('kernelspecs', () => {
  test('both templates exist, start the launcher with {connection_file}, and only the GPU one requires a GPU', () => {
    for (const name of KERNEL_NAMES) {
      const spec = readKernelSpec(name, root);
      assert.equal(spec.language, 'typescript');
      assert.deepEqual(spec.argv, ['node', '{resource_dir}/launch.cjs', '{connection_file}']);
    }
    assert.equal(readKernelSpec('hanlab-gpu', root).env?.HANLAB_REQUIRE_GPU, '1');
    assert.equal(readKernelSpec('hanlab', root).env?.HANLAB_REQUIRE_GPU, undefined);
  });

  test('the command substitutes Jupyter placeholders and uses this Node', () => {
    const spec = readKernelSpec('hanlab', root);
    assert.deepEqual(kernelCommand(spec, '/tmp/c.json'), [process.execPath, path.join(root, 'kernels', 'hanlab') + '/launch.cjs', '/tmp/c.json']);
  });

  test('install --prefix writes absolute kernel.json files that Jupyter can find there', () => {
    const prefix = path.join(work, 'prefix');
    const installed = installKernelSpecs({ prefix }, root);
    assert.deepEqual(installed.map((kernel) => kernel.dir), KERNEL_NAMES.map((name) => path.join(prefix, 'share', 'jupyter', 'kernels', name)));
    const json = JSON.parse(readFileSync(path.join(installed[1].dir, 'kernel.json'), 'utf8'));
    assert.deepEqual(json.argv, [process.execPath, path.join(root, 'kernels', 'hanlab-gpu', 'launch.cjs'), '{connection_file}']);
    assert.equal(json.env.HANLAB_PROJECT_ROOT, root);
    assert.equal(json.env.HANLAB_REQUIRE_GPU, '1');
    const found = findInstalledKernelSpecs([prefix]).filter((spec) => spec.resourceDir.startsWith(prefix));
    assert.deepEqual(found.map((spec) => spec.name).sort(), [...KERNEL_NAMES].sort());
  });

  test('--user honours JUPYTER_DATA_DIR and XDG_DATA_HOME', () => {
    const saved = { data: process.env.JUPYTER_DATA_DIR, xdg: process.env.XDG_DATA_HOME };
    try {
      process.env.JUPYTER_DATA_DIR = path.join(work, 'data');
      assert.equal(kernelsInstallDir({ user: true }), path.join(work, 'data', 'kernels'));
      delete process.env.JUPYTER_DATA_DIR;
      process.env.XDG_DATA_HOME = path.join(work, 'xdg');
      assert.equal(userJupyterDataDir(), path.join(work, 'xdg', 'jupyter'));
    } finally {
      if (saved.data === undefined) delete process.env.JUPYTER_DATA_DIR;
      else process.env.JUPYTER_DATA_DIR = saved.data;
      if (saved.xdg === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = saved.xdg;
    }
  });

  test('unknown kernels and broken specs are KernelSpecErrors that say what is wrong', () => {
    assert.throws(() => readKernelSpec('python3', root), (error: unknown) => error instanceof KernelSpecError && /no kernelspec "python3"/.test(error.message));
    const broken = path.join(work, 'broken');
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'kernel.json'), JSON.stringify({ argv: ['node', 'x.js'], display_name: 'x' }));
    assert.throws(() => readKernelSpecDir(broken), /must pass \{connection_file\}/);
    writeFileSync(path.join(broken, 'kernel.json'), '{');
    assert.throws(() => readKernelSpecDir(broken), KernelSpecError);
  });
});
