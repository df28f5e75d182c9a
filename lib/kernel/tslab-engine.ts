/**
 * The TypeScript engine: tslab's own converter and executor (node_modules/tslab/dist), unchanged, behind
 * the Engine interface. Notebooks compile exactly as under stock tslab (its TypeScript 5.0.4, its
 * options, the project root as rootDir, so `./lib/...` imports work); what this module adds is what the
 * executor only printed:
 *
 * - the last expression's value (the executor hands it to `console.log`; we pass our own console);
 * - the thrown value (handed to `console.error`) and the compiler's diagnostics (from the converter
 *   we give the executor), turned into ename/evalue/traceback at the cell's own lines;
 * - an uncaught exception from a callback or an unawaited promise while the cell runs, which becomes
 *   the cell's error instead of stderr noise under an "ok" cell.
 *
 * To name cells in stack traces, each cell's script gets a file name (`vm.runInThisContext` is
 * wrapped for the duration of the executor's synchronous call: tslab passes it no file name).
 *
 * TypeScript loads through a per-user V8 code cache (code-cache.ts). With HANLAB_COMPILER_THREAD=on the
 * converters (TypeScript's program: a second or more to build) live in a thread of their own
 * (compiler-thread.ts), started by `startCompiler()` as the kernel starts, so that the build overlaps
 * with the kernel's start; when that thread cannot start, they are built here. It is off by default:
 * with it, an interrupt of a synchronous endless loop right after the cell started was lost in
 * tests/kernel/kernel-process.test.ts (the kernel spun for ever; cause not found yet), and on this loaded 2-core machine
 * the bench showed no gain from it (no core was free to overlap on).
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { requireWithCodeCache } from './code-cache.js';
import { CompilerThread } from './compiler-thread.js';
import { deferDirectoryWatches, type DirectoryWatchingSystem } from './deferred-watches.js';
import type { CompletenessAnswer, Completion, Engine, ExecuteContext, ExecuteOutcome, Inspection, LanguageInfo, PagePayload } from './engine.js';
import { tslabPaths, type TslabPaths } from './tslab-paths.js';
import { widenLongLiterals, type DeclarationScanner } from './declarations.js';
import { PositionMap, type ScannerModule } from './position-map.js';
import { describeThrown, excerpt, type FrameLocation } from './traceback.js';

// The parts of tslab (1.0.22) this engine uses; typed here so that nothing depends on its .d.ts paths.
interface TslabDiagnostic {
  start: { line: number; character: number };
  messageText: string;
  fileName?: string;
}
interface TslabConvertResult {
  output?: string;
  /** The declarations of this and every earlier cell: what the next cell compiles against. */
  declOutput?: string;
  diagnostics: TslabDiagnostic[];
  hasToplevelAwait?: boolean;
  sideOutputs?: { path: string; data: string }[];
}
interface TslabConverter {
  convert(prevDecl: string, src: string): TslabConvertResult;
  inspect(prevDecl: string, src: string, position: number): unknown;
  complete(prevDecl: string, src: string, position: number): { start: number; end: number; candidates: string[] };
  addModule(name: string, content: string, meta?: unknown): TslabDiagnostic[];
  close(): void;
}
interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  inspect(src: string, position: number): unknown;
  complete(src: string, position: number): { start: number; end: number; candidates: string[] };
  interrupt(): void;
  close(): void;
}
interface TslabModules {
  ts: ScannerModule & DeclarationScanner & {
    createSourceFile(fileName: string, text: string, target: number, setParentNodes?: boolean, kind?: number): { parseDiagnostics?: { code: number }[] };
    ScriptKind: { TS: number };
    sys: DirectoryWatchingSystem;
  };
  createConverter(options: { isJS: boolean; isBrowser: boolean }): TslabConverter;
  createExecutor(root: string, convs: { readonly node: TslabConverter; readonly browser: TslabConverter; close(): void }, console: { log(...args: unknown[]): void; error(...args: unknown[]): void }): TslabExecutor;
  isCompleteCode(code: string): { completed: boolean; indent?: string };
  printQuickInfo(info: unknown): string;
}

/** The wrappers tslab's executor puts around a cell's output on its first line. */
const SYNC_PREFIX = '(function(exports, require) { ';
const ASYNC_PREFIX = '(async function(exports, require) { ';
/** TypeScript parse errors that mean "more is coming" rather than "wrong": an open template literal. */
const UNTERMINATED_TEMPLATE = 1160;
/** `expr?` or `expr??` alone in a cell asks for help on expr (IPython's convention). */
const HELP_REQUEST = /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*\?\??\s*$/;

interface CellRecord {
  name: string;
  source: string;
  output: string;
  outputLines: number;
  prefixLength: number;
  map?: PositionMap;
}

interface LibRecord {
  output: string;
  sourceFile: string;
  map?: PositionMap | null;
}

export interface TslabEngineOptions {
  /** The project root: tslab's rootDir and the kernel's working directory. */
  root: string;
  /** The kernel's name and version for kernel_info (`hanlab`, package.json's version). */
  implementation?: string;
  implementationVersion?: string;
  /**
   * Build the converters in a thread of their own (default: only with HANLAB_COMPILER_THREAD=on, see
   * above; the bench measures both ways).
   */
  compilerThread?: boolean;
  /** Starts the compiler's thread (default: a CompilerThread over `root`; tests start one that fails). */
  startThread?: () => CompilerThread;
  /** The code-cache folder for TypeScript (code-cache.ts); default: the user's; "off" disables it. */
  codeCacheDir?: string;
  /** The kernel's log (its stderr), for what a user need not see in a cell. */
  log?: (text: string) => void;
}

export class TslabEngine implements Engine {
  readonly implementation: string;
  readonly implementationVersion: string;
  readonly languageInfo: LanguageInfo;
  private readonly root: string;
  private readonly require: NodeJS.Require;
  private readonly paths: TslabPaths;
  private readonly options: TslabEngineOptions;
  private readonly versions: { typescript: string; tslab: string };
  private thread?: CompilerThread;
  private modules?: TslabModules;
  /**
   * Work held back until the first cell has answered, when the program is built in this thread:
   * TypeScript's directory watchers start (deferred-watches.ts) and the code cache is written, now
   * holding what building the program and checking a cell compiled (code-cache.ts).
   */
  private afterFirstCell?: () => void;
  private executor?: TslabExecutor;
  private converters: TslabConverter[] = [];
  private warming?: Promise<void>;
  private readonly cells = new Map<string, CellRecord>();
  private readonly libFiles = new Map<string, LibRecord>();
  private cellSerial = 0;
  /** What the executor reported through our console during the current execution. */
  private captured: { value?: { value: unknown }; thrown?: { value: unknown }; convert?: TslabConvertResult; moduleDiagnostics?: TslabDiagnostic[] } = {};
  private running?: { uncaught?: { value: unknown } };

  constructor(options: TslabEngineOptions) {
    this.root = path.resolve(options.root);
    this.options = options;
    this.require = createRequire(path.join(this.root, 'package.json'));
    this.paths = tslabPaths(this.root);
    this.versions = {
      typescript: JSON.parse(readFileSync(this.paths.typescriptPackage, 'utf8')).version,
      tslab: JSON.parse(readFileSync(path.join(this.paths.tslabDir, 'package.json'), 'utf8')).version,
    };
    this.implementation = options.implementation ?? 'hanlab';
    this.implementationVersion = options.implementationVersion ?? '0.0.0';
    this.languageInfo = {
      name: 'typescript',
      version: this.versions.typescript,
      mimetype: 'text/typescript',
      file_extension: '.ts',
      pygments_lexer: 'typescript',
      // As tslab: this makes Notebook 6 and JupyterLab highlight TypeScript.
      codemirror_mode: { mode: 'typescript', name: 'javascript', typescript: true },
    };
  }

  banner(): string {
    return [
      `hanlab ${this.implementationVersion}: TypeScript ${this.versions.typescript} (tslab ${this.versions.tslab}) on Node.js ${process.version}`,
      `Cells run in ${this.root}; import the library as ./lib/... (e.g. import { emit } from './lib/notebook/display.js').`,
    ].join('\n');
  }

  /**
   * Starts building the converters in their thread (once; nothing when the thread is switched off).
   * The kernel calls this before it binds its sockets: the build then runs while the kernel starts.
   */
  startCompiler(): void {
    if (this.thread || !this.threadWanted()) return;
    try {
      this.thread = this.options.startThread?.() ?? new CompilerThread({ root: this.root, codeCacheDir: this.options.codeCacheDir });
    } catch (error) {
      this.options.log?.(`[hanlab kernel] the compiler thread did not start (${error instanceof Error ? error.message : String(error)}); compiling in the kernel's thread\n`);
    }
  }

  warm(): Promise<void> {
    this.warming ??= this.load();
    return this.warming;
  }

  private threadWanted(): boolean {
    return this.options.compilerThread ?? process.env.HANLAB_COMPILER_THREAD === 'on';
  }

  private async load(): Promise<void> {
    this.startCompiler();
    const fromTslab = (request: string) => this.require(this.paths.dist(request));
    // This thread needs TypeScript too (the executor's metadata, completeness, positions): it loads
    // while the compiler's thread builds its program.
    const typescript = requireWithCodeCache(this.paths.typescript, { dir: this.options.codeCacheDir });
    const ts = typescript.exports as TslabModules['ts'];
    const converterModule = fromTslab('converter.js');
    const modules: TslabModules = {
      ts,
      createConverter: converterModule.createConverter,
      isCompleteCode: converterModule.isCompleteCode,
      createExecutor: fromTslab('executor.js').createExecutor,
      printQuickInfo: fromTslab('inspect.js').printQuickInfo,
    };
    if (!this.thread) {
      // Before the first watch host is made: it binds watchDirectory then.
      const watches = deferDirectoryWatches(ts.sys);
      this.afterFirstCell = () => {
        watches.release();
        typescript.save();
      };
    }
    const converter = await this.converterFactory(modules);
    // In place, this takes most of a second: TypeScript builds its first program.
    const node = this.recording(converter('node'), modules.ts);
    let browser: TslabConverter | undefined;
    const converters = this.converters;
    converters.push(node);
    const convs = {
      node,
      get browser(): TslabConverter {
        if (!browser) converters.push((browser = converter('browser')));
        return browser;
      },
      close: () => {
        for (const each of converters) each.close();
        this.thread?.close();
      },
    };
    const console = {
      log: (value: unknown) => {
        this.captured.value = { value };
      },
      error: (...args: unknown[]) => {
        // One argument: a thrown value. More: a diagnostic line, which the converter gave us already.
        if (args.length === 1) this.captured.thrown = { value: args[0] };
      },
    };
    this.executor = modules.createExecutor(this.root, convs, console);
    this.modules = modules;
  }

  /** Converters from the compiler's thread once it is ready, or built here when it failed or is off. */
  private async converterFactory(modules: TslabModules): Promise<(name: 'node' | 'browser') => TslabConverter> {
    const inPlace = (name: 'node' | 'browser') => modules.createConverter({ isJS: false, isBrowser: name === 'browser' });
    const thread = this.thread;
    if (!thread) return inPlace;
    try {
      await thread.ready;
      return (name) => thread.converter(name) as TslabConverter;
    } catch (error) {
      this.options.log?.(`[hanlab kernel] ${error instanceof Error ? error.message : String(error)}; compiling in the kernel's thread\n`);
      thread.close();
      this.thread = undefined;
      return inPlace;
    }
  }

  /**
   * The converter, remembering what it produced for the cell being run, and passing on declarations
   * without long literal types (declarations.ts: a 10 MB literal made every later cell slow).
   */
  private recording(converter: TslabConverter, ts: DeclarationScanner): TslabConverter {
    return {
      convert: (prevDecl, src) => {
        const result = converter.convert(prevDecl, src);
        if (result.declOutput) result.declOutput = widenLongLiterals(result.declOutput, ts);
        this.captured.convert = result;
        return result;
      },
      inspect: (prevDecl, src, position) => converter.inspect(prevDecl, src, position),
      complete: (prevDecl, src, position) => converter.complete(prevDecl, src, position),
      addModule: (name, content, meta) => {
        const diagnostics = converter.addModule(name, content, meta);
        this.captured.moduleDiagnostics = diagnostics;
        return diagnostics;
      },
      close: () => converter.close(),
    };
  }

  async execute(code: string, context: ExecuteContext): Promise<ExecuteOutcome> {
    await this.warm();
    const executor = this.executor!;
    const help = HELP_REQUEST.exec(code);
    if (help) return this.help(help[1]);

    const serial = ++this.cellSerial;
    const file = `hanlab-cell-${serial}`;
    const name = context.executionCount !== null ? `In[${context.executionCount}]` : `(silent ${serial})`;
    this.captured = {};
    this.running = {};
    let ok: boolean;
    try {
      // tslab's executor calls vm.runInThisContext synchronously inside execute(); only that call is renamed.
      const vmModule = vm as unknown as { runInThisContext: typeof vm.runInThisContext };
      const original = vmModule.runInThisContext;
      vmModule.runInThisContext = ((source: string, options?: vm.RunningScriptOptions) => original(source, { ...options, filename: file })) as typeof vm.runInThisContext;
      let pending: Promise<boolean>;
      try {
        pending = executor.execute(code);
      } finally {
        vmModule.runInThisContext = original;
      }
      ok = await pending;
      // Rejections nobody awaited are reported after the microtasks settle: give them this cell.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.record(file, name, code);
    }
    const uncaught = this.running.uncaught;
    this.running = undefined;
    // The first cell has its outcome: what was held back for it runs now, after the reply.
    const afterFirstCell = this.afterFirstCell;
    if (afterFirstCell) {
      this.afterFirstCell = undefined;
      setTimeout(afterFirstCell, 0);
    }
    const captured = this.captured;
    if (captured.moduleDiagnostics?.length) process.stderr.write(captured.moduleDiagnostics.map((d) => formatDiagnostic(d)).join('\n') + '\n');
    if (uncaught) return { status: 'error', failure: this.describe(uncaught.value, 'uncaught') };
    if (!ok) {
      if (captured.convert?.diagnostics.length) return { status: 'error', failure: this.compileFailure(name, code, captured.convert.diagnostics) };
      if (captured.thrown) return { status: 'error', failure: this.describe(captured.thrown.value) };
      return { status: 'error', failure: { ename: 'Error', evalue: 'the cell failed without an error (tslab reported failure only)', traceback: [] } };
    }
    return captured.value ? { status: 'ok', result: captured.value } : { status: 'ok' };
  }

  failRunningCell(error: unknown): boolean {
    if (!this.running) return false;
    this.running.uncaught ??= { value: error };
    // Stop waiting on the cell's promise: the error is the cell's outcome.
    this.executor?.interrupt();
    return true;
  }

  interrupt(): void {
    this.executor?.interrupt();
  }

  async complete(code: string, cursorPos: number): Promise<Completion> {
    await this.warm();
    const info = this.executor!.complete(code, cursorPos);
    return { matches: info.candidates, cursorStart: info.start, cursorEnd: info.end };
  }

  async inspect(code: string, cursorPos: number): Promise<Inspection> {
    await this.warm();
    const info = this.executor!.inspect(code, cursorPos);
    return info ? { found: true, text: this.modules!.printQuickInfo(info) } : { found: false };
  }

  async isComplete(code: string): Promise<CompletenessAnswer> {
    await this.warm();
    const { ts, isCompleteCode } = this.modules!;
    const answer = isCompleteCode(code);
    if (!answer.completed) return { status: 'incomplete', indent: answer.indent ?? '' };
    if (/(^|\n)\s*\n\s*$/.test(code)) return { status: 'complete' }; // two blank lines: run it as it is (tslab's rule)
    const errors = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS).parseDiagnostics ?? [];
    if (errors.length === 0) return { status: 'complete' };
    if (errors.some((error) => error.code === UNTERMINATED_TEMPLATE)) return { status: 'incomplete', indent: '' };
    return { status: 'invalid' };
  }

  close(): void {
    this.executor?.close();
    this.thread?.close();
  }

  /** The traceback of a thrown value, with cells and lib/ files at their own lines. */
  describe(thrown: unknown, how?: 'uncaught') {
    const failure = describeThrown(thrown, (file, line, column) => this.locate(file, line, column));
    if (how === 'uncaught') failure.traceback.push('', '(thrown where no one caught it: in a callback or a promise the cell did not await)');
    if (isInterrupt(thrown)) return { ...failure, ename: 'InterruptError', evalue: 'the cell was interrupted' };
    return failure;
  }

  private help(expression: string): ExecuteOutcome {
    const info = this.executor!.inspect(expression, expression.length);
    const text = info ? this.modules!.printQuickInfo(info) : `no help found for ${expression}`;
    const payload: PagePayload = { source: 'page', data: { 'text/plain': text }, start: 0 };
    return { status: 'ok', payload: [payload] };
  }

  private record(file: string, name: string, source: string): void {
    const converted = this.captured.convert;
    if (converted?.output !== undefined) {
      this.cells.set(file, { name, source, output: converted.output, outputLines: converted.output.split('\n').length, prefixLength: (converted.hasToplevelAwait ? ASYNC_PREFIX : SYNC_PREFIX).length });
    }
    for (const side of converted?.sideOutputs ?? []) {
      const sourceFile = [side.path.replace(/\.js$/, '.ts'), side.path.replace(/\.js$/, '.tsx'), side.path].find((candidate) => existsSync(candidate)) ?? side.path;
      this.libFiles.set(path.resolve(side.path), { output: side.data, sourceFile });
    }
  }

  private locate(file: string, line: number, column: number): FrameLocation | null | undefined {
    const cell = this.cells.get(file);
    if (cell) {
      // The line after the output is tslab's wrapper calling the cell: machinery.
      if (line > cell.outputLines) return null;
      cell.map ??= new PositionMap(this.modules!.ts, cell.source, cell.output);
      const at = cell.map.toSource({ line, column: line === 1 ? column - cell.prefixLength : column });
      if (!at) return { label: cell.name };
      return { label: `${cell.name}:${at.line}:${at.column}`, cell: { name: cell.name, source: cell.source, line: at.line, column: at.column } };
    }
    if (file.startsWith('node:') || file.startsWith('evalmachine.')) return null;
    const absolute = file.startsWith('file://') ? fileURLToPath(file) : file;
    if (!path.isAbsolute(absolute)) return undefined;
    const relative = path.relative(this.root, absolute);
    // The kernel's own code and tslab's are the machinery, not the user's program.
    if (/^(dist|lib[\\/]kernel)[\\/]/.test(relative) || /node_modules[\\/]tslab[\\/]/.test(relative)) return null;
    const lib = this.libFiles.get(absolute);
    if (lib) {
      if (lib.map === undefined) {
        try {
          lib.map = new PositionMap(this.modules!.ts, readFileSync(lib.sourceFile, 'utf8'), lib.output);
        } catch {
          lib.map = null;
        }
      }
      const at = lib.map?.toSource({ line, column });
      const shown = path.relative(this.root, lib.sourceFile);
      return { label: at ? `${shown}:${at.line}:${at.column}` : `${shown} (compiled line ${line})` };
    }
    return relative.startsWith('..') ? undefined : { label: `${relative}:${line}:${column}` };
  }

  private compileFailure(name: string, source: string, diagnostics: TslabDiagnostic[]) {
    const lines = diagnostics.map((diagnostic) => formatDiagnostic(diagnostic));
    const traceback = [...lines];
    const first = diagnostics.find((diagnostic) => diagnostic.fileName === undefined);
    if (first) {
      const at = first.start.line + 1;
      traceback.push('', ...excerpt({ name, source, line: at, column: first.start.character + 1 }));
    }
    return { ename: 'CompileError', evalue: lines.join('\n'), traceback };
  }
}

function formatDiagnostic(diagnostic: TslabDiagnostic): string {
  return `${diagnostic.fileName ? `${diagnostic.fileName} ` : ''}${diagnostic.start.line + 1}:${diagnostic.start.character + 1} - ${diagnostic.messageText}`;
}

function isInterrupt(thrown: unknown): boolean {
  if (!(thrown instanceof Error)) return false;
  return thrown.message === 'Interrupted asynchronously' || (thrown as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED';
}
