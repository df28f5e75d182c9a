/**
 * The local GGUF engine against node-llama-cpp's own bare loop on the same model in the same run:
 * prompt tokens/s (a fresh prompt evaluated, one token generated) and generated tokens/s (greedy
 * generation of a fixed number of tokens). The model is a random-weight llama made by
 * scripts/make-tiny-gguf.ts at bench sizes (about 12 M parameters, F32), so that the products, not
 * the loop, set the pace as they do for a real model. Goal (issue 22): the engine's overhead at most 5 %.
 *
 * Robust to a loaded machine (it is shared): each round runs the engine and the bare loop back to back,
 * in alternating order (engine first in odd rounds, bare first in even ones, so neither side always
 * gets the warmer or the quieter slot), and the figure is the median over rounds of each round's own
 * ratio: a burst of load that slows one round slows both sides of that pair. The closing JSON line
 * holds the load average before and after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { makeTinyGguf } from '../scripts/make-tiny-gguf.js';
import { openLocalModel } from '../lib/llm/local-engine.js';

const ROUNDS = Math.max(1, Number(process.env.HANLAB_BENCH_ROUNDS ?? 8));
const GENERATE = Number(process.env.HANLAB_BENCH_TOKENS ?? 128);
const THREADS = Number(process.env.HANLAB_BENCH_THREADS ?? 1);
const SIZES = { embedding: 512, layers: 4, feedForward: 1408, heads: 8, kvHeads: 4, contextLength: 2048 };
const WORDS = ['환자', '위험', '높음', '낮음', '병원', '의사', '간호사', 'the', 'answer', 'risk', '대응', '판단', '정답'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A different prompt every time, so that neither side reuses a cached prefix. */
function prompt(round: number, side: number): string {
  const words: string[] = [`${round}-${side}`];
  let state = round * 7919 + side * 104729 + 1;
  for (let i = 0; i < 160; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    words.push(WORDS[state % WORDS.length]!);
  }
  return words.join(' ');
}

const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-engine-bench-'));
try {
  const file = path.join(dir, 'bench-llama.gguf');
  makeTinyGguf({ arch: 'llama', out: file, seed: 3, sizes: SIZES });
  const engine = await openLocalModel(file, { threads: THREADS, gpu: 'off', contextSize: 1024 });
  const llama = await getLlama({ build: 'never', gpu: false, usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 1024, sequences: 1, threads: THREADS });
  const sequence = context.getSequence();

  const bare = async (text: string, tokens: number): Promise<{ promptTokens: number; promptSeconds: number; generated: number; generateSeconds: number }> => {
    await sequence.clearHistory();
    const input = model.tokenize(text, true);
    if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) input.unshift(model.tokens.bos);
    let started = performance.now();
    let promptSeconds = 0;
    let generated = 0;
    for await (const _token of sequence.evaluate(input as Token[], { temperature: 0, topK: 0, topP: 1, minP: 0 })) {
      if (generated === 0) {
        promptSeconds = (performance.now() - started) / 1000;
        started = performance.now();
      }
      generated++;
      if (generated >= tokens) break;
    }
    return { promptTokens: input.length, promptSeconds, generated: generated - 1, generateSeconds: (performance.now() - started) / 1000 };
  };
  const ours = async (text: string, tokens: number) => {
    const promptStarted = performance.now();
    const first = await engine.complete(text, { maxTokens: 1 });
    const promptSeconds = (performance.now() - promptStarted) / 1000;
    // The same prompt again: the engine keeps it, so this times the generation (its first token included).
    const started = performance.now();
    const run = await engine.complete(text, { maxTokens: tokens });
    return { promptTokens: first.promptTokens, promptSeconds, generated: run.generatedTokens, generateSeconds: (performance.now() - started) / 1000 };
  };

  const rates = { enginePrompt: [] as number[], barePrompt: [] as number[], engineGenerate: [] as number[], bareGenerate: [] as number[] };
  const ratios = { prompt: [] as number[], generate: [] as number[] };
  await ours(prompt(0, 0), 8); // warm-up: first allocations, page cache
  await bare(prompt(0, 1), 8);
  const loadBefore = loadavg();
  for (let round = 1; round <= ROUNDS; round++) {
    const engineFirst = round % 2 === 1;
    const first = engineFirst ? await ours(prompt(round, 0), GENERATE) : await bare(prompt(round, 1), GENERATE + 1);
    const second = engineFirst ? await bare(prompt(round, 1), GENERATE + 1) : await ours(prompt(round, 0), GENERATE);
    const [a, b] = engineFirst ? [first, second] : [second, first];
    rates.enginePrompt.push(a.promptTokens / a.promptSeconds);
    rates.barePrompt.push(b.promptTokens / b.promptSeconds);
    rates.engineGenerate.push(a.generated / a.generateSeconds);
    rates.bareGenerate.push(b.generated / b.generateSeconds);
    ratios.prompt.push(rates.enginePrompt.at(-1)! / rates.barePrompt.at(-1)!);
    ratios.generate.push(rates.engineGenerate.at(-1)! / rates.bareGenerate.at(-1)!);
    console.log(`round ${round} (${engineFirst ? 'engine first' : 'bare first'}): prompt ${rates.enginePrompt.at(-1)!.toFixed(0)} vs ${rates.barePrompt.at(-1)!.toFixed(0)} tokens/s, ` +
      `generation ${rates.engineGenerate.at(-1)!.toFixed(1)} vs ${rates.bareGenerate.at(-1)!.toFixed(1)} tokens/s (engine vs bare; ratios ${ratios.prompt.at(-1)!.toFixed(3)}, ${ratios.generate.at(-1)!.toFixed(3)})`);
  }
  await context.dispose();
  await model.dispose();
  await engine.dispose();
  const figures = {
    promptTokensPerSecond: Math.round(median(rates.enginePrompt)),
    barePromptTokensPerSecond: Math.round(median(rates.barePrompt)),
    promptRatio: Number(median(ratios.prompt).toFixed(3)),
    promptRatioRange: [Number(Math.min(...ratios.prompt).toFixed(3)), Number(Math.max(...ratios.prompt).toFixed(3))],
    generatedTokensPerSecond: Number(median(rates.engineGenerate).toFixed(1)),
    bareGeneratedTokensPerSecond: Number(median(rates.bareGenerate).toFixed(1)),
    generateRatio: Number(median(ratios.generate).toFixed(3)),
    generateRatioRange: [Number(Math.min(...ratios.generate).toFixed(3)), Number(Math.max(...ratios.generate).toFixed(3))],
    ratioOf: 'median over rounds of engine / bare in the same round (order alternating)',
    goal: 'ratios >= 0.95 (overhead at most 5 %)',
    threads: THREADS,
    rounds: ROUNDS,
    cpus: availableParallelism(),
    loadAverageBefore: loadBefore.map((x) => Number(x.toFixed(1))),
    loadAverageAfter: loadavg().map((x) => Number(x.toFixed(1))),
  };
  console.log(JSON.stringify(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
