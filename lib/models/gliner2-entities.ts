/**
 * Entity extraction with a GLiNER2 model, decoded as GLiNER2 does: no entities when the count head's
 * argmax over `[P]` is 0; otherwise, per label, every span whose sigmoid score reaches the threshold,
 * then greedily by descending score the spans that overlap none already kept (per label).
 */
import * as tf from '@tensorflow/tfjs';
import { encodeEntityInputs, type Gliner2Sample } from './gliner2-input.js';
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
  /** Texts per forward pass (default 8, as GLiNER2's batch_extract). */
  batchSize?: number;
}

/** Entities of each text for `labels`, in text order (start, then end, then label order). */
export async function extractEntities(model: Gliner2Model, texts: readonly string[], labels: readonly string[], options: ExtractOptions = {}): Promise<ExtractedEntity[][]> {
  const threshold = options.threshold ?? 0.5;
  const batchSize = options.batchSize ?? 8;
  const samples = await encodeEntityInputs(model.tokenizer, texts, labels, model.maxTokens);
  const results: ExtractedEntity[][] = [];
  for (let from = 0; from < samples.length; from += batchSize) {
    const batch = samples.slice(from, from + batchSize);
    const { scores, counts } = tf.tidy(() => {
      const out = model.forward(batch, { training: false });
      return { scores: out.spanLogits.map((l) => tf.sigmoid(l).dataSync() as Float32Array), counts: out.countLogits.argMax(1).dataSync() as Int32Array };
    });
    batch.forEach((sample, b) => results.push(counts[b] === 0 ? [] : decodeEntities(sample, labels, scores[b], model.config.maxWidth, threshold)));
  }
  return results;
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
