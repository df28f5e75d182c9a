/**
 * Entity extraction with a GLiNER2 model, decoded as GLiNER2 does: no entities when the count head's
 * argmax over `[P]` is 0; otherwise, per label, every span whose sigmoid score reaches the threshold,
 * then greedily by descending score the spans that overlap none already kept (per label). A text longer
 * than the model's limit with its prompt is extracted in overlapping windows and merged, as GLiNER2's
 * `extract_long` (gliner2-windows.ts).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import { withProductThreads } from '../tensor/blas.js';
import { encodeEntityTexts, promptLength, type Gliner2Sample } from './gliner2-input.js';
import { mergeWindowEntities, proportionalOverlap, splitIntoWindows, WINDOW_OVERLAP, WINDOW_WORDS, type TextWindow } from './gliner2-windows.js';
import type { Gliner2Model } from './gliner2.js';

export interface ExtractedEntity {
  label: string;
  /** Character offsets in the text (JavaScript string positions), `text` = text.slice(start, end). */
  start: number;
  end: number;
  text: string;
  score: number;
}

export interface ExtractOptions {
  /** Minimum sigmoid score of a span (GLiNER2's default 0.5). */
  threshold?: number;
  /** Texts (or windows) per forward pass (default 8, as GLiNER2's batch_extract). */
  batchSize?: number;
  /** Words per window of a text longer than the model's limit (default 384, GLiNER2's chunk_size). */
  windowWords?: number;
  /** Words shared by neighbouring windows (default 64, GLiNER2's chunk_overlap). */
  windowOverlap?: number;
}

/** How one input text is run: whole, or as windows of it. */
interface Plan {
  windows: TextWindow[] | null;
  samples: Gliner2Sample[];
}

/** Entities of each text for `labels`, in text order (start, then end, then label order). */
export async function extractEntities(model: Gliner2Model, texts: readonly string[], labels: readonly string[], options: ExtractOptions = {}): Promise<ExtractedEntity[][]> {
  const threshold = options.threshold ?? 0.5;
  const batchSize = options.batchSize ?? 8;
  const plans = await planTexts(model, texts, labels, options.windowWords ?? WINDOW_WORDS, options.windowOverlap ?? WINDOW_OVERLAP);
  const samples = plans.flatMap((p) => p.samples);
  const decoded: ExtractedEntity[][] = [];
  // One loop computes here: OpenBLAS may use every core for each product.
  await withProductThreads(availableParallelism(), async () => {
    for (let from = 0; from < samples.length; from += batchSize) {
      const batch = samples.slice(from, from + batchSize);
      const { scoreTensors, countTensor } = tf.tidy(() => {
        const out = model.forward(batch, { training: false });
        return { scoreTensors: out.spanLogits.map((l) => tf.sigmoid(l)), countTensor: out.countLogits.argMax(1) };
      });
      // Read asynchronously: the webgpu backend has no synchronous read in Node.
      let scores: Float32Array[];
      let counts: Int32Array;
      try {
        scores = (await Promise.all(scoreTensors.map((t) => t.data()))) as Float32Array[];
        counts = (await countTensor.data()) as Int32Array;
      } finally {
        tf.dispose([...scoreTensors, countTensor]);
      }
      batch.forEach((sample, b) => decoded.push(counts[b] === 0 ? [] : decodeEntities(sample, labels, scores[b], model.config.maxWidth, threshold)));
    }
  });
  let at = 0;
  return plans.map((plan, i) => {
    const own = decoded.slice(at, (at += plan.samples.length));
    return plan.windows ? mergeWindowEntities(texts[i], plan.windows, own, labels) : own[0];
  });
}

/**
 * Each text whole when it fits the model with its prompt, else GLiNER2's windows of `windowWords`
 * words sharing `windowOverlap`, narrowed (overlap in proportion) until every window fits.
 */
async function planTexts(model: Gliner2Model, texts: readonly string[], labels: readonly string[], windowWords: number, windowOverlap: number): Promise<Plan[]> {
  if (!(Number.isSafeInteger(windowWords) && windowWords > 0)) throw new InputError(`window words must be a positive integer, got ${windowWords}`, { field: 'windowWords' });
  if (!(Number.isSafeInteger(windowOverlap) && windowOverlap >= 0 && windowOverlap < windowWords)) {
    throw new InputError(`window overlap must be an integer from 0 to ${windowWords - 1} (less than the window's words), got ${windowOverlap}`, { field: 'windowOverlap' });
  }
  const limit = model.maxTokens;
  const whole = await encodeEntityTexts(model.tokenizer, texts, labels);
  const prompt = whole.length ? promptLength(whole[0]) : 0;
  if (prompt + 1 > limit) throw new InputError(`the entity prompt for ${labels.length} labels is ${prompt} tokens, the model takes ${limit} in all; give fewer labels`, { field: 'labels' });
  const plans: Plan[] = [];
  for (const [index, sample] of whole.entries()) {
    if (sample.ids.length <= limit) {
      plans.push({ windows: null, samples: [sample] });
      continue;
    }
    let size = windowWords;
    let overlap = windowOverlap;
    for (;;) {
      const windows = splitIntoWindows(texts[index], size, overlap);
      const samples = await encodeEntityTexts(model.tokenizer, windows.map((w) => w.text), labels);
      const widest = samples.reduce((best, s, k) => (s.ids.length > samples[best].ids.length ? k : best), 0);
      const longest = samples[widest].ids.length;
      if (longest <= limit) {
        plans.push({ windows, samples });
        break;
      }
      if (size === 1) {
        const word = windows[widest].text;
        throw new InputError(`text ${index + 1}: the word "${word.length > 40 ? word.slice(0, 40) + '…' : word}" is ${longest - prompt} tokens, more than the ${limit - prompt} the model takes after the entity prompt`, { line: index + 1 });
      }
      // Narrow the widest window's words in proportion to its excess (at least one word fewer).
      const words = windows[widest].endWord - windows[widest].firstWord;
      size = Math.max(1, Math.min(words - 1, Math.floor((words * (limit - prompt)) / (longest - prompt))));
      overlap = proportionalOverlap(size, windowWords, windowOverlap);
    }
  }
  return plans;
}

/** Spans of one text from its span scores `[labels, words · maxWidth]`. */
export function decodeEntities(sample: Gliner2Sample, labels: readonly string[], scores: Float32Array, maxWidth: number, threshold: number): ExtractedEntity[] {
  const words = sample.words;
  const perLabel = words.length * maxWidth;
  const found: ExtractedEntity[] = [];
  labels.forEach((label, k) => {
    const candidates: ExtractedEntity[] = [];
    for (let i = 0; i < words.length; i++) {
      for (let w = 0; w < maxWidth && i + w < words.length; w++) {
        const score = scores[k * perLabel + i * maxWidth + w];
        if (!(score >= threshold)) continue;
        const start = words[i].start;
        const end = words[i + w].end;
        // The `.` GLiNER2 appends to a text without final punctuation is not in the input text.
        if (end > sample.text.length) continue;
        candidates.push({ label, start, end, text: sample.text.slice(start, end), score });
      }
    }
    const kept: ExtractedEntity[] = [];
    for (const span of candidates.sort((a, b) => b.score - a.score)) {
      if (kept.every((k2) => span.end <= k2.start || span.start >= k2.end)) kept.push(span);
    }
    found.push(...kept);
  });
  const order = new Map(labels.map((l, i) => [l, i]));
  return found.sort((a, b) => a.start - b.start || a.end - b.end || (order.get(a.label) as number) - (order.get(b.label) as number));
}
