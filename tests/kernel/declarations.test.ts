/**
 * The declarations a cell leaves for the next: long string literals are widened to `string`, so a
 * 10 MB literal is not re-parsed by every later cell (issue 26 item 6; the speed is in
 * bench/runner.bench.ts). Checked on the declarations TypeScript itself emits, and in the real kernel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { MAX_LITERAL_TYPE_LENGTH, widenLongLiterals, type DeclarationScanner } from '../../lib/kernel/declarations.js';
import { KernelClient } from '../../lib/jupyter/kernel-client.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

interface TypeScript extends DeclarationScanner {
  createSourceFile(fileName: string, text: string, target: number): { parseDiagnostics: unknown[] };
  createCompilerHost(options: object): {
    getSourceFile(fileName: string, target: number): unknown;
    writeFile(fileName: string, data: string): void;
  };
  createProgram(roots: string[], options: object, host: object): { emit(): void };
}

// tslab's own TypeScript, the one the kernel compiles with.
const tslabDir = path.dirname(createRequire(path.resolve('package.json')).resolve('tslab/package.json'));
const ts = createRequire(path.join(tslabDir, 'package.json'))('@tslab/typescript-for-tslab') as TypeScript;

/** The .d.ts TypeScript emits for `source`, as tslab's converter asks for it (declaration: true). */
function declarationsOf(source: string): string {
  const host = ts.createCompilerHost({ declaration: true });
  const original = host.getSourceFile.bind(host);
  let emitted = '';
  host.getSourceFile = (fileName, target) => (fileName === '/cell.ts' ? ts.createSourceFile(fileName, source, target) : original(fileName, target));
  host.writeFile = (fileName, data) => {
    if (fileName.endsWith('.d.ts')) emitted = data;
  };
  // noLib: the standard library's declarations are not needed for these, and take seconds to load.
  ts.createProgram(['/cell.ts'], { declaration: true, emitDeclarationOnly: true, noLib: true, types: [], target: ts.ScriptTarget.Latest }, host).emit();
  return emitted;
}

const parses = (declarations: string) => ts.createSourceFile('/check.d.ts', declarations, ts.ScriptTarget.Latest).parseDiagnostics.length === 0;

describe('widenLongLiterals', () => {
  const long = 'x'.repeat(MAX_LITERAL_TYPE_LENGTH);
  const short = 'y'.repeat(10);

  test('a const holding a long literal is declared a string; short literals keep their types', () => {
    const emitted = declarationsOf(`const big = '${long}';\nconst small = "${short}";\nconst t = \`${long}\`;\nconst m = "${long}", n = "${short}";\nexport { big, small, t, m, n };`);
    assert.ok(emitted.includes(long), 'TypeScript writes the whole literal into the declarations');
    assert.equal(
      widenLongLiterals(emitted, ts),
      `declare const big: string;\ndeclare const small = "${short}";\ndeclare const t: string;\ndeclare const m: string, n = "${short}";\nexport { big, small, t, m, n };\n`,
    );
  });

  test('literal types in type positions become string; property names, enum values and short declarations stay', () => {
    const emitted = declarationsOf(
      `const c = "${long}" as const;\nconst o = { s: "${long}", "-${long}": 1 } as const;\nlet u: "${long}" | "b" = "b";\nenum E { A = "${long}" }\nexport { c, o, u, E };`,
    );
    const widened = widenLongLiterals(emitted, ts);
    assert.match(widened, /^declare const c: string;$/m);
    assert.match(widened, /^ {4}readonly s: string;$/m);
    assert.match(widened, new RegExp(`^ {4}readonly "-${long}": 1;$`, 'm'), 'a quoted property name is a name, not a type');
    assert.match(widened, /^declare let u: string \| "b";$/m);
    assert.match(widened, new RegExp(`^ {4}A = "${long}"$`, 'm'), 'an enum member keeps its value');
    assert.ok(parses(widened));
    const unchanged = declarationsOf(`const a = "${short}";\nexport { a };`);
    assert.equal(widenLongLiterals(unchanged, ts), unchanged);
  });

  test('what TypeScript emits for random const declarations still parses after widening, and no widened literal is longer than the limit (property)', () => {
    const literal = fc.tuple(fc.integer({ min: 0, max: 3 * MAX_LITERAL_TYPE_LENGTH }), fc.constantFrom('"', "'", '`')).map(([length, quote]) => `${quote}${'z'.repeat(length)}${quote}`);
    const statement = fc.tuple(fc.constantFrom('const', 'let'), literal, fc.constantFrom('', ' as const'), fc.boolean()).map(
      ([keyword, value, suffix, wrap]) => `${keyword} NAME = ${wrap ? `{ k: ${value}${suffix} }` : `${value}${keyword === 'const' ? suffix : ''}`};`,
    );
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 4 }), (statements) => {
        const source = statements.map((line, index) => line.replace('NAME', `v${index}`)).join('\n') + `\nexport { ${statements.map((_, index) => `v${index}`).join(', ')} };`;
        const widened = widenLongLiterals(declarationsOf(source), ts);
        const longest = Math.max(0, ...(widened.match(/"[^"\n]*"/g) ?? []).map((text) => text.length));
        return parses(widened) && longest <= MAX_LITERAL_TYPE_LENGTH;
      }),
      { numRuns: 100 },
    );
  });
});

describe('the kernel after a 10 MB string literal', () => {
  const marker = newMarker();
  let kernel: KernelClient;
  before(async () => {
    kernel = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
  });
  after(async () => {
    await kernel?.shutdown();
    assert.deepEqual(await waitForNoProcesses(marker), []);
  });

  test('later cells still use the value, typed string', async () => {
    const literal = await kernel.execute(`const big = "${'x'.repeat(10 * 1024 * 1024)}";\nbig.length`);
    assert.equal(literal.status, 'ok', JSON.stringify(literal.reply));
    const later = await kernel.execute('const n: number = big.length;\nconst s: string = big.slice(0, 3) + big.at(-1);\n`${n} ${s}`');
    assert.equal(later.status, 'ok', JSON.stringify(later.reply));
    assert.equal((later.outputs[0] as { data: Record<string, string> }).data['text/plain'], "'10485760 xxxx'");
    // Typed string now, not the literal: comparing it with another string compiles.
    const compare = await kernel.execute('big === "y"');
    assert.equal(compare.status, 'ok', JSON.stringify(compare.reply));
  });
});
