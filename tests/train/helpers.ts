/** Shared set-up for the lib/train tests: the backend, and small real KLUE NER / NSMC samples. */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../lib/backend/index.js';
import { readKlueNer, type KlueSentence } from '../../lib/data/klue-ner.js';

let ready: Promise<string> | undefined;

/** Initialises the project's backend once (wasm here; HANLAB_BACKEND may name another). */
export function setupBackend(): Promise<string> {
  ready ??= initBackend().then((device) => {
    if (tf.getBackend() !== device.tfBackend) throw new Error(`backend is ${tf.getBackend()}, expected ${device.tfBackend}`);
    return device.tfBackend;
  });
  return ready;
}

let klue: KlueSentence[] | undefined;

/** The first `count` sentences of the shipped KLUE NER dev file. */
export function klueSentences(count: number, offset = 0): KlueSentence[] {
  klue ??= readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv');
  return klue.slice(offset, offset + count);
}

/** `count` NSMC training rows (text, label 0/1), from the start of the shipped file. */
export function nsmcRows(count: number): { texts: string[]; labels: number[]; labelNames: string[] } {
  const lines = readFileSync('data/nsmc/ratings_train.first14274.txt', 'utf8').split('\n').slice(1, count + 1);
  const texts: string[] = [];
  const labels: number[] = [];
  for (const line of lines) {
    const [, document, label] = line.split('\t');
    texts.push(document);
    labels.push(Number(label));
  }
  return { texts, labels, labelNames: ['0', '1'] };
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Runs a command with its console output (log and error) captured. */
export async function quietly<T>(f: () => Promise<T>): Promise<{ result: T; output: string }> {
  const lines: string[] = [];
  const original = { log: console.log, error: console.error };
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  console.error = console.log;
  try {
    return { result: await f(), output: lines.join('\n') };
  } finally {
    console.log = original.log;
    console.error = original.error;
  }
}
