/**
 * `hanlab run`: execute a notebook headless (papermill-style) with the hanlab kernels, over the
 * Jupyter protocol. A thin shell over lib/jupyter/runner.
 */
import path from 'node:path';
import { RunStoppedError, formatSeconds } from '../../lib/jupyter/errors.js';
import { killAllKernels } from '../../lib/jupyter/kernel-client.js';
import { KERNEL_NAMES, isKernelName } from '../../lib/jupyter/kernelspec.js';
import { readNotebook } from '../../lib/notebook/nbformat.js';
import { parseParameterArgs } from '../../lib/notebook/parameters.js';
import { remoteLauncher, shutdownRemoteKernels } from '../../lib/jupyter/remote-kernel.js';
import { parseServerAddress } from '../../lib/jupyter/remote-server.js';
import { DEFAULT_CELL_TIMEOUT_MS, runNotebook } from '../../lib/jupyter/runner.js';
import { parseCommandLine, parseNumberOption, usageError } from '../options.js';

const USAGE = `Usage: hanlab run <notebook.ipynb> [options]

Runs every code cell in order in a fresh hanlab kernel (started from the project root, so notebooks
import ./lib/...), and writes the executed notebook with outputs, errors and run metadata.

  -p, --parameter NAME=VALUE  set a parameter (repeatable); injected after the cell tagged
                              "parameters" as a typed const (numbers, true/false, JSON, text)
  -o, --out PATH              where to write the executed notebook
                              (default: out/notebooks/<notebook name>)
  -k, --kernel NAME           ${KERNEL_NAMES.join(' | ')} (default: hanlab); with --server,
                              any kernelspec the server has
  -t, --timeout SECONDS       per-cell time limit (default: ${DEFAULT_CELL_TIMEOUT_MS / 60_000} minutes; 0: none)
      --server URL            run on a kernel of this Jupyter server, Kernel Gateway or
                              Enterprise Gateway (its kernels REST + WebSocket API) instead
                              of a local one; the notebook runs in the server's checkout
      --token TOKEN           the server's token (default: ?token= in the URL, else $JUPYTER_TOKEN)
      --connect-timeout S     bound on reaching the server, each request, and noticing a
                              server that stopped answering mid-run (default 10)
      --allow-errors          keep running after a failing cell (exit status is still 1)
  -q, --quiet                 no per-cell progress
  -h, --help                  show this help

The executed notebook is written in every case: when a cell fails, times out or the kernel dies,
when the kernel cannot start (the error is in the first code cell), and on Ctrl-C or SIGTERM (the
running cell says it was stopped; a second signal stops at once).

Exit status: 0 when every cell ran, 1 when a cell failed, timed out, the kernel died or could not
start, 130/143 when stopped by SIGINT/SIGTERM, 2 for bad usage or a server that cannot be used
(unreachable, wrong token, no such kernel).`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, USAGE, {
    parameter: { type: 'string', short: 'p', multiple: true, default: [] },
    out: { type: 'string', short: 'o' },
    kernel: { type: 'string', short: 'k', default: 'hanlab' },
    timeout: { type: 'string', short: 't' },
    'allow-errors': { type: 'boolean', default: false },
    server: { type: 'string' },
    token: { type: 'string' },
    'connect-timeout': { type: 'string' },
    quiet: { type: 'boolean', short: 'q', default: false },
  });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw usageError(`give exactly one notebook (got ${positionals.length})`, USAGE);
  const input = positionals[0];
  // A server may name its kernelspecs otherwise; it says itself whether it has the kernel.
  if (!isKernelName(values.kernel) && (values.server === undefined || !/^[\w.-]+$/.test(values.kernel))) {
    throw usageError(`--kernel must be one of ${KERNEL_NAMES.join(', ')}, got "${values.kernel}"`, USAGE);
  }
  const cellTimeoutMs =
    values.timeout === undefined
      ? DEFAULT_CELL_TIMEOUT_MS
      : Math.round(parseNumberOption(values.timeout, '--timeout', 0, (seconds) => seconds >= 0 && Number.isFinite(seconds), 'a number of seconds (0: no limit)') * 1000);
  const output = values.out ?? path.join('out', 'notebooks', path.basename(input));
  if (values.token !== undefined && values.server === undefined) throw usageError('--token needs --server', USAGE);
  const connectTimeoutMs = Math.round(parseNumberOption(values['connect-timeout'], '--connect-timeout', 10, (seconds) => seconds > 0, 'a positive number of seconds') * 1000);
  const launcher = values.server === undefined ? undefined : remoteLauncher(parseServerAddress(values.server, values.token), { connectTimeoutMs });
  const parameters = await parseParameterArgs(values.parameter, readNotebook(input));

  // Ctrl-C / SIGTERM: stop the run, which writes the partial notebook; a second signal stops at once.
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy) {
      killAllKernels();
      // A remote kernel is stopped by a request to its server: wait for it (bounded), then exit.
      void shutdownRemoteKernels(connectTimeoutMs).finally(() => {
        console.error(`\nhanlab run: ${signal} again: stopped without writing the notebook; the kernel was ${launcher ? 'shut down on the server' : 'killed'}`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
      return;
    }
    stoppedBy = signal;
    console.error(`\nhanlab run: ${signal}: stopping the kernel and writing the partial notebook (${signal} again to stop at once)`);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const quiet = values.quiet;
  try {
    const result = await runNotebook(input, {
      parameters,
      kernel: values.kernel,
      output,
      cellTimeoutMs,
      allowErrors: values['allow-errors'],
      signal: stop.signal,
      launcher,
      onCell: (event) => {
        if (quiet || event.phase !== 'end') return;
        const line = `[${event.position}/${event.total}] cell ${event.index + 1}: ${event.status} (${formatSeconds(event.durationMs ?? 0)})`;
        console.error(line);
        if (event.error) console.error(indent(`${event.error.ename}: ${event.error.evalue}`));
      },
    });
    const unknown = (result.notebook.metadata.hanlab?.run as { unknownParameters?: string[] } | undefined)?.unknownParameters;
    if (unknown?.length) console.error(`hanlab run: warning: the "parameters" cell does not declare ${unknown.join(', ')} (injected anyway)`);
    const mismatch = (result.notebook.metadata.hanlab?.run as { inputMismatch?: { missing: string[]; different: string[] } } | undefined)?.inputMismatch;
    if (mismatch) {
      const parts = [...mismatch.missing.map((input) => `${input} (missing there)`), ...mismatch.different.map((input) => `${input} (other bytes)`)];
      console.error(`hanlab run: warning: the server's checkout differs from this one in declared inputs: ${parts.join(', ')}; the run metadata records the server's hashes`);
    }
    console.error(`hanlab run: wrote ${result.output} (${formatSeconds(result.durationMs)})`);
    if (result.error instanceof RunStoppedError) {
      console.error(`hanlab run: ${result.error.message}`);
      return stoppedBy === 'SIGTERM' ? 143 : 130;
    }
    if (!result.ok) {
      // A kernel that could not start (the GPU kernel without CUDA says why) is a run failure, not bad usage.
      console.error(`hanlab run: ${result.error?.message ?? `cell ${(result.failedCell?.index ?? 0) + 1} failed`}`);
      return 1;
    }
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
