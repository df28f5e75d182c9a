/**
 * Headless notebook execution: papermill's `execute_notebook`, for the hanlab kernels, over the Jupyter
 * protocol (no Python). Reads the notebook, injects parameters, starts the kernel with the project
 * root as working directory, runs the code cells in order, and writes the executed notebook with
 * proper error outputs and run metadata (`metadata.hanlab.run`).
 *
 * The notebook is written whatever happens: a failing cell, a cell over its time limit (30 minutes
 * unless told otherwise), a dead kernel, a kernel that never started (the error is in the first code
 * cell), or a run stopped from outside (`signal`, for SIGINT/SIGTERM: the running cell says so).
 * The kernel is reached through the KernelConnection interface (kernel-connection.ts): a local process
 * by default (KernelClient), a Jupyter server's kernel through `launcher` (remote-kernel.ts).
 */
import path from 'node:path';
import { expectedBackend, probeBackends } from '../backend/probe.js';
import { HanlabError } from '../errors.js';
import { errorFromStderr, removeTrailingStderr, type StreamChunk } from './cell-errors.js';
import { CellError, CellTimeoutError, KernelDiedError, KernelStartError, RunStoppedError, type CellLocation } from './errors.js';
import { KernelClient } from './kernel-client.js';
import { ExecuteTimeout, type KernelConnection, type KernelHostManifest, type KernelLauncher } from './kernel-connection.js';
import { readKernelSpec } from './kernelspec.js';
import { readNotebook, sourceText, writeNotebook, type CodeCell, type ErrorOutput, type Notebook, type Output } from '../notebook/nbformat.js';
import { injectParameters, INJECTED_TAG, hasTag } from '../notebook/parameters.js';
import { contentStamp, gitState, hashExistingInputs, packageVersions, type ContentStamp, type GitState } from './provenance.js';
import { readResults } from '../results/read.js';

export interface RunOptions {
  /** Values for the notebook's parameters (injected after the `parameters` cell). */
  parameters?: Record<string, unknown>;
  /** Kernelspec under `<cwd>/kernels/`; default `hanlab`. */
  kernel?: 'hanlab' | 'hanlab-gpu' | (string & {});
  /** Where to write the executed notebook (also written when a cell fails); default: not written. */
  output?: string;
  /** Per-cell time limit; default DEFAULT_CELL_TIMEOUT_MS (30 minutes); 0 or Infinity: none. */
  cellTimeoutMs?: number;
  /** Run every cell even after one fails (the run is still `ok: false`). */
  allowErrors?: boolean;
  /** The project root: the kernel's working directory; default process.cwd(). */
  cwd?: string;
  /** Progress: called before and after each code cell. */
  onCell?: (event: CellEvent) => void;
  /** Extra environment for the kernel (e.g. HANLAB_BACKEND). */
  env?: Record<string, string>;
  /** How long the kernel may take to start; default 60 s. */
  startTimeoutMs?: number;
  /** Stops the run when aborted (SIGINT/SIGTERM): the running cell gets a RunStoppedError and the notebook is written. */
  signal?: AbortSignal;
  /** Start the kernel there instead of as a local process (remote-kernel.ts: a Jupyter server). */
  launcher?: KernelLauncher;
  /**
   * The git state to record, read by the caller before it wrote anything (`hanlab reports` writes
   * tracked reports between runs); default: read now. Ignored for a remote kernel, which reports its own.
   */
  git?: GitState | null;
}

/** The default per-cell time limit: generous (the CPU training notebooks take minutes), but never forever. */
export const DEFAULT_CELL_TIMEOUT_MS = 30 * 60 * 1000;

export interface CellEvent {
  phase: 'start' | 'end';
  /** 0-based index in notebook.cells. */
  index: number;
  /** 1-based position among the code cells run, and how many there are. */
  position: number;
  total: number;
  cell: CodeCell;
  /** The cell's stream output so far: filled while it runs (for live progress), final at 'end'. */
  streams?: readonly StreamChunk[];
  status?: CellStatus;
  durationMs?: number;
  /** The error output, when the cell failed. */
  error?: ErrorOutput;
}

export type CellStatus = 'ok' | 'error' | 'timeout' | 'kernel-died' | 'stopped' | 'skipped';

export interface RunResult {
  notebook: Notebook;
  /** The path written, when `output` was given. */
  output?: string;
  /** True when every code cell ran without error. */
  ok: boolean;
  failedCell?: { index: number; ename: string; evalue: string };
  /** The error that ended or marred the run (CellError, CellTimeoutError, KernelDiedError, KernelStartError or RunStoppedError). */
  error?: HanlabError;
  durationMs: number;
}

/** What the runner records in `notebook.metadata.hanlab.run`. */
export interface RunMetadata {
  runner: string;
  input: string;
  kernel: string;
  /** The Jupyter server the kernel ran on (its URL without the token); absent for a local kernel. */
  server?: string;
  parameters: Record<string, unknown>;
  injectedParameters: boolean;
  unknownParameters?: string[];
  startedAt: string;
  endedAt: string;
  durationMs: number;
  kernelStartMs: number;
  /** The per-cell time limit the run used (null: none). */
  cellTimeoutMs: number | null;
  cells: { index: number; id?: string; status: CellStatus; durationMs?: number; executionCount?: number | null }[];
  ok: boolean;
  failedCell?: { index: number; ename: string; evalue: string };
  /** The notebook's emitted `device` result, or, when it emitted none, what the runner found. */
  device?: unknown;
  deviceSource?: 'notebook' | 'runner-probe' | 'kernel-probe';
  packages: Record<string, string>;
  git?: GitState;
  /** The notebook, lib/ and declared inputs by content (local kernels; see contentStamp). */
  contentStamp?: ContentStamp;
  platform: { os: string; arch: string; node: string };
  /** SHA-256 of the declared inputs (metadata.hanlab.report.inputs) where the kernel ran. */
  inputHashes?: Record<string, string>;
  /** Declared inputs the kernel's working tree lacks, or whose bytes differ from this checkout's. */
  inputMismatch?: { missing: string[]; different: string[] };
  /** Why a remote kernel could not describe its host (the record then holds this machine's view). */
  hostProbeError?: string;
}

export async function runNotebook(input: string, options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const root = path.resolve(options.cwd ?? process.cwd());
  const kernelName = options.kernel ?? 'hanlab';
  const launcher = options.launcher;
  const spec = launcher ? await launcher.kernelSpec(kernelName) : readKernelSpec(kernelName, root);
  const source = readNotebook(input);
  const declaredInputs = declaredInputsOf(source);

  // Provenance is gathered while the kernel starts (the start is seconds of mostly the kernel's CPU).
  const gitPromise = options.git !== undefined ? Promise.resolve(options.git ?? undefined) : gitState(root);
  const probePromise = probeDevice(root);
  const localInputs = hashExistingInputs(declaredInputs, root);
  let host: KernelHostManifest | undefined;
  let hostProbeError: string | undefined;

  let notebook = structuredClone(source);
  const parameters = options.parameters ?? {};
  let injected = false;
  let unknownNames: string[] = [];
  if (Object.keys(parameters).length > 0) {
    const injection = await injectParameters(notebook, parameters);
    notebook = injection.notebook;
    injected = true;
    unknownNames = injection.unknownNames;
  } else {
    injected = notebook.cells.some((cell) => hasTag(cell, INJECTED_TAG));
  }
  for (const cell of notebook.cells) {
    if (cell.cell_type !== 'code') continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  notebook.metadata.kernelspec = { name: kernelName, display_name: spec.display_name, language: spec.language };

  const codeCells = notebook.cells.flatMap((cell, index) => (cell.cell_type === 'code' ? [index] : []));
  const cellRecords: RunMetadata['cells'] = codeCells.map((index) => ({ index, id: notebook.cells[index].id, status: 'skipped' as CellStatus }));
  let failedCell: RunResult['failedCell'];
  let runError: HanlabError | undefined;
  let kernel: KernelConnection | undefined;
  let kernelStartMs = 0;
  const cellTimeoutMs = options.cellTimeoutMs === undefined ? DEFAULT_CELL_TIMEOUT_MS : options.cellTimeoutMs > 0 && Number.isFinite(options.cellTimeoutMs) ? options.cellTimeoutMs : undefined;
  // Resolves when the run is stopped from outside; raced against the kernel so nothing waits on it.
  const stopped = new Promise<RunStoppedError>((resolve) => {
    const stop = () => resolve(new RunStoppedError(String(options.signal?.reason ?? 'the caller')));
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });

  try {
    const kernelStarted = Date.now();
    let kernelReady = false;
    try {
      const starting: Promise<KernelConnection> = launcher
        ? launcher.start(kernelName, { env: options.env, startTimeoutMs: options.startTimeoutMs })
        : KernelClient.start({ kernel: readKernelSpec(kernelName, root), root, env: options.env, startTimeoutMs: options.startTimeoutMs });
      kernel = await raceStop(starting, stopped).catch((error: unknown) => {
        // Stopped while the kernel was starting: stop it too once it is up.
        if (error instanceof RunStoppedError) void starting.then((late) => late.shutdown({ graceful: false }), () => undefined);
        throw error;
      });
      const info = await raceStop(kernel.kernelInfo(), stopped);
      if (info.language_info && typeof info.language_info === 'object') {
        notebook.metadata.language_info = info.language_info as { name: string };
      }
      // The hanlab kernel answers before it has loaded its compiler; an empty silent request waits for
      // that, so the start counts it and no cell's time limit does.
      await raceStop(kernel.execute('', { silent: true, timeoutMs: options.startTimeoutMs ?? 60_000 }), stopped);
      kernelReady = true;
    } catch (error) {
      // No cell ran: the notebook says why in its first code cell.
      if (error instanceof ExecuteTimeout) error = new KernelStartError(`the ${kernelName} kernel did not get ready within ${Math.round(error.timeoutMs / 1000)} s of starting`);
      if (!(error instanceof KernelStartError || error instanceof KernelDiedError || error instanceof RunStoppedError)) throw error;
      runError = error;
      const first = codeCells[0];
      if (first !== undefined) {
        const errorOutput: ErrorOutput = { output_type: 'error', ename: error.name, evalue: error.message, traceback: error.message.split('\n') };
        (notebook.cells[first] as CodeCell).outputs = [errorOutput];
        cellRecords[0].status = error instanceof RunStoppedError ? 'stopped' : 'kernel-died';
        failedCell = { index: first, ename: errorOutput.ename, evalue: errorOutput.evalue };
      }
    }
    kernelStartMs = Date.now() - kernelStarted;

    for (let position = 0; kernelReady && kernel && position < codeCells.length; position++) {
      const index = codeCells[position];
      const cell = notebook.cells[index] as CodeCell;
      const record = cellRecords[position];
      const location = cellLocation(notebook, index);
      const code = sourceText(cell.source);
      const outputs: Output[] = [];
      const streams: StreamChunk[] = [];
      options.onCell?.({ phase: 'start', index, position: position + 1, total: codeCells.length, cell, streams });
      const cellStarted = Date.now();
      let errorOutput: ErrorOutput | undefined;
      try {
        if (code.trim() === '') {
          record.status = 'ok';
        } else {
          const outcome = await raceStop(kernel.execute(code, { timeoutMs: cellTimeoutMs, cell: location, outputs, streams }), stopped);
          cell.execution_count = outcome.executionCount;
          record.executionCount = outcome.executionCount;
          if (outcome.status === 'ok') {
            record.status = 'ok';
            cell.outputs = outputs.slice();
          } else {
            record.status = 'error';
            const sent = outputs.find((output): output is ErrorOutput => output.output_type === 'error');
            if (outcome.status === 'abort') {
              errorOutput = { output_type: 'error', ename: 'CellAbortedError', evalue: 'the kernel refused to run this cell ("aborted")', traceback: [] };
              cell.outputs = [...outputs, errorOutput];
            } else if (sent) {
              errorOutput = sent;
              cell.outputs = outputs.slice();
            } else if (typeof outcome.reply.ename === 'string') {
              errorOutput = { output_type: 'error', ename: outcome.reply.ename, evalue: String(outcome.reply.evalue ?? ''), traceback: (outcome.reply.traceback as string[]) ?? [] };
              cell.outputs = [...outputs, errorOutput];
            } else {
              // A kernel that reports errors only as stderr text (stock tslab, over another transport).
              const built = errorFromStderr(streams);
              errorOutput = built.error;
              cell.outputs = [...removeTrailingStderr(outputs, built.consumed), errorOutput];
            }
          }
        }
      } catch (error) {
        if (error instanceof ExecuteTimeout) {
          record.status = 'timeout';
          runError = new CellTimeoutError(location, error.timeoutMs);
        } else if (error instanceof KernelDiedError) {
          record.status = 'kernel-died';
          runError = error.cell ? error : new KernelDiedError({ cell: location, exitCode: error.exitCode, signal: error.signal, stderrTail: error.stderrTail });
        } else if (error instanceof RunStoppedError) {
          record.status = 'stopped';
          runError = new RunStoppedError(error.reason, location);
        } else {
          throw error;
        }
        errorOutput = { output_type: 'error', ename: runError.name, evalue: runError.message, traceback: [runError.message] };
        cell.outputs = [...outputs, errorOutput];
      }
      record.durationMs = Date.now() - cellStarted;
      options.onCell?.({ phase: 'end', index, position: position + 1, total: codeCells.length, cell, streams, status: record.status, durationMs: record.durationMs, error: errorOutput });

      if (errorOutput) {
        if (!failedCell) failedCell = { index, ename: errorOutput.ename, evalue: errorOutput.evalue };
        if (record.status === 'error' && !runError) runError = new CellError(location, errorOutput.ename, errorOutput.evalue, errorOutput.traceback);
        // A timeout, a dead kernel or a stop ends the run even with allowErrors: the kernel is gone, stuck or unwanted.
        if (record.status !== 'error' || !options.allowErrors) break;
      }
    }
    // A remote kernel describes its own machine and tree, after the cells (a probe before them would
    // shift their execution counts), while it is alive and idle.
    if (kernel?.describeHost && (runError === undefined || runError instanceof CellError)) {
      try {
        host = await kernel.describeHost(declaredInputs);
      } catch (error) {
        hostProbeError = error instanceof Error ? error.message : String(error);
      }
    }
  } finally {
    await kernel?.shutdown({ graceful: runError === undefined || runError instanceof CellError });
  }

  const endedAt = new Date().toISOString();
  const durationMs = Date.now() - started;
  let device: unknown;
  let deviceSource: RunMetadata['deviceSource'];
  try {
    const results = readResults(notebook, input);
    if ('device' in results) {
      device = results.device;
      deviceSource = 'notebook';
    }
  } catch {
    // Malformed result bundles are the report's error to raise (it names the cell); the run record stays.
  }
  if (deviceSource === undefined && host) {
    device = host.device;
    deviceSource = 'kernel-probe';
  } else if (deviceSource === undefined) {
    device = await probePromise;
    deviceSource = 'runner-probe';
  }
  const inputHashes = host ? host.inputHashes : localInputs.hashes;
  const mismatch = host ? inputMismatch(localInputs.hashes, host) : undefined;
  const ok = failedCell === undefined;
  const run: RunMetadata = {
    runner: 'hanlab run',
    input: path.relative(root, path.resolve(input)) || input,
    kernel: kernelName,
    ...(launcher ? { server: launcher.location } : {}),
    parameters: { ...parameters },
    injectedParameters: injected,
    ...(unknownNames.length ? { unknownParameters: unknownNames } : {}),
    startedAt,
    endedAt,
    durationMs,
    kernelStartMs,
    cellTimeoutMs: cellTimeoutMs ?? null,
    cells: cellRecords,
    ok,
    ...(failedCell ? { failedCell } : {}),
    device,
    deviceSource,
    packages: host ? host.packages : packageVersions(root),
    git: host ? host.git : launcher ? undefined : await gitPromise,
    ...(launcher ? {} : { contentStamp: contentStamp(path.resolve(input), root, localInputs.hashes) }),
    platform: host ? host.platform : { os: process.platform, arch: process.arch, node: process.version },
    ...(Object.keys(inputHashes).length ? { inputHashes } : {}),
    ...(mismatch ? { inputMismatch: mismatch } : {}),
    ...(hostProbeError ? { hostProbeError } : {}),
  };
  // Keep what the author put under metadata.hanlab (report: template, name, title); replace only `run`.
  notebook.metadata.hanlab = { ...(notebook.metadata.hanlab ?? {}), run };

  let written: string | undefined;
  if (options.output) {
    writeNotebook(options.output, notebook);
    written = options.output;
  }
  return { notebook, output: written, ok, failedCell, error: runError, durationMs };
}

function cellLocation(notebook: Notebook, index: number): CellLocation {
  const cell = notebook.cells[index];
  const firstLine = sourceText(cell.source).split('\n').find((line) => line.trim() !== '')?.trim();
  return { index, id: cell.id, firstLine };
}

/** `metadata.hanlab.report.inputs` when it is a list of strings (the report checks it properly). */
function declaredInputsOf(notebook: Notebook): string[] {
  const inputs = (notebook.metadata.hanlab?.report as { inputs?: unknown } | undefined)?.inputs;
  return Array.isArray(inputs) ? inputs.filter((input): input is string => typeof input === 'string') : [];
}

/** Declared inputs the remote tree lacks or holds with other bytes than this checkout; undefined when they agree. */
function inputMismatch(local: Record<string, string>, host: KernelHostManifest): { missing: string[]; different: string[] } | undefined {
  const different = Object.keys(host.inputHashes).filter((input) => local[input] !== undefined && local[input] !== host.inputHashes[input]);
  return host.missingInputs.length || different.length ? { missing: host.missingInputs, different } : undefined;
}

/** What backends the runner's machine offers, for notebooks that emit no `device` result. */
async function probeDevice(root: string): Promise<unknown> {
  // The static probe: loading TensorFlow.js here would cost the runner a second for a guess.
  const backends = probeBackends(root);
  return { expectedBackend: expectedBackend(backends), backends };
}

/** `work`, unless the run is stopped first (then rejects with the RunStoppedError). */
function raceStop<T>(work: Promise<T>, stopped: Promise<RunStoppedError>): Promise<T> {
  return Promise.race([work, stopped.then((error) => Promise.reject(error))]);
}
