/**
 * The compiled build (scripts/build.mjs → dist/) is used only when it is the build of exactly the
 * sources on disk (bin/build-state.mjs); otherwise the CLI and the kernels run the TypeScript through
 * tsx. Both paths must work, and a stale build must never run.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-expect-error plain JavaScript module without types (it must load before anything else)
import { freshBuild, MANIFEST, sourceState } from '../../bin/build-state.mjs';
import { KernelClient } from '../../lib/jupyter/kernel-client.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-build-'));
const marker = newMarker();
after(async () => {
  rmSync(work, { recursive: true, force: true });
  assert.deepEqual(await waitForNoProcesses(marker), []);
});

/** A tiny project tree with a build manifest that matches it. */
function project(): string {
  const root = mkdtempSync(path.join(work, 'root-'));
  mkdirSync(path.join(root, 'lib', 'x'), { recursive: true });
  mkdirSync(path.join(root, 'cli'), { recursive: true });
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  writeFileSync(path.join(root, 'lib', 'x', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(path.join(root, 'lib', 'types.d.ts'), 'declare const t: number;\n');
  writeFileSync(path.join(root, 'cli', 'b.ts'), 'export const b = 2;\n');
  writeFileSync(path.join(root, 'package.json'), '{}\n');
  writeFileSync(path.join(root, 'tsconfig.json'), '{}\n');
  writeFileSync(path.join(root, 'dist', MANIFEST), JSON.stringify({ sources: sourceState(root) }));
  return root;
}

describe('build freshness', () => {
  test('a build of exactly these sources is used', () => {
    const root = project();
    assert.equal(freshBuild(root), path.join(root, 'dist'));
    assert.deepEqual(Object.keys(sourceState(root)).sort(), ['cli/b.ts', 'lib/x/a.ts', 'package.json', 'tsconfig.json'], 'declaration files are not sources');
  });

  test('an edit, a touched file (git checkout), a new or a deleted source, or a changed package.json makes it stale', () => {
    const edits: Array<(root: string) => void> = [
      (root) => writeFileSync(path.join(root, 'lib', 'x', 'a.ts'), 'export const a = 10;\n'),
      (root) => utimesSync(path.join(root, 'cli', 'b.ts'), new Date(), new Date(Date.now() + 5000)),
      (root) => writeFileSync(path.join(root, 'lib', 'new.ts'), 'export {};\n'),
      (root) => rmSync(path.join(root, 'cli', 'b.ts')),
      (root) => writeFileSync(path.join(root, 'package.json'), '{"type":"module"}\n'),
    ];
    for (const edit of edits) {
      const root = project();
      edit(root);
      assert.equal(freshBuild(root), undefined, edit.toString());
    }
  });

  test('no build, a broken manifest, or HANLAB_NO_BUILD=1: no build is used', () => {
    const root = project();
    writeFileSync(path.join(root, 'dist', MANIFEST), '{ not json');
    assert.equal(freshBuild(root), undefined);
    rmSync(path.join(root, 'dist'), { recursive: true });
    assert.equal(freshBuild(root), undefined);
    const fresh = project();
    process.env.HANLAB_NO_BUILD = '1';
    try {
      assert.equal(freshBuild(fresh), undefined);
    } finally {
      delete process.env.HANLAB_NO_BUILD;
    }
  });
});

describe('without a usable build, the TypeScript sources run', () => {
  test('the CLI', () => {
    const result = spawnSync(process.execPath, ['bin/hanlab.mjs', '--help'], { encoding: 'utf8', env: { ...process.env, HANLAB_NO_BUILD: '1' } });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: hanlab <command>/);
  });

  test('the kernel', { timeout: 120_000 }, async () => {
    const kernel = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_NO_BUILD: '1', HANLAB_TEST_MARKER: marker } });
    try {
      const outcome = await kernel.execute('6 * 7');
      assert.deepEqual(outcome.outputs, [{ output_type: 'execute_result', execution_count: 1, data: { 'text/plain': '42' }, metadata: {} }]);
    } finally {
      await kernel.shutdown();
    }
  });
});
