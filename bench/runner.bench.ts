/**
 * The notebook runner's cost: a 10-code-cell notebook run by `runNotebook` and by the `hanlab run` CLI,
 * against (a) the bare kernel start-up (start to first answer, then stop) and (b) the kernel's own work
 * (start, the same ten cells sent straight through KernelClient, stop). The difference is the runner's
 * overhead (target: under 0.5 s). Where Jupyter is installed, `jupyter nbconvert --to notebook
 * --execute` runs the same notebook with the same kernel (the runner should beat it).
 *
 * The machine is shared, so each measurement is repeated (HANLAB_BENCH_REPS, default 3) in rounds
 * whose order rotates, medians are reported, and the overheads are medians of the per-round paired
 * differences (a busy moment slows both sides of a pair). Ends with one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KernelClient } from '../lib/notebook/kernel-client.js';
import { installKernelSpecs } from '../lib/notebook/kernelspec.js';
import { readNotebook, sourceText } from '../lib/notebook/nbformat.js';
import { runNotebook } from '../lib/notebook/runner.js';

const NOTEBOOK = 'tests/fixtures/notebooks/ten-cells.ipynb';
const reps = Math.max(1, Number(process.env.HANLAB_BENCH_REPS ?? 3));
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-runner-'));
const cells = readNotebook(NOTEBOOK).cells.filter((cell) => cell.cell_type === 'code').map((cell) => sourceText(cell.source));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
}

async function bareStart(): Promise<number> {
  const started = performance.now();
  const kernel = await KernelClient.start();
  await kernel.shutdown();
  return performance.now() - started;
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
    { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_RUNTIME_DIR: path.join(work, 'runtime') },
  );
}

const measures: Record<string, () => Promise<number>> = { bareStart, kernelWork, runNotebook: runner, cli };
if (jupyter) measures.nbconvert = nbconvert;
const times: Record<string, number[]> = Object.fromEntries(Object.keys(measures).map((name) => [name, []]));
try {
  // Warm the file cache (tslab, TypeScript, zeromq) so the first round is not an outlier.
  await bareStart();
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
const runnerOverheadMs = pairedMedian(times.runNotebook, times.kernelWork);
const cliOverheadMs = pairedMedian(times.cli, times.kernelWork);
const figures = {
  notebook: NOTEBOOK,
  codeCells: cells.length,
  reps,
  medianMs: m,
  runnerOverheadMs,
  cliOverheadMs,
  runnerOverheadUnder500ms: runnerOverheadMs < 500,
  cliVsNbconvert: m.nbconvert ? Number((m.cli! / m.nbconvert).toFixed(3)) : null,
  cliBeatsNbconvert: m.nbconvert ? m.cli! < m.nbconvert : null,
  cliMinusNbconvertMs: jupyter ? pairedMedian(times.cli, times.nbconvert) : null,
  nbconvert: jupyter ? 'measured' : 'not installed',
};
console.log(`bare kernel start-up ${(m.bareStart! / 1000).toFixed(2)} s; kernel's own work (start + 10 cells + stop) ${(m.kernelWork! / 1000).toFixed(2)} s`);
console.log(`runNotebook ${(m.runNotebook! / 1000).toFixed(2)} s (overhead ${runnerOverheadMs} ms); hanlab run CLI ${(m.cli! / 1000).toFixed(2)} s (overhead ${cliOverheadMs} ms)`);
if (m.nbconvert) console.log(`jupyter nbconvert --execute ${(m.nbconvert / 1000).toFixed(2)} s; hanlab run / nbconvert = ${figures.cliVsNbconvert}`);
console.log(JSON.stringify(figures));
