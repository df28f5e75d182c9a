/**
 * `hanlab reports --jobs 2` against `--jobs 1` on a cold run: every notebook in notebooks/ executed
 * (empty freeze cache), reports written to a temporary folder, with one kernel at a time and then two.
 * The figure is the ratio of wall times (below 1: two jobs are faster), with each notebook's own time
 * and the load average, since the machine is shared. HANLAB_BENCH_REPS rounds (default 1; the order
 * of the two settings alternates between rounds). Ends with one JSON line.
 *
 * Not part of `npm run bench` (it takes minutes): `npm run bench:jobs`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { compareReportDirs } from '../lib/report/check.js';
import { regenerateReports } from '../lib/report/pipeline.js';

const reps = Math.max(1, Number(process.env.HANLAB_BENCH_REPS ?? 1));
const work = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-reports-'));

async function coldRun(jobs: number, label: string): Promise<{ seconds: number; notebooks: Record<string, number>; load: number }> {
  const dir = path.join(work, label);
  const loadBefore = loadavg()[0];
  const started = performance.now();
  const notebooks: Record<string, number> = {};
  const begun = new Map<string, number>();
  const result = await regenerateReports({
    outDir: path.join(dir, 'reports'),
    cacheDir: path.join(dir, 'cache'),
    force: true,
    jobs,
    progressIntervalMs: 0,
    log: (line) => {
      const match = /^\[\d+\/\d+\] (\S+): (실행 중…|실행 완료)/.exec(line);
      if (match?.[2] === '실행 중…') begun.set(match[1], performance.now());
      if (match?.[2] === '실행 완료') notebooks[path.basename(match[1], '.ipynb')] = Number(((performance.now() - begun.get(match[1])!) / 1000).toFixed(1));
    },
  });
  if (result.failed.length) throw new Error(`notebooks failed: ${result.failed.map((f) => `${f.notebook}: ${f.error}`).join('; ')}`);
  const seconds = (performance.now() - started) / 1000;
  return { seconds: Number(seconds.toFixed(1)), notebooks, load: Number(((loadBefore + loadavg()[0]) / 2).toFixed(2)) };
}

try {
  const one: Array<Awaited<ReturnType<typeof coldRun>>> = [];
  const two: Array<Awaited<ReturnType<typeof coldRun>>> = [];
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? [1, 2] : [2, 1];
    for (const jobs of order) {
      const run = await coldRun(jobs, `jobs${jobs}-${rep}`);
      (jobs === 1 ? one : two).push(run);
      console.log(`round ${rep + 1}, --jobs ${jobs}: ${run.seconds} s (load ${run.load}); ${Object.entries(run.notebooks).map(([name, s]) => `${name} ${s} s`).join(', ')}`);
    }
  }
  const median = (runs: Array<{ seconds: number }>) => [...runs.map((r) => r.seconds)].sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const ratios = one.map((run, i) => two[i].seconds / run.seconds);
  // The point of the exercise: the same reports either way (apart from run metadata).
  const differing = compareReportDirs(path.join(work, 'jobs1-0', 'reports'), path.join(work, 'jobs2-0', 'reports')).filter((file) => file.status !== 'unchanged');
  for (const file of differing) console.log(`differs between --jobs 1 and --jobs 2: ${file.file} (${file.status})${file.diff ? `\n${file.diff}` : ''}`);
  const figures = {
    reps,
    cores: availableParallelism(),
    jobs1_seconds: median(one),
    jobs2_seconds: median(two),
    jobs2_vs_jobs1: Number([...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)].toFixed(3)),
    load_average: Number((one.concat(two).reduce((sum, run) => sum + run.load, 0) / (one.length + two.length)).toFixed(2)),
    same_reports: differing.length === 0,
    jobs1_notebooks: one[0].notebooks,
    jobs2_notebooks: two[0].notebooks,
  };
  console.log(`cold hanlab reports: --jobs 2 takes ${figures.jobs2_vs_jobs1}× the time of --jobs 1 (${figures.jobs2_seconds} s vs ${figures.jobs1_seconds} s, ${figures.cores} cores, load ${figures.load_average})`);
  console.log(JSON.stringify(figures));
} finally {
  rmSync(work, { recursive: true, force: true });
}
