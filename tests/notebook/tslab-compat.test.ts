/**
 * Every notebook imports lib/ through tslab, which compiles it with its own TypeScript (5.0.4) and its
 * own options: Node10 module resolution, ES2022 lib, and no `strict` (so no strictNullChecks, where
 * discriminated unions narrow differently). Code that passes the project's `tsc` can still fail there,
 * and only when a notebook cell runs. This test compiles all of lib/ the way tslab does, so such code
 * fails here, with file and line, instead of in a published report's notebook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.resolve('package.json'));
// tslab's own compiler, exactly the one the kernel uses.
const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.resolve('node_modules/tslab')] })) as typeof import('typescript');

function listTypeScript(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return listTypeScript(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

test('all of lib/ compiles under tslab\'s TypeScript and compiler options', { timeout: 240_000 }, () => {
  const files = listTypeScript(path.resolve('lib'));
  assert.ok(files.length > 20, `expected the lib/ sources, found ${files.length} files`);
  // Mirrors node_modules/tslab/dist/converter.js (createConverter) for Node >= 18.
  const options: import('typescript').CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    declaration: true,
    experimentalDecorators: true,
    resolveJsonModule: true,
    allowJs: true,
    checkJs: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  };
  const program = ts.createProgram(files, options);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  const messages = diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${path.relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1} TS${d.code} ${text}`;
  });
  assert.deepEqual(messages, [], `lib/ does not compile under tslab:\n${messages.join('\n')}`);
});
