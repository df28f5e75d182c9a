/**
 * Where one training update's time goes, per op, forward and backward (`npm run bench:train --
 * --profile`). Wraps tfjs's engine for the duration: every kernel call and every gradient function is
 * timed in CPU time of the process (on a shared machine, wall time also counts the moments another
 * process had the core), and a call's time excludes the calls nested in it (a fused op's own JavaScript is its row;
 * the matrix products it runs are BatchMatMul's). Rows of fused ops are named after their file
 * (`op:conv-block`). What no op accounts for is the trainer's own work: the optimizer, the gradient
 * sum, batching, tfjs's bookkeeping. Uses tfjs internals (engine.runKernelFunc, addTapeNode): a
 * measuring tool, not library code.
 */
import * as tf from '@tensorflow/tfjs';
import type { EncodedExample } from '../lib/train/batching.js';
import type { TrainableModel } from '../lib/train/saved-model.js';
import { trainModel, type TrainOptions } from '../lib/train/trainer.js';

type Phase = 'forward' | 'backward';

interface EngineInternals {
  runKernelFunc(params: { kernelName?: string }): unknown;
  addTapeNode(kernelName: string, inputs: unknown, outputs: unknown, gradientsFunc: ((...args: unknown[]) => unknown) | null, saved: unknown, attrs: unknown): void;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Name of a fused op from the call stack (the first frame in lib/tensor/ops or models). */
function callerOp(): string {
  const frame = (new Error().stack ?? '').split('\n').find((line) => /lib\/(tensor\/ops|train\/models)\//.test(line)) ?? '';
  return `op:${/lib\/(?:tensor\/ops|train\/models)\/([\w.-]+)\.ts/.exec(frame)?.[1] ?? 'unknown'}`;
}

/**
 * Trains `model` for `batches.length` updates on one thread and profiles the updates after the first
 * two. Returns a Markdown table and a summary line.
 */
export async function profileStep(model: TrainableModel, examples: readonly EncodedExample[], batches: number[][], options: TrainOptions): Promise<string> {
  const engine = tf.engine() as unknown as EngineInternals;
  const table = new Map<string, { ms: number; calls: number }>();
  const open: number[] = [];
  let phase: Phase = 'forward';
  let recording = false;
  const timed = <T>(name: string, run: () => T): T => {
    if (!recording) return run();
    const at = phase;
    open.push(0);
    const started = cpuMs();
    try {
      return run();
    } finally {
      const elapsed = cpuMs() - started;
      const nested = open.pop() as number;
      if (open.length) open[open.length - 1] += elapsed;
      const key = `${at}\t${name}`;
      const entry = table.get(key) ?? { ms: 0, calls: 0 };
      entry.ms += elapsed - nested;
      entry.calls++;
      table.set(key, entry);
    }
  };
  const runKernelFunc = engine.runKernelFunc;
  const addTapeNode = engine.addTapeNode;
  const lossSum = model.lossSum;
  engine.runKernelFunc = function (this: EngineInternals, params) {
    return timed(params.kernelName || callerOp(), () => runKernelFunc.call(this, params));
  };
  engine.addTapeNode = function (this: EngineInternals, kernelName, inputs, outputs, gradientsFunc, saved, attrs) {
    // A fused op (tf.customGrad) records the scope's name, not its own.
    const name = kernelName && kernelName !== 'unnamed scope' ? kernelName : callerOp();
    const wrapped = gradientsFunc && ((...args: unknown[]) => timed(name, () => gradientsFunc(...args)));
    addTapeNode.call(this, kernelName, inputs, outputs, wrapped, saved, attrs);
  };
  model.lossSum = function (this: TrainableModel, ...args: Parameters<TrainableModel['lossSum']>) {
    phase = 'forward';
    const value = (lossSum as (...a: unknown[]) => tf.Scalar).apply(this, args);
    phase = 'backward';
    return value;
  } as TrainableModel['lossSum'];
  const warmup = 2;
  let updates = 0;
  let cpuAtStart = 0;
  let cpuAtEnd = 0;
  let result;
  try {
    result = await trainModel(model, examples, null, {
      ...options,
      workers: 0,
      maxSteps: batches.length,
      progress: {
        update() {
          updates++;
          recording = updates >= warmup;
          if (updates === warmup) cpuAtStart = cpuMs();
          if (updates === batches.length) cpuAtEnd = cpuMs();
        },
        epochEnd() {},
        message() {},
      },
    });
  } finally {
    engine.runKernelFunc = runKernelFunc;
    engine.addTapeNode = addTapeNode;
    model.lossSum = lossSum;
  }
  const profiled = result.history.steps.slice(warmup);
  const n = profiled.length;
  const wall = profiled.reduce((sum, s) => sum + (s.realTokens / s.tokensPerSecond) * 1000, 0) / n;
  const tokens = profiled.reduce((sum, s) => sum + s.realTokens, 0) / n;
  const cpu = (cpuAtEnd - cpuAtStart) / n;
  const rows = new Map<string, { forward: number; forwardCalls: number; backward: number; backwardCalls: number }>();
  for (const [key, entry] of table) {
    const [at, name] = key.split('\t') as [Phase, string];
    const row = rows.get(name) ?? { forward: 0, forwardCalls: 0, backward: 0, backwardCalls: 0 };
    row[at] += entry.ms / n;
    row[at === 'forward' ? 'forwardCalls' : 'backwardCalls'] += entry.calls / n;
    rows.set(name, row);
  }
  const inOps = [...rows.values()].reduce((sum, r) => sum + r.forward + r.backward, 0);
  const lines = [
    `one update: ${Math.round(tokens)} real tokens, ${cpu.toFixed(1)} ms of CPU (${Math.round((tokens / cpu) * 1000)} tokens per CPU second), ` +
      `${wall.toFixed(1)} ms of wall time (${Math.round((tokens / wall) * 1000)} tokens/s, one thread), mean of ${n} updates`,
    '',
    '| op | forward CPU ms | calls | backward CPU ms | calls | share of the update |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const [name, r] of [...rows].sort((a, b) => b[1].forward + b[1].backward - a[1].forward - a[1].backward)) {
    if (r.forward + r.backward < 0.0005 * cpu) continue;
    lines.push(
      `| ${name} | ${r.forward.toFixed(1)} | ${Math.round(r.forwardCalls)} | ${r.backward.toFixed(1)} | ${Math.round(r.backwardCalls)} | ${((100 * (r.forward + r.backward)) / cpu).toFixed(1)}% |`,
    );
  }
  lines.push(`| outside any op (optimizer, gradient sum, batching, tfjs bookkeeping, GC) | | | | | ${((100 * (cpu - inOps)) / cpu).toFixed(1)}% |`);
  return lines.join('\n');
}
