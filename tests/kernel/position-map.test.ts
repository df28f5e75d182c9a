import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { PositionMap, type ScannerModule } from '../../lib/kernel/position-map.js';

// The scanner the kernel uses: tslab's own TypeScript.
const require = createRequire(path.resolve('package.json'));
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.resolve('node_modules/tslab')] })) as ScannerModule & {
  transpileModule(input: string, options: { compilerOptions: Record<string, unknown> }): { outputText: string };
  ModuleKind: { CommonJS: number };
};

/** TypeScript → CommonJS as tslab's last step does (types and blank lines go, imports become requires). */
function emit(source: string): string {
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.Latest } }).outputText;
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((line) => line.includes(needle)) + 1;
}

describe('PositionMap: positions in the JavaScript that ran → the TypeScript written', () => {
  const source = [
    "import { readFileSync } from 'fs';",
    '',
    'interface Row { id: string; f1: number }',
    'type Rows = Row[];',
    '',
    'function best(rows: Rows): Row {',
    "  if (rows.length === 0) throw new RangeError('no rows');",
    '  return rows.reduce((a, b) => (a.f1 >= b.f1 ? a : b));',
    '}',
    '',
    "const text: string = readFileSync('x', 'utf8');",
    'best([]);',
  ].join('\n');
  const output = emit(source);
  const map = new PositionMap(ts, source, output);

  test('each statement maps back to its own line, across removed types and blank lines', () => {
    assert.deepEqual(map.toSource({ line: lineOf(output, 'throw new RangeError'), column: output.split('\n')[lineOf(output, 'throw new RangeError') - 1].indexOf('throw') + 1 }), { line: 7, column: 26 });
    assert.equal(map.toSource({ line: lineOf(output, 'readFileSync)('), column: 1 })?.line, 11);
    assert.equal(map.toSource({ line: lineOf(output, 'best([])'), column: 1 })?.line, 12);
    assert.equal(map.toSource({ line: lineOf(output, 'rows.reduce'), column: 5 })?.line, 8);
  });

  test('a require the emitter re-quoted still finds its import line', () => {
    const line = lineOf(output, 'require("fs")');
    const column = output.split('\n')[line - 1].indexOf('require') + 1;
    assert.equal(map.toSource({ line, column })?.line, 1);
  });

  test('every statement of generated cells maps to its own line (property)', () => {
    const statement = fc.constantFrom(
      'n = n + 2;',
      'console.log(n);',
      'interface I {\n  a: string;\n}',
      '',
      'const s: string = `t${n} and ${`inner ${n}`}`;',
      'function g(x: number): number {\n  return x * 2;\n}',
      'if (n > 3) {\n  n = 0;\n}',
      'type T = { a: number };',
      "const o: Record<string, unknown> = { a: 1, b: 'x' };",
    );
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 12 }), (lines) => {
        const text = ['let n: number = 0;', ...lines, 'throw new Error("marker");'].join('\n');
        const js = emit(text);
        const jsLine = lineOf(js, 'throw new Error("marker")');
        assert.equal(new PositionMap(ts, text, js).toSource({ line: jsLine, column: 1 })?.line, lineOf(text, 'throw new Error("marker")'));
      }),
      { numRuns: 100 },
    );
  });
});
