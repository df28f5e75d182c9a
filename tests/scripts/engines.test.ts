/**
 * package.json's `engines` and the locked dependency set agree (issue 26, item 17): every Node version
 * the project admits is one every locked package admits, so `npm ci` never warns EBADENGINE on a Node
 * the README promises (vega-lite 6.5 wanted Node ≥ 22 while the project said Node ≥ 20). And the Node
 * running the tests is one the project admits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string; engines?: unknown; os?: string[] }> };
const projectRange = manifest.engines.node;

test("every locked package's engines admit every Node version package.json's engines admit", () => {
  assert.ok(semver.validRange(projectRange), `engines.node ${JSON.stringify(projectRange)} is not a range`);
  const disagreeing: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '') continue;
    // Old packages write engines as a list of strings; npm itself only checks the object form.
    const node = typeof entry.engines === 'object' && entry.engines !== null && !Array.isArray(entry.engines) ? (entry.engines as { node?: unknown }).node : undefined;
    if (typeof node !== 'string') continue;
    if (!semver.subset(projectRange, node, { includePrerelease: false })) disagreeing.push(`${where.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${node}`);
  }
  assert.deepEqual(disagreeing, [], `package.json says node ${projectRange}`);
  assert.equal((lock.packages[''] as { engines?: { node?: string } }).engines?.node, projectRange, 'package-lock.json is current with package.json');
});

test('the Node running this is one package.json admits', () => {
  assert.ok(semver.satisfies(process.versions.node, projectRange), `node ${process.versions.node} vs engines ${projectRange}`);
});
