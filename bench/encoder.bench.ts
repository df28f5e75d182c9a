/**
 * `npm run bench:train` (second part): training steps of a small BERT (4 layers, hidden 256, 4 heads,
 * feed-forward 1024, vocabulary 32,000 like klue/bert-base; sequence classification) on batches of 16
 * texts × 128 tokens, in real tokens per second:
 *
 * - ours: full fine-tuning on the project's backend (wasm), main thread + one gradient worker thread
 *   (both cores), through lib/train's trainer (AdamW, clipping, accumulation machinery);
 * - ours with LoRA (r 8 on query,value): its speed-up over full fine-tuning, and each run's peak RSS
 *   (every run is its own child process, so the peaks do not mix);
 * - PyTorch CPU (Debian's python3-torch, 2 threads) running the reference of the same model from the
 *   same safetensors on the same batches (tests/models/reference/hf_reference.py train-bench).
 *
 * Wall-clock tokens/s is what the goal is about. On a machine shared with other work PyTorch's two
 * OpenMP threads lose far more to waiting for each other (spinning, which also burns CPU time) than our
 * two independent threads do, which flatters that ratio; so the bench also runs PyTorch on one thread
 * and reports tokens per CPU-second, ours (both threads) against it: the per-core ratio.
 *
 * Last line: {"encoder": {"tokens_per_s", "pytorch_tokens_per_s", "ratio_vs_pytorch", "ratio_vs_pytorch_per_core", "lora": {...}, ...}}
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../lib/backend/index.js';
import { EncoderModel } from '../lib/train/encoder-model.js';
import { encodeTextsForEncoder } from '../lib/train/encoder-data.js';
import { makeBatch, type EncodedExample } from '../lib/train/batching.js';
import { planEpoch, trainModel, type TrainOptions } from '../lib/train/trainer.js';
import { makeTinyCheckpoint, PYTHON, REFERENCE_SCRIPT } from '../scripts/make-tiny-checkpoint.js';
import { pytorchEnvironment } from './pytorch.js';
import { describeWebGpuFigure, measureOnWebGpu } from './webgpu.js';

const BATCH = 16;
const LENGTH = 128;
const WARMUP = 1;
const STEPS = 4;
const SEED = 7;
const LORA = { r: 8, alpha: 16, dropout: 0.1, targetModules: ['query', 'value'] };

interface ChildResult {
  tokens_per_s: number;
  /** Real tokens per second of CPU time, all threads together (less sensitive to a loaded machine). */
  tokens_per_cpu_s: number;
  max_rss_mib: number;
  trainable: number;
  all: number;
}

/** NSMC reviews joined into texts of at least 128 tokens (every example is exactly 128 after truncation). */
function benchTexts(count: number): { texts: string[]; labels: number[] } {
  const lines = readFileSync('data/nsmc/ratings_train.first14274.txt', 'utf8').split('\n').slice(1, 1 + count * 24);
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const rows = lines.slice(i * 24, (i + 1) * 24).map((l) => l.split('\t'));
    texts.push(rows.map((r) => r[1]).join(' '));
    labels.push(Number(rows[0][2]));
  }
  return { texts, labels };
}

async function examplesFor(model: EncoderModel): Promise<EncodedExample[]> {
  const { texts, labels } = benchTexts(BATCH * (WARMUP + STEPS));
  const examples = await encodeTextsForEncoder(model.encoder.tokenizer, texts, LENGTH, labels);
  const short = examples.filter((e) => e.ids.length < LENGTH).length;
  if (short) throw new Error(`${short} bench texts are shorter than ${LENGTH} tokens`);
  return examples;
}

const OPTIONS: TrainOptions = { epochs: 1, batchSize: BATCH, learningRate: 5e-5, seed: SEED, progress: 'none', warmupRatio: 0, patience: 0, bucketing: false, workers: 1, maxSteps: WARMUP + STEPS };

/** One run in this process (called as a child): `--child full|lora MODEL_DIR`. */
async function child(kind: 'full' | 'lora', modelDir: string): Promise<void> {
  await initBackend();
  const model = await EncoderModel.load(modelDir, { task: 'sequence-classification', labels: ['0', '1'], lora: kind === 'lora' ? LORA : null, seed: SEED });
  const examples = await examplesFor(model);
  // CPU time of the process (main and worker threads) from the end of the warm-up steps to the last.
  const cpuAt: number[] = [];
  const cpuNow = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  };
  const progress = { update: () => void cpuAt.push(cpuNow()), epochEnd() {}, message() {} };
  const result = await trainModel(model, examples, null, { ...OPTIONS, progress });
  const timed = result.history.steps.slice(WARMUP);
  const tokens = timed.reduce((n, s) => n + s.realTokens, 0);
  const seconds = timed.reduce((n, s) => n + s.realTokens / s.tokensPerSecond, 0);
  const cpuSeconds = (cpuAt.at(-1) as number) - cpuAt[WARMUP - 1];
  const out: ChildResult = { tokens_per_s: tokens / seconds, tokens_per_cpu_s: tokens / cpuSeconds, max_rss_mib: process.resourceUsage().maxRSS / 1024, trainable: model.encoder.trainableCount, all: model.encoder.totalCount };
  model.dispose();
  console.log(JSON.stringify(out));
}

function runChild(kind: 'full' | 'lora', modelDir: string): ChildResult {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/encoder.bench.ts', '--child', kind, modelDir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`bench child ${kind} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
}

async function main(): Promise<void> {
  const load = loadavg();
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-encoder-bench-'));
  try {
    const modelDir = path.join(dir, 'bert-4x256');
    makeTinyCheckpoint({ arch: 'bert', out: modelDir, seed: SEED, sizes: { hidden: 256, layers: 4, heads: 4, intermediate: 1024, maxPositions: 512, vocabSize: 32000 } });
    const device = await initBackend();
    console.log(`small BERT (4 layers, hidden 256, 4 heads, vocab 32,000), batch ${BATCH} × ${LENGTH} tokens; backend ${device.backend}, ${device.cpus} CPUs, load ${load.map((l) => l.toFixed(2)).join(' ')}`);
    const full = runChild('full', modelDir);
    console.log(`ours, full fine-tuning (2 threads): ${Math.round(full.tokens_per_s)} tokens/s, peak RSS ${Math.round(full.max_rss_mib)} MiB`);
    const lora = runChild('lora', modelDir);
    console.log(`ours, LoRA r 8 on query,value (2 threads): ${Math.round(lora.tokens_per_s)} tokens/s (×${(lora.tokens_per_s / full.tokens_per_s).toFixed(2)}), peak RSS ${Math.round(lora.max_rss_mib)} MiB, ${lora.trainable.toLocaleString('en-US')} of ${lora.all.toLocaleString('en-US')} parameters trained`);
    let pytorch: { tokens_per_s: number; tokens_per_cpu_s: number; threads: number; torch: string } | null = null;
    let pytorchOneThread: { tokens_per_s: number; tokens_per_cpu_s: number } | null = null;
    let note: string | null = null;
    if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
      // The same batches as our run trained on: epoch 0 of the same plan.
      const model = await EncoderModel.load(modelDir, { task: 'sequence-classification', labels: ['0', '1'], lora: null, seed: SEED });
      const examples = await examplesFor(model);
      const plan = planEpoch(examples.map((e) => e.ids.length), OPTIONS, 0).slice(0, WARMUP + STEPS);
      const batches = plan.map((indices) => {
        const inputs = model.inputs(makeBatch(examples, indices));
        const rows = inputs.lengths.map((_, r) => Array.from(inputs.ids.subarray(r * inputs.length, (r + 1) * inputs.length)));
        return { input_ids: rows, attention_mask: rows.map((row, r) => row.map((_, t) => (t < inputs.lengths[r] ? 1 : 0))), labels: indices.map((i) => examples[i].label) };
      });
      model.dispose();
      const reference = (threads: number) => {
        const spec = path.join(dir, `batches-${threads}.json`);
        writeFileSync(spec, JSON.stringify({ threads, num_labels: 2, learning_rate: 5e-5, warmup: WARMUP, steps: STEPS, batches }));
        const run = spawnSync(PYTHON, [REFERENCE_SCRIPT, 'train-bench', '--model', modelDir, '--inputs', spec], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, env: pytorchEnvironment() });
        if (run.status !== 0) throw new Error(`hf_reference.py train-bench failed:\n${run.stderr}`);
        return JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
      };
      pytorch = reference(2);
      pytorchOneThread = reference(1);
      console.log(`PyTorch ${pytorch?.torch} CPU (${pytorch?.threads} threads): ${Math.round(pytorch?.tokens_per_s ?? 0)} tokens/s; one thread: ${Math.round(pytorchOneThread?.tokens_per_cpu_s ?? 0)} tokens per CPU-second`);
    } else {
      note = `${PYTHON} with torch not found (apt-get install python3-torch): no PyTorch ratio`;
      console.log(note);
    }
    const ratio = pytorch ? full.tokens_per_s / pytorch.tokens_per_s : null;
    // Per core: our CPU time (both threads) against single-threaded PyTorch's, which no thread waits inflate.
    const cpuRatio = pytorchOneThread ? full.tokens_per_cpu_s / pytorchOneThread.tokens_per_cpu_s : null;
    if (ratio !== null) console.log(`ratio vs PyTorch: ${ratio.toFixed(3)} in wall time (2 threads each), ${cpuRatio?.toFixed(3)} per CPU-second against one PyTorch thread (goal ≥ 0.4)`);
    // The same fine-tuning on webgpu where an adapter exists (gpu-check's measurement: no worker thread).
    const webgpu = await measureOnWebGpu('encoder-speed', modelDir);
    console.log(describeWebGpuFigure('full fine-tuning', 'tokens/s', webgpu, full.tokens_per_s));
    const figures = {
      webgpu,
      encoder: {
        model: 'bert-4x256-ff1024-vocab32000',
        task: 'sequence-classification',
        batch: BATCH,
        seq: LENGTH,
        backend: device.backend,
        threads: 2,
        tokens_per_s: Math.round(full.tokens_per_s),
        pytorch_tokens_per_s: pytorch ? Math.round(pytorch.tokens_per_s) : null,
        pytorch_threads: pytorch?.threads ?? null,
        ratio_vs_pytorch: ratio !== null ? Number(ratio.toFixed(3)) : null,
        tokens_per_cpu_s: Math.round(full.tokens_per_cpu_s),
        pytorch_tokens_per_cpu_s: pytorch ? Math.round(pytorch.tokens_per_cpu_s) : null,
        pytorch_one_thread_tokens_per_cpu_s: pytorchOneThread ? Math.round(pytorchOneThread.tokens_per_cpu_s) : null,
        ratio_vs_pytorch_per_core: cpuRatio !== null ? Number(cpuRatio.toFixed(3)) : null,
        goal_ratio: 0.4,
        full_peak_rss_mib: Math.round(full.max_rss_mib),
        lora: {
          r: LORA.r,
          target_modules: LORA.targetModules,
          tokens_per_s: Math.round(lora.tokens_per_s),
          tokens_per_cpu_s: Math.round(lora.tokens_per_cpu_s),
          speedup_vs_full: Number((lora.tokens_per_s / full.tokens_per_s).toFixed(3)),
          peak_rss_mib: Math.round(lora.max_rss_mib),
          trainable_params: lora.trainable,
          all_params: lora.all,
        },
        load_average: load.map((l) => Number(l.toFixed(2))),
        ...(note ? { note } : {}),
      },
    };
    console.log(JSON.stringify(figures));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const at = process.argv.indexOf('--child');
const entry = at >= 0 ? child(process.argv[at + 1] as 'full' | 'lora', process.argv[at + 2]) : main();
entry.catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
