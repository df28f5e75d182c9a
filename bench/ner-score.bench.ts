/**
 * NER scoring speed: the 5,000 KLUE dev sentences against a seeded, perturbed copy.
 *
 *   node --import tsx bench/ner-score.bench.ts        (or: npm run bench ner-score)
 *
 * Prints the time to read the file, to score it (seqeval default-mode report, the figure Python
 * seqeval is known for), their ratio, strict-mode and KLUE timings, the speed-up over Python seqeval,
 * and how scoring time grows with 2x and 4x the input (linear = about 2 and 4). Python seqeval is
 * measured in the same run when an interpreter has it; otherwise the documented figure is used
 * (issue #2: about 1.5 s on these machines). The last line is one JSON object with the figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { readKlueNer } from '../lib/data/klue-ner.js';
import { KLUE_NER_TAGS, klueScores } from '../lib/metrics/klue.js';
import { classificationReport } from '../lib/metrics/seqeval.js';

const DEV = 'data/klue-ner/klue-ner-v1.1_dev.tsv';
const SEED = 2024;
const RUNS = 25;
const PYTHON_DOCUMENTED_SECONDS = 1.5;
const GOAL_MS = 50;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Wall-clock and CPU time (this process, all threads) per run, in ms. On a shared machine the wall
 * time includes waiting for a core; the CPU time is what the code itself spends.
 */
function timeIt(runs: number, fn: () => unknown): { median: number; min: number; cpu: number } {
  fn(); // warm-up (JIT)
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { median: median(times), min: Math.min(...times), cpu: median(cpu) };
}

/** About 8% of the tags changed: a random KLUE tag, or a B- turned into an orphan I-. */
function perturb(gold: string[][], seed: number): string[][] {
  const rng = xoroshiro128plus(seed);
  return gold.map((tags) =>
    tags.map((tag) => {
      const roll = uniformInt(rng, 0, 99);
      if (roll < 5) return KLUE_NER_TAGS[uniformInt(rng, 0, KLUE_NER_TAGS.length - 1)];
      if (roll < 8 && tag.startsWith('B-')) return 'I-' + tag.slice(2);
      return tag;
    }),
  );
}

/** Runs Python seqeval on the same data if some interpreter has it; null otherwise. */
function measurePython(gold: string[][], pred: string[][]): { seconds: number; python: string } | null {
  const script = [
    'import json, sys, time',
    'from seqeval.metrics import classification_report',
    'gold = json.load(open(sys.argv[1])); pred = json.load(open(sys.argv[2]))',
    'classification_report(gold, pred, digits=4, zero_division=0)',
    't = []',
    'for _ in range(3):',
    '    t0 = time.perf_counter(); classification_report(gold, pred, digits=4, zero_division=0); t.append(time.perf_counter() - t0)',
    'print(sorted(t)[1])',
  ].join('\n');
  // The reference seqeval in ../shared/reference (HANLAB_REFERENCE_DIR), else an installed one.
  const reference = path.join(path.resolve(process.env.HANLAB_REFERENCE_DIR ?? path.join('..', 'shared', 'reference')), 'seqeval');
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: [reference, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import seqeval, numpy'], { encoding: 'utf8', env });
    if (probe.status !== 0) continue;
    const dir = mkdtempSync(path.join(tmpdir(), 'ner-bench-'));
    try {
      writeFileSync(path.join(dir, 'gold.json'), JSON.stringify(gold));
      writeFileSync(path.join(dir, 'pred.json'), JSON.stringify(pred));
      const run = spawnSync(python, ['-c', script, path.join(dir, 'gold.json'), path.join(dir, 'pred.json')], { encoding: 'utf8', env });
      if (run.status === 0) return { seconds: Number(run.stdout.trim()), python };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return null;
}

const fileBytes = statSync(DEV).size;
let sentences = readKlueNer(DEV);
const read = timeIt(5, () => {
  sentences = readKlueNer(DEV);
});
const gold = sentences.map((s) => s.tags);
const tokens = gold.reduce((n, tags) => n + tags.length, 0);
const pred = perturb(gold, SEED);

const score = timeIt(RUNS, () => classificationReport(gold, pred, { zeroDivision: 0 }));
const strict = timeIt(RUNS, () => classificationReport(gold, pred, { mode: 'strict', scheme: 'IOB2', zeroDivision: 0 }));
const klue = timeIt(RUNS, () => klueScores(gold, pred));

// Linearity: the same data repeated 2x and 4x (arrays built before timing).
const repeat = <T>(xs: T[], k: number): T[] => Array.from({ length: k }, () => xs).flat();
const [gold2, pred2, gold4, pred4] = [repeat(gold, 2), repeat(pred, 2), repeat(gold, 4), repeat(pred, 4)];
const scale2 = timeIt(7, () => classificationReport(gold2, pred2, { zeroDivision: 0 }));
const scale4 = timeIt(7, () => classificationReport(gold4, pred4, { zeroDivision: 0 }));

const report = classificationReport(gold, pred, { zeroDivision: 0 });
const measured = measurePython(gold, pred);
const pythonSeconds = measured?.seconds ?? PYTHON_DOCUMENTED_SECONDS;
const goldenRefs = JSON.parse(readFileSync('tests/fixtures/golden/ner-seqeval/refs.json', 'utf8')) as Record<string, { seconds_default: number }>;
const goldenSeconds400 = goldenRefs.drop.seconds_default;

const speedup = (pythonSeconds * 1000) / score.median;
const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;

console.log(`input: ${sentences.length} sentences, ${tokens} syllables, ${(fileBytes / 2 ** 20).toFixed(2)} MiB (${DEV})`);
console.log(`prediction: seeded perturbed copy (seed ${SEED}), micro F1 ${report.micro['f1-score'].toFixed(4)}`);
console.log(`load average (1 min): ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; times are medians, wall clock (CPU time)`);
console.log(`read file:                      ${read.median.toFixed(1)} ms (cpu ${read.cpu.toFixed(1)}, min wall ${read.min.toFixed(1)})`);
console.log(`score, default-mode report:     ${score.median.toFixed(1)} ms (cpu ${score.cpu.toFixed(1)}, min wall ${score.min.toFixed(1)}), goal <= ${GOAL_MS} ms`);
console.log(`score / read:                   ${(score.median / read.median).toFixed(2)}`);
console.log(`score, strict IOB2 report:      ${strict.median.toFixed(1)} ms (cpu ${strict.cpu.toFixed(1)})`);
console.log(`KLUE entity + char macro F1:    ${klue.median.toFixed(1)} ms (cpu ${klue.cpu.toFixed(1)})`);
console.log(
  measured
    ? `Python seqeval (${measured.python}, same data): ${(pythonSeconds * 1000).toFixed(0)} ms`
    : `Python seqeval: not installed in any local interpreter (no PyPI here); documented figure ${PYTHON_DOCUMENTED_SECONDS * 1000} ms (issue #2; golden refs: ${(goldenSeconds400 * 1000).toFixed(0)} ms for 400 sentences)`,
);
console.log(`speed-up vs Python seqeval:     ${speedup.toFixed(0)}x wall, ${((pythonSeconds * 1000) / score.cpu).toFixed(0)}x cpu (goal >= 30x)`);
const ratio2 = scale2.median / score.median;
const ratio4 = scale4.median / score.median;
console.log(`time at 2x / 4x input:          ${ratio2.toFixed(2)}x / ${ratio4.toFixed(2)}x (linear: 2 / 4)`);
console.log(`heap used at the end:           ${heapMiB.toFixed(1)} MiB`);
console.log(
  JSON.stringify({
    sentences: sentences.length,
    syllables: tokens,
    read_ms: +read.median.toFixed(2),
    score_ms: +score.median.toFixed(2),
    score_min_ms: +score.min.toFixed(2),
    score_cpu_ms: +score.cpu.toFixed(2),
    read_cpu_ms: +read.cpu.toFixed(2),
    load_avg_1m: +loadavg()[0].toFixed(2),
    score_over_read: +(score.median / read.median).toFixed(3),
    strict_ms: +strict.median.toFixed(2),
    klue_ms: +klue.median.toFixed(2),
    python_seqeval_ms: +(pythonSeconds * 1000).toFixed(0),
    python_measured: measured !== null,
    speedup: +speedup.toFixed(1),
    speedup_cpu: +((pythonSeconds * 1000) / score.cpu).toFixed(1),
    goal_met: score.median <= GOAL_MS && speedup >= 30,
    scale_2x: +ratio2.toFixed(2),
    scale_4x: +ratio4.toFixed(2),
    heap_mib: +heapMiB.toFixed(1),
  }),
);
