/**
 * The real-GPU check (issue 24): TensorFlow.js on WebGPU against the CPU backend (wasm) in the same
 * run, on the same batches, each measurement in its own child process:
 *
 * - conv+CRF tagger training on KLUE NER, real syllables per second;
 * - fine-tuning a small BERT (4 layers, hidden 256, 4 heads, sequence classification) on NSMC, tokens/s;
 * - the gradient check: loss and every parameter's gradient of one batch (no dropout), webgpu against
 *   wasm, relative error ‖g_webgpu − g_wasm‖ / ‖g_wasm‖ ≤ 1e-4, for both models.
 *
 * It prints one table (and, last, one JSON line). Run by scripts/gpu-check.sh, either in the checkout
 * (through tsx) or from the carried bundle on a GPU host without a package registry (esbuild's bundle
 * of this file; see the shell script). `--short`: fewer steps and sentences (tests, SwiftShader).
 *
 *   gpu-check [--short] [--data DIR] [--checkpoint DIR]
 *
 * DIR defaults: data/ of the checkout, and a BERT checkpoint made by scripts/make-tiny-checkpoint.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describeBackend, initBackend, type BackendChoice } from '../lib/backend/index.js';
import { collectTags, readKlueNer } from '../lib/data/klue-ner.js';
import { SeededRandom } from '../lib/tensor/rng.js';
import { makeBatch, type Batch, type EncodedExample } from '../lib/train/batching.js';
import { EncoderModel } from '../lib/train/encoder-model.js';
import { encodeTextsForEncoder } from '../lib/train/encoder-data.js';
import { encodeTaggedSentences } from '../lib/train/examples.js';
import { modelConfigFor } from '../lib/train/index.js';
import { SequenceTagger, type TaggerConfig } from '../lib/train/models/tagger.js';
import { planEpoch, trainModel, type TrainOptions } from '../lib/train/trainer.js';
import { Vocabulary } from '../lib/train/vocabulary.js';

export const GRADIENT_TOLERANCE = 1e-4;
const SEED = 7;
const KLUE_FILE = 'klue-ner/klue-ner-v1.1_dev.tsv';
const NSMC_FILE = 'nsmc/ratings_train.first14274.txt';
export const BERT_SIZES = { hidden: 256, layers: 4, heads: 4, intermediate: 1024, maxPositions: 512 };

type Job = 'tagger-speed' | 'encoder-speed' | 'tagger-grads' | 'encoder-grads';
const BACKENDS: BackendChoice[] = ['webgpu', 'wasm'];

interface Plan {
  sentences: number;
  taggerBatch: number;
  encoderBatch: number;
  encoderLength: number;
  warmup: number;
  steps: number;
}
const FULL: Plan = { sentences: 2000, taggerBatch: 32, encoderBatch: 16, encoderLength: 128, warmup: 2, steps: 8 };
const SHORT: Plan = { sentences: 100, taggerBatch: 8, encoderBatch: 2, encoderLength: 16, warmup: 1, steps: 1 };

/** What a child prints as its last line. */
interface ChildAnswer {
  ok: boolean;
  backend?: string;
  device?: string;
  perSecond?: number;
  loss?: number;
  gradients?: string;
  error?: string;
}

// ----- the child: one measurement on one backend --------------------------------------------------

async function child(job: Job, backend: BackendChoice, plan: Plan, dataDir: string, checkpoint: string, out: string): Promise<ChildAnswer> {
  const device = await initBackend({ prefer: backend });
  const answer: ChildAnswer = { ok: true, backend: device.backend, device: describeBackend(device) };
  try {
    return await measure(job, plan, dataDir, checkpoint, out, answer);
  } catch (error) {
    // The backend started: say which, and what failed on it.
    return { ...answer, ok: false, error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

async function measure(job: Job, plan: Plan, dataDir: string, checkpoint: string, out: string, answer: ChildAnswer): Promise<ChildAnswer> {
  const options: TrainOptions = { epochs: 1, batchSize: plan.taggerBatch, learningRate: 1e-3, seed: SEED, progress: 'none', warmupRatio: 0, patience: 0, workers: 0 };
  if (job.startsWith('tagger')) {
    const sentences = readKlueNer(path.join(dataDir, KLUE_FILE)).slice(0, plan.sentences);
    const vocabulary = Vocabulary.build(sentences.map((s) => s.tokens));
    const tags = collectTags(sentences);
    const examples = encodeTaggedSentences(sentences, vocabulary, tags, { checkIob2: true });
    const model = new SequenceTagger(modelConfigFor('conv-crf') as TaggerConfig, vocabulary, tags, SEED);
    try {
      if (job === 'tagger-speed') answer.perSecond = await speed(model, examples, { ...options, maxSteps: plan.warmup + plan.steps }, plan.warmup);
      else Object.assign(answer, await gradients(model, makeBatch(examples, planEpoch(examples.map((e) => e.ids.length), options, 0)[0]), out));
    } finally {
      model.dispose();
    }
    return answer;
  }
  const model = await EncoderModel.load(checkpoint, { task: 'sequence-classification', labels: ['0', '1'], lora: null, seed: SEED });
  try {
    const examples = await encoderExamples(model, dataDir, plan.encoderBatch * (plan.warmup + plan.steps), plan.encoderLength);
    const encoderOptions: TrainOptions = { ...options, batchSize: plan.encoderBatch, learningRate: 5e-5, bucketing: false, maxSteps: plan.warmup + plan.steps };
    if (job === 'encoder-speed') answer.perSecond = await speed(model, examples, encoderOptions, plan.warmup);
    else Object.assign(answer, await gradients(model, makeBatch(examples, examples.slice(0, plan.encoderBatch).map((_, i) => i)), out));
  } finally {
    model.dispose();
  }
  return answer;
}

/** Real tokens per second of the updates after `warmup`. */
async function speed(model: Parameters<typeof trainModel>[0], examples: readonly EncodedExample[], options: TrainOptions, warmup: number): Promise<number> {
  const result = await trainModel(model, examples, null, options);
  const timed = result.history.steps.slice(warmup);
  if (!timed.length) throw new Error('no timed steps');
  const tokens = timed.reduce((sum, s) => sum + s.realTokens, 0);
  return tokens / timed.reduce((sum, s) => sum + s.realTokens / s.tokensPerSecond, 0);
}

/** The loss of one batch and every gradient, flat in parameter order, written to `out` (float32). */
async function gradients(model: { parameters: { variables: tf.Variable[] }; lossSum(batch: Batch, context: { training: boolean; rng?: SeededRandom }): tf.Scalar }, batch: Batch, out: string): Promise<{ loss: number; gradients: string }> {
  const variables = model.parameters.variables;
  const { value, grads } = tf.variableGrads(() => model.lossSum(batch, { training: false, rng: new SeededRandom(SEED) }), variables);
  const total = variables.reduce((n, v) => n + v.size, 0);
  const flat = new Float32Array(total);
  let at = 0;
  for (const variable of variables) {
    const grad = grads[variable.name];
    // Read asynchronously: tfjs-backend-webgpu's synchronous read needs OffscreenCanvas, which Node lacks.
    if (grad) flat.set(await grad.data<'float32'>(), at);
    at += variable.size;
  }
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  writeFileSync(out, Buffer.from(flat.buffer));
  return { loss, gradients: out };
}

/** NSMC reviews joined into texts of at least `length` tokens. */
async function encoderExamples(model: EncoderModel, dataDir: string, count: number, length: number): Promise<EncodedExample[]> {
  const lines = readFileSync(path.join(dataDir, NSMC_FILE), 'utf8').split('\n').slice(1).filter(Boolean);
  const per = Math.max(2, Math.ceil(length / 5));
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const rows = lines.slice((i * per) % Math.max(1, lines.length - per), ((i * per) % Math.max(1, lines.length - per)) + per).map((l) => l.split('\t'));
    texts.push(rows.map((r) => r[1]).join(' '));
    labels.push(Number(rows[0]?.[2] ?? 0));
  }
  return encodeTextsForEncoder(model.encoder.tokenizer, texts, length, labels);
}

// ----- the parent: every job on both backends, one table ----------------------------------------

interface Row {
  measure: string;
  webgpu: string;
  cpu: string;
  verdict: string;
}

function runChild(job: Job, backend: BackendChoice, args: string[], out: string, timeoutMs: number): ChildAnswer {
  const self = fileURLToPath(import.meta.url);
  // In the checkout this file runs through tsx; in the carried bundle it is plain JavaScript.
  const loader = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const env = { ...process.env };
  delete env.HANLAB_BACKEND;
  const run = spawnSync(process.execPath, [...loader, self, '--child', job, '--backend', backend, '--out', out, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' });
  const line = run.stdout.split('\n').filter((text) => text.startsWith('{')).at(-1);
  if (line) return JSON.parse(line) as ChildAnswer;
  if (run.error && /ETIMEDOUT/.test(run.error.message)) return { ok: false, error: `no answer within ${timeoutMs / 1000} s` };
  const why = run.error ? run.error.message : run.stderr.split('\n').filter((text) => text.trim() && !/^Warning: |^ - While|^\s+at |XDG_RUNTIME_DIR/.test(text)).slice(-3).join(' / ');
  return { ok: false, error: why || `exited with ${run.status}` };
}

/** ‖a − b‖ / ‖b‖ in float64. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), Number.MIN_VALUE);
}

function readFloats(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      short: { type: 'boolean', default: false },
      data: { type: 'string' },
      checkpoint: { type: 'string' },
      child: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const plan = values.short ? SHORT : FULL;
  const dataDir = path.resolve(values.data ?? 'data');
  if (values.child) {
    let answer: ChildAnswer;
    try {
      answer = await child(values.child as Job, values.backend as BackendChoice, plan, dataDir, path.resolve(values.checkpoint ?? ''), values.out ?? '');
    } catch (error) {
      answer = { ok: false, error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
    }
    console.log(JSON.stringify(answer));
    // Dawn's device can keep the event loop alive: the answer is out, so leave.
    process.exit(0);
  }

  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-gpu-check-'));
  try {
    let checkpoint = values.checkpoint;
    if (!checkpoint) {
      // In the checkout: make the checkpoint (needs Debian's python3-torch); the carried bundle has one.
      checkpoint = path.join(work, 'bert');
      // Not a literal import: the carried bundle must not take in the checkpoint maker (tokenizers' builder, Python).
      const maker = new URL('./make-tiny-checkpoint.ts', import.meta.url).href;
      const { makeTinyCheckpoint } = (await import(maker)) as typeof import('./make-tiny-checkpoint.js');
      makeTinyCheckpoint({ arch: 'bert', out: checkpoint, seed: SEED, head: 'seq:2', sizes: BERT_SIZES });
    }
    const args = ['--data', dataDir, '--checkpoint', path.resolve(checkpoint), ...(values.short ? ['--short'] : [])];
    const started = Date.now();
    const answers = new Map<string, ChildAnswer>();
    for (const job of ['tagger-speed', 'encoder-speed', 'tagger-grads', 'encoder-grads'] as Job[]) {
      for (const backend of BACKENDS) {
        const answer = runChild(job, backend, args, path.join(work, `${job}-${backend}.f32`), values.short ? 120_000 : 600_000);
        answers.set(`${job}/${backend}`, answer);
        console.error(`${job} on ${backend}: ${answer.ok ? 'ok' : `failed: ${answer.error}`}`);
      }
    }
    const adapter = [...answers.values()].find((a) => a.backend === 'webgpu')?.device;
    const webgpuError = [...answers.values()].find((a) => !a.ok && !a.backend && a.error?.includes('"webgpu"'))?.error;
    const software = adapter ? /\(software\)/.test(adapter) : false;
    const figure = (answer: ChildAnswer | undefined) => (answer?.ok && answer.perSecond !== undefined ? Math.round(answer.perSecond).toLocaleString('en-US') : `failed: ${answer?.error ?? '?'}`);
    const rows: Row[] = [];
    const json: Record<string, unknown> = { adapter: adapter ?? null, software_adapter: software, short: Boolean(values.short) };
    for (const [job, measure, key] of [
      ['tagger-speed', 'conv+CRF training, syllables/s', 'conv_crf_syllables_per_s'],
      ['encoder-speed', `BERT ${BERT_SIZES.layers}×${BERT_SIZES.hidden} fine-tuning, tokens/s`, 'encoder_tokens_per_s'],
    ] as const) {
      const gpu = answers.get(`${job}/webgpu`);
      const cpu = answers.get(`${job}/wasm`);
      const ratio = gpu?.ok && cpu?.ok && gpu.perSecond && cpu.perSecond ? gpu.perSecond / cpu.perSecond : null;
      rows.push({ measure, webgpu: figure(gpu), cpu: figure(cpu), verdict: ratio === null ? '–' : `×${ratio.toFixed(2)}${software ? ' (software adapter, not a speed claim)' : ''}` });
      json[key] = { webgpu: gpu?.ok ? Math.round(gpu.perSecond ?? 0) : null, cpu: cpu?.ok ? Math.round(cpu.perSecond ?? 0) : null, ratio: ratio === null ? null : Number(ratio.toFixed(3)) };
    }
    for (const [job, measure, key] of [
      ['tagger-grads', 'gradient check conv+CRF', 'conv_crf_gradients'],
      ['encoder-grads', 'gradient check BERT', 'encoder_gradients'],
    ] as const) {
      const gpu = answers.get(`${job}/webgpu`);
      const cpu = answers.get(`${job}/wasm`);
      if (gpu?.ok && cpu?.ok && gpu.gradients && cpu.gradients) {
        const error = relativeError(readFloats(gpu.gradients), readFloats(cpu.gradients));
        const lossError = Math.abs((gpu.loss ?? 0) - (cpu.loss ?? 0)) / Math.max(Math.abs(cpu.loss ?? 0), Number.MIN_VALUE);
        const pass = error <= GRADIENT_TOLERANCE && lossError <= GRADIENT_TOLERANCE;
        rows.push({ measure, webgpu: `loss ${gpu.loss?.toFixed(6)}`, cpu: `loss ${cpu.loss?.toFixed(6)}`, verdict: `${pass ? 'pass' : 'FAIL'}: gradients ${error.toExponential(2)}, loss ${lossError.toExponential(2)} relative (≤ ${GRADIENT_TOLERANCE})` });
        json[key] = { pass, gradient_relative_error: error, loss_relative_error: lossError };
      } else {
        rows.push({ measure, webgpu: gpu?.ok ? 'ok' : `failed: ${gpu?.error ?? '?'}`, cpu: cpu?.ok ? 'ok' : `failed: ${cpu?.error ?? '?'}`, verdict: 'not compared' });
        json[key] = { pass: null, error: gpu?.error ?? cpu?.error ?? null };
      }
    }
    const cpuDevice = answers.get('tagger-speed/wasm')?.device ?? 'wasm';
    console.log(`hanlab gpu-check (${values.short ? 'short' : 'full'} run, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    console.log(`adapter: ${adapter ?? `none: ${webgpuError ?? 'webgpu did not start'}`}`);
    console.log(`CPU backend: ${cpuDevice}, one thread (no gradient workers, as on webgpu)`);
    const table = [['measure', 'webgpu', 'CPU (wasm)', 'webgpu vs CPU'], ...rows.map((r) => [r.measure, r.webgpu, r.cpu, r.verdict])];
    const widths = table[0].map((_, c) => Math.max(...table.map((row) => Math.min(row[c].length, 60))));
    const line = (row: string[]) => `| ${row.map((cell, c) => (cell.length > 60 ? `${cell.slice(0, 57)}...` : cell.padEnd(widths[c]))).join(' | ')} |`;
    console.log(line(table[0]));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const row of table.slice(1)) console.log(line(row));
    json.seconds = Math.round((Date.now() - started) / 1000);
    console.log(JSON.stringify(json));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error) => {
    console.error(`gpu-check: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
