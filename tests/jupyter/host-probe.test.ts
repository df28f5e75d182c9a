/**
 * The host probe a remote kernel runs after a notebook's cells (lib/jupyter/host-probe.ts): what it
 * says about the machine and the working tree, and the cell that runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { HOST_MARKER, describeHost, hostProbeCell } from '../../lib/jupyter/host-probe.js';

test('describeHost: packages, platform, root, and the declared inputs hashed or listed as missing', async () => {
  const manifest = await describeHost(['package.json', 'data/no-such-file.tsv']);
  assert.equal(manifest.root, process.cwd());
  assert.equal(manifest.platform.node, process.version);
  assert.ok(manifest.packages['@tensorflow/tfjs'], JSON.stringify(manifest.packages));
  assert.deepEqual(manifest.missingInputs, ['data/no-such-file.tsv']);
  assert.deepEqual(Object.keys(manifest.inputHashes), ['package.json']);
  assert.match(manifest.inputHashes['package.json'], new RegExp(createHash('sha256').update(readFileSync('package.json')).digest('hex')));
  assert.ok((manifest.device as { backends: unknown[] }).backends.length > 0);
});

test('the probe cell imports the module from the kernel\'s checkout and passes the inputs as JSON', () => {
  const cell = hostProbeCell(['data/a "quoted".tsv']);
  assert.match(cell, /await import\('\.\/lib\/jupyter\/host-probe\.js'\)/);
  assert.ok(cell.includes(JSON.stringify(['data/a "quoted".tsv'])), cell);
  assert.ok(cell.startsWith('{') && cell.endsWith('void 0;'), cell);
  assert.equal(HOST_MARKER, 'hanlab:kernel-host-manifest:');
});
