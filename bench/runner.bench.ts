/**
 * The notebook runner and the kernel's speed, each against a baseline measured in the same run:
 *
 * - kernel start to first idle (KernelClient.start: spawn → kernel_info reply and its idle status),
 *   hanlab kernel vs stock tslab 1.0.22 started the same way (target ≤ 1.5 s on 2 cores);
 * - kernel start to first cell's result (start, then a trivial cell `1` at once), hanlab vs stock tslab
 *   (issue 28 target: ≤ 1.0 s on a quiet 2-core machine), and the hanlab kernel with and without
 *   each way tried to get there: without the V8 code cache for TypeScript (HANLAB_CODE_CACHE_DIR=off),
 *   and with the program built in a compiler thread from the kernel's start (HANLAB_COMPILER_THREAD=on,
 *   off by default);
 * - `hanlab --help` CPU time (user + system) from the compiled build vs the TypeScript sources through
 *   tsx (target ≤ 0.3 s);
 * - a 10-code-cell notebook through `hanlab run` vs `jupyter nbconvert --to notebook --execute` with the
 *   same kernel (target: ratio < 1), plus the runner's overhead over the kernel's own work (start, the
 *   same ten cells sent straight through KernelClient, stop);
 * - a trivial cell (`1 + 1`) in a kernel that has run a 10 MB string literal vs one that has run a
 *   short one (issue 26: the literal's type travelled to every later cell's compilation; target:
 *   ratio near 1, it was 35).
 *
 * HANLAB_BENCH_ONLY=name,name measures only those (e.g. trivialCell,trivialCellAfterLiteral).
 * The machine is shared, so each measurement is repeated (HANLAB_BENCH_REPS, default 3) in rounds whose
 * order rotates, medians are reported, and overheads are medians of per-round paired differences.
 * Ends with one JSON line; report the load average printed with it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { KernelClient } from '../lib/jupyter/kernel-client.js';
import { installKernelSpecs, type KernelSpec } from '../lib/jupyter/kernelspec.js';
import { readNotebook, sourceText } from '../lib/notebook/nbformat.js';
import { runNotebook } from '../lib/jupyter/runner.js';

const NOTEBOOK = 'tests/fixtures/notebooks/ten-cells.ipynb';
const reps = Math.max(1, Number(process.env.HANLAB_BENCH_REPS ?? 3));
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-runner-'));
const cells = readNotebook(NOTEBOOK).cells.filter((cell) => cell.cell_type === 'code').map((cell) => sourceText(cell.source));
const loadBefore = loadavg().map((value) => Number(value.toFixed(2)));

// Build first: the CLI and the kernel run from dist/ when it matches the sources.
if (spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale', '--quiet'], { stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');

/** Stock tslab, started exactly as its own `tslab install` kernelspec does (the baseline). */
const stockTslab: KernelSpec = {
  name: 'tslab',
  argv: [process.execPath, path.resolve('node_modules/tslab/bin/tslab'), 'kernel', '--config-path', '{connection_file}'],
  display_name: 'tslab (stock)',
  language: 'typescript',
  resourceDir: work,
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
}

async function startToIdle(kernel: string | KernelSpec): Promise<number> {
  const started = performance.now();
  const client = await KernelClient.start({ kernel });
  const elapsed = performance.now() - started;
  await client.shutdown();
  return elapsed;
}

async function startToFirstCell(kernel: string | KernelSpec, env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  const client = await KernelClient.start({ kernel, env });
  try {
    const outcome = await client.execute('1');
    if (outcome.status !== 'ok') throw new Error(`the first cell failed: ${JSON.stringify(outcome.reply)}`);
    return performance.now() - started;
  } finally {
    await client.shutdown();
  }
}

async function kernelWork(): Promise<number> {
  const started = performance.now();
  const kernel = await KernelClient.start();
  try {
    for (const code of cells) {
      const outcome = await kernel.execute(code);
      if (outcome.status !== 'ok') throw new Error(`bench cell failed: ${code}`);
    }
  } finally {
    await kernel.shutdown();
  }
  return performance.now() - started;
}

async function runner(): Promise<number> {
  const started = performance.now();
  const result = await runNotebook(NOTEBOOK, { output: path.join(work, 'runner.ipynb') });
  if (!result.ok) throw new Error(`runNotebook failed: ${result.error?.message}`);
  return performance.now() - started;
}

/** Median time of a trivial cell, in a fresh kernel, after a cell holding a string literal of `literalBytes` characters. */
async function trivialCellAfter(literalBytes: number): Promise<number> {
  const kernel = await KernelClient.start();
  try {
    const literal = await kernel.execute(`const big = "${'x'.repeat(literalBytes)}";\nbig.length`);
    if (literal.status !== 'ok') throw new Error('the literal cell failed');
    const trivial: number[] = [];
    for (let index = 0; index < 5; index++) {
      const started = performance.now();
      if ((await kernel.execute('1 + 1')).status !== 'ok') throw new Error('the trivial cell failed');
      trivial.push(performance.now() - started);
    }
    return median(trivial);
  } finally {
    await kernel.shutdown();
  }
}

/** Runs a command to completion without blocking this process; resolves to its wall time. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr}`))));
  });
}

/** CPU time (user + system, ms) of `hanlab --help`, as bash's `time` counts it. */
function helpCpu(env: NodeJS.ProcessEnv): Promise<number> {
  const result = spawnSync('bash', ['-c', 'TIMEFORMAT="%3U %3S"; { time node bin/hanlab.mjs --help > /dev/null; } 2>&1'], { encoding: 'utf8', env });
  const [user, system] = result.stdout.trim().split('\n').at(-1)!.split(' ').map(Number);
  if (result.status !== 0 || !Number.isFinite(user + system)) throw new Error(`hanlab --help failed: ${result.stdout}${result.stderr}`);
  return Promise.resolve((user + system) * 1000);
}

function cli(): Promise<number> {
  return timed(process.execPath, ['bin/hanlab.mjs', 'run', NOTEBOOK, '--quiet', '--out', path.join(work, 'cli.ipynb')]);
}

function findJupyter(): string | undefined {
  for (const candidate of [process.env.HANLAB_JUPYTER, 'jupyter', '/usr/bin/jupyter']) {
    if (candidate && spawnSync(candidate, ['nbconvert', '--version']).status === 0) return candidate;
  }
  return undefined;
}

const jupyter = findJupyter();
const prefix = path.join(work, 'prefix');
if (jupyter) installKernelSpecs({ prefix });

function nbconvert(): Promise<number> {
  return timed(
    jupyter!,
    ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=hanlab', '--output', path.join(work, 'nbconvert.ipynb'), NOTEBOOK],
    { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_DATA_DIR: path.join(work, 'data'), JUPYTER_RUNTIME_DIR: path.join(work, 'runtime') },
  );
}

const measures: Record<string, () => Promise<number>> = {
  startToIdle: () => startToIdle('hanlab'),
  tslabStartToIdle: () => startToIdle(stockTslab),
  startToFirstCell: () => startToFirstCell('hanlab'),
  tslabStartToFirstCell: () => startToFirstCell(stockTslab),
  startToFirstCellCompilerThread: () => startToFirstCell('hanlab', { HANLAB_COMPILER_THREAD: 'on' }),
  startToFirstCellNoCodeCache: () => startToFirstCell('hanlab', { HANLAB_CODE_CACHE_DIR: 'off' }),
  helpCpu: () => helpCpu(process.env),
  helpCpuTsx: () => helpCpu({ ...process.env, HANLAB_NO_BUILD: '1' }),
  kernelWork,
  runNotebook: runner,
  cli,
  trivialCell: () => trivialCellAfter(1),
  trivialCellAfterLiteral: () => trivialCellAfter(10 * 1024 * 1024),
};
if (jupyter) measures.nbconvert = nbconvert;
const only = process.env.HANLAB_BENCH_ONLY?.split(',').filter(Boolean);
if (only) {
  const unknown = only.filter((name) => !(name in measures));
  if (unknown.length) throw new Error(`HANLAB_BENCH_ONLY names unknown measures: ${unknown.join(', ')} (known: ${Object.keys(measures).join(', ')})`);
  for (const name of Object.keys(measures)) if (!only.includes(name)) delete measures[name];
}
const times: Record<string, number[]> = Object.fromEntries(Object.keys(measures).map((name) => [name, []]));
try {
  // Warm the file cache (tslab, TypeScript, zeromq) so the first round is not an outlier.
  await startToFirstCell('hanlab');
  await startToFirstCell(stockTslab);
  const names = Object.keys(measures);
  for (let round = 0; round < reps; round++) {
    const order = names.map((_, index) => names[(index + round) % names.length]);
    for (const name of order) times[name].push(await measures[name]());
    console.log(`round ${round + 1}/${reps}: ` + names.map((name) => `${name} ${(times[name][round] / 1000).toFixed(2)} s`).join(', '));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Median over rounds of a - b, paired by round. */
const pairedMedian = (a: number[], b: number[]) => Math.round(median(a.map((value, index) => value - b[index])));
const m = Object.fromEntries(Object.entries(times).map(([name, list]) => [name, list.length ? Math.round(median(list)) : null])) as Record<string, number | null>;
const ratio = (a: number | null, b: number | null) => (a !== null && b ? Number((a / b).toFixed(3)) : null);
const measured = (name: string) => times[name]?.length > 0;
const runnerOverheadMs = measured('runNotebook') && measured('kernelWork') ? pairedMedian(times.runNotebook, times.kernelWork) : null;
const cliOverheadMs = measured('cli') && measured('kernelWork') ? pairedMedian(times.cli, times.kernelWork) : null;
const figures = {
  notebook: NOTEBOOK,
  codeCells: cells.length,
  reps,
  loadAverage: { before: loadBefore, after: loadavg().map((value) => Number(value.toFixed(2))) },
  medianMs: m,
  startToIdleMs: m.startToIdle,
  startToIdleVsTslab: ratio(m.startToIdle, m.tslabStartToIdle),
  startToIdleUnder1500ms: m.startToIdle !== null && m.startToIdle <= 1500,
  firstCellMs: m.startToFirstCell,
  tslabFirstCellMs: m.tslabStartToFirstCell,
  firstCellVsTslab: ratio(m.startToFirstCell, m.tslabStartToFirstCell),
  firstCellUnder1000ms: m.startToFirstCell !== null && m.startToFirstCell <= 1000,
  firstCellCompilerThreadMs: m.startToFirstCellCompilerThread ?? null,
  firstCellNoCodeCacheMs: m.startToFirstCellNoCodeCache ?? null,
  helpCpuMs: m.helpCpu,
  helpCpuVsTsx: ratio(m.helpCpu, m.helpCpuTsx),
  helpCpuUnder300ms: m.helpCpu !== null && m.helpCpu <= 300,
  runnerOverheadMs,
  cliOverheadMs,
  cliVsNbconvert: ratio(m.cli, m.nbconvert ?? null),
  cliBeatsNbconvert: m.nbconvert ? m.cli! < m.nbconvert : null,
  cliMinusNbconvertMs: measured('cli') && measured('nbconvert') ? pairedMedian(times.cli, times.nbconvert) : null,
  nbconvert: jupyter ? 'measured' : 'not installed',
  trivialCellMs: m.trivialCell ?? null,
  trivialCellAfter10MbLiteralMs: m.trivialCellAfterLiteral ?? null,
  trivialCellAfter10MbLiteralVsWithout: ratio(m.trivialCellAfterLiteral ?? null, m.trivialCell ?? null),
};
if (measured('startToIdle')) console.log(`kernel start to first idle: hanlab ${m.startToIdle} ms, stock tslab ${m.tslabStartToIdle} ms (ratio ${figures.startToIdleVsTslab})`);
if (measured('startToFirstCell')) {
  console.log(`kernel start to first cell's result: hanlab ${m.startToFirstCell} ms, stock tslab ${m.tslabStartToFirstCell} ms (ratio ${figures.firstCellVsTslab}); hanlab with the compiler thread ${m.startToFirstCellCompilerThread} ms, without the code cache ${m.startToFirstCellNoCodeCache} ms`);
}
if (measured('helpCpu')) console.log(`hanlab --help CPU: ${m.helpCpu} ms compiled, ${m.helpCpuTsx} ms through tsx (ratio ${figures.helpCpuVsTsx})`);
if (measured('runNotebook')) console.log(`runNotebook ${(m.runNotebook! / 1000).toFixed(2)} s (overhead ${runnerOverheadMs} ms); hanlab run CLI ${(m.cli! / 1000).toFixed(2)} s (overhead ${cliOverheadMs} ms)`);
if (measured('trivialCellAfterLiteral')) console.log(`a trivial cell after a 10 MB string literal: ${m.trivialCellAfterLiteral} ms, after a short one: ${m.trivialCell} ms (ratio ${figures.trivialCellAfter10MbLiteralVsWithout})`);
if (m.nbconvert) console.log(`jupyter nbconvert --execute ${(m.nbconvert / 1000).toFixed(2)} s; hanlab run / nbconvert = ${figures.cliVsNbconvert}`);
console.log(`load average before ${loadBefore.join(' ')}, after ${figures.loadAverage.after.join(' ')} (2 cores)`);
console.log(JSON.stringify(figures));
