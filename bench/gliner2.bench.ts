/**
 * `npm run bench:train` (GLiNER2 line, issue 27): LoRA fine-tuning samples per second of a random
 * GLiNER2 shaped like fastino/gliner2-base-v1 (DeBERTa-v3-base: 12 layers, hidden 768, 12 heads,
 * feed-forward 3072, vocabulary 128,011, 256 position buckets; max_width 8) with study 000's LoRA
 * (r 16 on encoder, span_rep, classifier: 3,096,592 parameters) on the study's batch of 4 KBMC-format
 * sentences, against the PyTorch re-statement (tests/models/reference/gliner2_reference.py
 * train-bench, Debian's python3-torch, 2 threads) on the same batches from the same files in the same run.
 * The study's own figure, 2.6 samples/s on its CPU, is the goal.
 *
 * Memory (measured with tf.profile on one step, batches of 59–73 tokens): the weights are 826 MiB in
 * the wasm heap; only the LoRA matrices are variables, so nothing of the frozen 216 M parameters gets a
 * gradient or Adam state, and the 128,011 × 768 embedding is only gathered from (no copy, no
 * transpose, no gradient); no tensor outlives a step (387 before and after). What filled the heap was
 * TensorFlow.js's backward pass itself: it keeps every forward intermediate and every intermediate
 * gradient until the step ends, about 4.8 GiB of tensors at the peak, against tfjs-backend-wasm's
 * 4 GiB maximum heap (65,536 pages): with OpenBLAS products the heap grew to exactly 4,096 MiB, and
 * XNNPACK's packed weight copies on top ran out of memory in the first step. The training now
 * recomputes each encoder layer in the backward pass (lib/tensor/ops/checkpoint.ts): 1,337 MiB of heap
 * with OpenBLAS products (peak RSS 1.9 GB instead of 4.7 GB), 1,851 MiB with XNNPACK's, the same
 * losses, for about a fifth more time per step. `products` in the figures says which ran.
 *
 * Run alone: `npx tsx bench/gliner2.bench.ts`; `npm run bench:train` runs it in its own process
 * (`gliner2TrainFigures`, a fresh wasm heap) and puts its figures in its last line under "gliner2".
 *
 * Last line: {"gliner2": {"samples_per_s", "pytorch_samples_per_s", "ratio_vs_pytorch", "goal_samples_per_s", ...}}
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { initBackend } from '../lib/backend/index.js';
import { readKbmc } from '../lib/data/kbmc.js';
import { writeGliner2Adapter } from '../lib/models/gliner2-export.js';
import { encodeEntityInputs } from '../lib/models/gliner2-input.js';
import { Gliner2Model } from '../lib/models/gliner2.js';
import { goldSpans, trainingStep } from '../lib/train/gliner2-fine-tune.js';
import { AdamW } from '../lib/train/optimizer.js';
import { withProductThreads } from '../lib/tensor/blas.js';
import { SeededRandom } from '../lib/tensor/rng.js';
import { GLINER2_REFERENCE_SCRIPT, makeTinyCheckpoint, PYTHON } from '../scripts/make-tiny-checkpoint.js';
import { pytorchEnvironment } from './pytorch.js';

const BATCH = 4;
const WARMUP = 1;
const STEPS = Number(process.env.HANLAB_BENCH_GLINER2_STEPS ?? 3);
const LORA = { r: 16, alpha: 32, dropout: 0.1, targetModules: ['encoder', 'span_rep', 'classifier'] };
const LABELS = ['Disease', 'Body', 'Treatment'];
const GOAL = 2.6;
// gliner2-base-v1's 128,011 rows; HANLAB_BENCH_GLINER2_VOCAB=8000 keeps the wasm heap under 2 GiB (see below).
const VOCAB = Number(process.env.HANLAB_BENCH_GLINER2_VOCAB ?? 128011);
const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * The GLiNER2 line of `npm run bench:train`: this bench in a process of its own, its closing figures
 * (or why there are none).
 */
export function gliner2TrainFigures(): Record<string, unknown> {
  console.log('\nGLiNER2 LoRA fine-tuning (bench/gliner2.bench.ts):');
  const run = spawnSync(process.execPath, ['--import', 'tsx', THIS_FILE], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  process.stdout.write(run.stdout);
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return (JSON.parse(last) as { gliner2: Record<string, unknown> }).gliner2;
  } catch {
    return { error: `bench/gliner2.bench.ts gave no figures (exit ${run.status})` };
  }
}

async function main(): Promise<void> {
  const load = loadavg();
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-gliner2-bench-'));
  try {
    const modelDir = path.join(dir, 'gliner2-base-shaped');
    makeTinyCheckpoint({ arch: 'gliner2', out: modelDir, seed: 7, sizes: { hidden: 768, layers: 12, heads: 12, intermediate: 3072, vocabSize: VOCAB, positionBuckets: 256 } });
    const device = await initBackend();
    const kbmc = await readKbmc('tests/fixtures/kbmc/kbmc-sample.tsv');
    const examples = kbmc.sentences.map((s) => ({ text: s.sentence, entities: s.spans }));
    const model = await Gliner2Model.load(modelDir, { lora: LORA, seed: 7 });
    const adapter = path.join(dir, 'adapter');
    await writeGliner2Adapter(model, adapter);
    const samples = await encodeEntityInputs(model.tokenizer, examples.map((e) => e.text), LABELS, model.maxTokens);
    const gold = examples.map((e) => goldSpans(e, LABELS));
    const batches = [0, 1].map((k) => Array.from({ length: BATCH }, (_, i) => (k * BATCH + i) % samples.length));
    console.log(`GLiNER2, DeBERTa-v3-base shapes (${model.totalCount.toLocaleString('en-US')} parameters, ${model.trainableCount.toLocaleString('en-US')} LoRA), batch ${BATCH}; backend ${device.backend}, load ${load.map((l) => l.toFixed(2)).join(' ')}`);
    const rng = new SeededRandom(7);
    const optimizer = new AdamW(model.parameters, { weightDecay: 0.01 });
    const step = (indices: number[]) => trainingStep(model, optimizer, () => model.entityLoss(indices.map((i) => samples[i]), indices.map((i) => gold[i]), { training: true, rng }, rng), 5e-4);
    for (let i = 0; i < WARMUP; i++) await step(batches[i % 2]);
    // One product thread, then every core's (as fineTuneGliner2 runs): the same steps, the same batches.
    const timed = (threads: number) =>
      withProductThreads(threads, async () => {
        const started = performance.now();
        for (let i = 0; i < STEPS; i++) await step(batches[(WARMUP + i) % 2]);
        return (BATCH * STEPS) / ((performance.now() - started) / 1000);
      });
    const threads = availableParallelism();
    const oneThread = await timed(1);
    console.log(`ours (${device.backend}, 1 product thread): ${oneThread.toFixed(2)} samples/s`);
    const ours = await timed(threads);
    console.log(`ours (${device.backend}, ${threads} product threads): ${ours.toFixed(2)} samples/s (×${(ours / oneThread).toFixed(2)})`);
    const pad = model.tokenizer.padId;
    model.dispose();
    let pytorch: { samples_per_s: number; threads: number; torch: string } | null = null;
    if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
      const inputs = batches.map((indices) => {
        const chosen = indices.map((i) => samples[i]);
        const length = Math.max(...chosen.map((s) => s.ids.length));
        return {
          input_ids: chosen.map((s) => [...s.ids, ...new Array(length - s.ids.length).fill(pad)]),
          attention_mask: chosen.map((s) => Array.from({ length }, (_, t) => (t < s.ids.length ? 1 : 0))),
          samples: chosen.map((s, b) => ({ words: s.wordStarts, prompt: s.prompt, fields: s.fields, gold: gold[indices[b]] })),
        };
      });
      const spec = path.join(dir, 'batches.json');
      const out = path.join(dir, 'pytorch.json');
      writeFileSync(spec, JSON.stringify({ threads: 2, warmup: WARMUP, steps: STEPS, batches: inputs }));
      const run = spawnSync(PYTHON, [GLINER2_REFERENCE_SCRIPT, 'train-bench', '--model', modelDir, '--inputs', spec, '--adapter', adapter, '--out', out], { encoding: 'utf8', env: pytorchEnvironment() });
      if (run.status !== 0) throw new Error(`gliner2_reference.py train-bench failed:\n${run.stderr}`);
      pytorch = JSON.parse(readFileSync(out, 'utf8'));
      console.log(`PyTorch ${pytorch?.torch} CPU (${pytorch?.threads} threads): ${pytorch?.samples_per_s.toFixed(2)} samples/s`);
    }
    const ratio = pytorch ? ours / pytorch.samples_per_s : null;
    console.log(
      JSON.stringify({
        gliner2: {
          model: 'gliner2-deberta-v3-base-shaped',
          vocabulary: VOCAB,
          batch: BATCH,
          steps: STEPS,
          backend: device.backend,
          products: device.wasm?.gemm.products ?? null,
          samples_per_s: Number(ours.toFixed(3)),
          product_threads: device.wasm?.gemm.products === 'openblas' ? threads : 1,
          one_thread_samples_per_s: Number(oneThread.toFixed(3)),
          pytorch_samples_per_s: pytorch ? Number(pytorch.samples_per_s.toFixed(3)) : null,
          ratio_vs_pytorch: ratio !== null ? Number(ratio.toFixed(3)) : null,
          goal_samples_per_s: GOAL,
          meets_goal: ours >= GOAL,
          // Peak resident memory of the whole process (weights read from disk, the wasm heap, JavaScript).
          peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
          load_average: load.map((l) => Number(l.toFixed(2))),
          load_average_after: loadavg().map((l) => Number(l.toFixed(2))),
        },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
