/**
 * The compiler's thread (lib/kernel/compiler-thread.ts, compiler-worker.ts): its converters answer
 * exactly as tslab's converter built in place (the same output, declarations and diagnostics, so cells
 * are type-checked as before), errors come back as errors, a thread that cannot start says why, and the
 * engine then compiles in its own thread.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompilerThread } from '../../lib/kernel/compiler-thread.js';
import { TslabEngine } from '../../lib/kernel/tslab-engine.js';
import { tslabPaths } from '../../lib/kernel/tslab-paths.js';

const root = path.resolve('.');
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-compiler-thread-'));
const cacheDir = path.join(work, 'cache');
let thread: CompilerThread;

interface Converted {
  output?: string;
  declOutput?: string;
  diagnostics: { start: unknown; messageText: string }[];
  hasToplevelAwait?: boolean;
}

before(() => {
  thread = new CompilerThread({ root, codeCacheDir: cacheDir });
});
after(() => {
  thread?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the compiler thread', () => {
  test('converts cells exactly as tslab\'s converter built in this thread', async () => {
    const ready = await thread.ready;
    assert.ok(ready.ms >= 0);
    assert.ok(['missing', 'hit', 'rejected', 'damaged'].includes(ready.codeCache), ready.codeCache);
    const remote = thread.converter('node');
    const paths = tslabPaths(root);
    const { createConverter } = createRequire(paths.dist('converter.js'))(paths.dist('converter.js')) as { createConverter(options: object): { convert(prev: string, src: string): Converted; close(): void } };
    const local = createConverter({ isJS: false, isBrowser: false });
    try {
      const cells = ['const answer: number = 6 * 7;\nanswer', "const wrong: number = 'text';", 'const later = answer + 1;\nawait Promise.resolve(later)', "import path from 'node:path';\npath.join('a', 'b')", 'undefinedName + 1'];
      let remoteDecl = '';
      let localDecl = '';
      for (const cell of cells) {
        const fromThread = remote.convert(remoteDecl, cell) as Converted;
        const inPlace = local.convert(localDecl, cell);
        assert.deepEqual(fromThread, inPlace, cell);
        if (fromThread.diagnostics.length === 0) {
          remoteDecl = fromThread.declOutput ?? remoteDecl;
          localDecl = inPlace.declOutput ?? localDecl;
        }
      }
      const diagnostics = (remote.convert(remoteDecl, "const again: string = answer;") as Converted).diagnostics;
      assert.deepEqual(diagnostics.map((d) => d.messageText), ["Type 'number' is not assignable to type 'string'."], 'earlier cells\' declarations are checked against');
    } finally {
      local.close();
    }
  });

  test('completion, quick info and the browser converter answer through the thread', async () => {
    await thread.ready;
    const completion = thread.converter('node').complete('', 'const texts = [\'a\'];\ntexts.len', 'const texts = [\'a\'];\ntexts.len'.length) as { candidates: string[] };
    assert.ok(completion.candidates.includes('length'));
    const info = thread.converter('node').inspect('', 'Math.max', 6) as { displayParts?: { text: string }[] };
    assert.match(info.displayParts!.map((part) => part.text).join(''), /max\(\.\.\.values: number\[\]\): number/);
    const browser = thread.converter('browser').convert('', 'document.title') as Converted;
    assert.deepEqual(browser.diagnostics, [], 'the browser converter knows the DOM');
  });

  test('an error thrown in the thread is thrown to the caller, with its name', async () => {
    // A program nested too deep for TypeScript's parser: it throws a RangeError (in place as well).
    const own = new CompilerThread({ root, codeCacheDir: cacheDir });
    try {
      await own.ready;
      assert.throws(() => own.converter('node').convert('', '['.repeat(200_000)), (error: Error) => error.name === 'RangeError' && /call stack/.test(error.message));
    } finally {
      own.close();
    }
  });

  test('a closed thread refuses calls instead of waiting for ever', async () => {
    const short = new CompilerThread({ root, codeCacheDir: cacheDir });
    await short.ready;
    short.close();
    assert.throws(() => short.converter('node').convert('', '1'), /the compiler thread is closed/);
  });

  test('a thread that cannot load tslab says why', async () => {
    const empty = mkdtempSync(path.join(work, 'no-tslab-'));
    writeFileSync(path.join(empty, 'package.json'), '{}');
    const broken = new CompilerThread({ root: empty, codeCacheDir: 'off' });
    try {
      await assert.rejects(broken.ready, /the compiler thread failed to start: .*tslab/);
    } finally {
      broken.close();
    }
  });
});

describe('TslabEngine and its compiler thread', () => {
  test('when the thread fails, the engine compiles in its own thread and says so in the log', async () => {
    const empty = mkdtempSync(path.join(work, 'no-tslab-'));
    writeFileSync(path.join(empty, 'package.json'), '{}');
    const logged: string[] = [];
    const engine = new TslabEngine({ root, codeCacheDir: cacheDir, compilerThread: true, log: (text) => logged.push(text), startThread: () => new CompilerThread({ root: empty, codeCacheDir: 'off' }) });
    try {
      engine.startCompiler();
      const outcome = await engine.execute('const n: number = 20;\nn + 1', { executionCount: 1 });
      assert.deepEqual(outcome, { status: 'ok', result: { value: 21 } });
      const failed = await engine.execute("const s: string = n;", { executionCount: 2 });
      assert.equal(failed.status, 'error');
      assert.equal(failed.status === 'error' && failed.failure.ename, 'CompileError');
      assert.match(logged.join(''), /the compiler thread failed to start: .*; compiling in the kernel's thread/);
    } finally {
      engine.close();
    }
  });

  test('with the thread, cells run and type errors stop them', async () => {
    const engine = new TslabEngine({ root, codeCacheDir: cacheDir, compilerThread: true });
    try {
      engine.startCompiler();
      assert.deepEqual(await engine.execute('const m: number = 2;\nm * 21', { executionCount: 1 }), { status: 'ok', result: { value: 42 } });
      const failed = await engine.execute('const t: string = m;', { executionCount: 2 });
      assert.equal(failed.status === 'error' && failed.failure.ename, 'CompileError');
      assert.match(failed.status === 'error' ? failed.failure.evalue : '', /Type 'number' is not assignable to type 'string'/);
    } finally {
      engine.close();
    }
  });
});
