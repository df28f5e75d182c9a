/**
 * The house rules (.dependency-cruiser.cjs, drawn in ARCHITECTURE.md), run by dependency-cruiser like
 * a test: the tree passes them, and each rule still bites. Planted trees (a file cycle, a folder
 * cycle, an upward import, lib importing cli, backend internals read outside the tensor floor) are
 * written to a temporary folder and cruised with the project's own configuration.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const depcruise = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.cjs');
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-architecture-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Cruises `folders` of `cwd` with the project's rules; the violations found. */
function cruise(cwd: string, folders: string[]): Violation[] {
  const run = spawnSync(process.execPath, [depcruise, '--config', config, '--output-type', 'json', ...folders], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(run.stdout.trim().startsWith('{'), `dependency-cruiser did not report (exit ${run.status}): ${run.stderr.slice(0, 2000)}`);
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** A tree of TypeScript files (path -> source) with the project's compiler settings. */
function plant(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(work, 'tree-'));
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), source);
  }
  return dir;
}

const described = (violations: Violation[]) => violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);

describe('the house rules', () => {
  test('lib/ and cli/ follow them', () => {
    const violations = cruise(root, ['lib', 'cli']);
    assert.deepEqual(described(violations), []);
  });

  test('a clean planted tree passes (the rules are not failing on everything)', () => {
    const dir = plant({
      'lib/errors.ts': 'export class HanlabError extends Error {}\n',
      'lib/data/read.ts': "import { HanlabError } from '../errors.js';\nexport const read = () => new HanlabError();\n",
      'lib/metrics/score.ts': "import { read } from '../data/read.js';\nexport const score = () => read();\n",
      'cli/main.ts': "import { score } from '../lib/metrics/score.js';\nscore();\n",
    });
    assert.deepEqual(described(cruise(dir, ['lib', 'cli'])), []);
  });

  test('a file cycle fails', () => {
    const dir = plant({
      'lib/data/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'lib/data/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const names = cruise(dir, ['lib']).map((v) => v.rule.name);
    assert.ok(names.includes('no-file-cycle'), names.join(', '));
  });

  test('an upward import (ner -> metrics) fails, and makes a folder cycle with the downward one', () => {
    const dir = plant({
      'lib/ner/scheme.ts': "import { f1 } from '../metrics/seqeval.js';\nexport const entities = () => f1;\n",
      'lib/metrics/seqeval.ts': "export const f1 = 0;\n",
      'lib/metrics/report.ts': "import { entities } from '../ner/scheme.js';\nexport const report = entities;\n",
    });
    const violations = described(cruise(dir, ['lib']));
    assert.ok(violations.includes('floor-ner: lib/ner/scheme.ts -> lib/metrics/seqeval.ts'), violations.join('\n'));
    assert.ok(violations.some((v) => v.startsWith('no-folder-cycle: lib/ner')), violations.join('\n'));
  });

  test('a lower floor importing a higher one fails (models -> train, results -> report)', () => {
    const dir = plant({
      'lib/train/trainer.ts': 'export const train = 1;\n',
      'lib/models/bert.ts': "import { train } from '../train/trainer.js';\nexport const bert = train;\n",
      'lib/report/render.ts': 'export const render = 1;\n',
      'lib/results/html.ts': "import { render } from '../report/render.js';\nexport const html = render;\n",
    });
    const violations = described(cruise(dir, ['lib']));
    assert.ok(violations.includes('floor-models: lib/models/bert.ts -> lib/train/trainer.ts'), violations.join('\n'));
    assert.ok(violations.includes('floor-results: lib/results/html.ts -> lib/report/render.ts'), violations.join('\n'));
  });

  test('lib importing cli fails', () => {
    const dir = plant({
      'cli/options.ts': 'export const options = 1;\n',
      'lib/data/read.ts': "import { options } from '../../cli/options.js';\nexport const read = options;\n",
    });
    const names = cruise(dir, ['lib', 'cli']).map((v) => v.rule.name);
    assert.ok(names.includes('lib-not-above'), names.join(', '));
  });

  test('backend internals read outside the tensor floor fail; inside it they pass', () => {
    const dir = plant({
      'lib/tensor/backend-internals.ts': 'export const heap = 1;\n',
      'lib/tensor/ops/mat-mul.ts': "import { heap } from '../backend-internals.js';\nexport const matMul = heap;\n",
      'lib/models/ops.ts': "import { heap } from '../tensor/backend-internals.js';\nexport const ops = heap;\n",
    });
    const violations = described(cruise(dir, ['lib']));
    assert.ok(violations.includes('backend-internals: lib/models/ops.ts -> lib/tensor/backend-internals.ts'), violations.join('\n'));
    assert.ok(!violations.some((v) => v.includes('lib/tensor/ops/mat-mul.ts')), violations.join('\n'));
  });

  test('a folder that is no room of the house fails', () => {
    const dir = plant({
      'lib/errors.ts': 'export const e = 1;\n',
      'lib/misc/helpers.ts': "import { e } from '../errors.js';\nexport const h = e;\n",
    });
    const names = cruise(dir, ['lib']).map((v) => v.rule.name);
    assert.ok(names.includes('unknown-room'), names.join(', '));
  });
});
