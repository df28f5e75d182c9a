/**
 * TypeScript's directory watchers held back until the first cell has answered (lib/kernel/deferred-watches.ts):
 * nothing starts before release(), a watcher closed meanwhile never starts, the rest start with their
 * own arguments, and later requests go straight through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferDirectoryWatches, type DirectoryWatchingSystem } from '../../lib/kernel/deferred-watches.js';

function fakeSystem() {
  const started: string[] = [];
  const closed: string[] = [];
  const system: DirectoryWatchingSystem & { calls: number } = {
    calls: 0,
    watchDirectory(path, _callback, recursive) {
      this.calls++;
      started.push(`${path}${recursive ? ' (recursive)' : ''}`);
      return { close: () => void closed.push(path) };
    },
  };
  return { system, started, closed };
}

test('watch requests wait for release(); one closed meanwhile never starts; the rest start once, then requests pass', () => {
  const { system, started, closed } = fakeSystem();
  const deferred = deferDirectoryWatches(system);
  const callback = () => undefined;
  const types = system.watchDirectory!('/project/node_modules/@types', callback, true);
  const failed = system.watchDirectory!('/project/lib', callback, false);
  failed.close();
  assert.deepEqual(started, [], 'nothing is watched while the first program builds');
  assert.equal(deferred.pending, 1);
  deferred.release();
  deferred.release();
  assert.deepEqual(started, ['/project/node_modules/@types (recursive)']);
  types.close();
  assert.deepEqual(closed, ['/project/node_modules/@types'], 'closing after release closes the real watcher');
  const later = system.watchDirectory!('/project/data', callback, false);
  assert.deepEqual(started, ['/project/node_modules/@types (recursive)', '/project/data'], 'after release a request starts at once');
  later.close();
  assert.deepEqual(closed, ['/project/node_modules/@types', '/project/data']);
  assert.equal(deferred.pending, 0);
});

test('a system without watchDirectory is left as it is', () => {
  const system: DirectoryWatchingSystem = {};
  const deferred = deferDirectoryWatches(system);
  assert.equal(system.watchDirectory, undefined);
  deferred.release();
});
