/**
 * A converted LoRA computes what the PEFT adapter computes: the local engine (openLocalModel with
 * `loras`) on the tiny llama / gemma2 models plus `hanlab convert lora`'s output gives the same
 * next-token log-probabilities, within 1e-3, as tests/llm/reference/tiny_lora_forward.py, a PyTorch
 * re-statement of the forward pass that applies the PEFT adapter folder itself
 * (W + scale·alpha/r·B·A, with llama's q/k row order restated from llama.cpp's converter).
 * The adapter's effect is checked to be far larger than the tolerance, so the test can fail.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convertLoraToGguf } from '../../lib/llm/lora-to-gguf.js';
import { openLocalModel, type LocalModel } from '../../lib/llm/local-engine.js';
import { makeTinyGguf, TINY_GGUF_ARCHITECTURES } from '../../scripts/make-tiny-gguf.js';
import { writeTinyAdapter } from './tiny-lora.js';

const PYTHON = process.env.HANLAB_PYTHON ?? '/usr/bin/python3';
const REFERENCE = path.resolve('tests/llm/reference/tiny_lora_forward.py');
const TOLERANCE = 1e-3;

function skipWithoutTorch(): string | false {
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return false;
  const reason = `${PYTHON} with torch is missing (apt-get install python3-torch)`;
  if (process.env.HANLAB_REQUIRE_TORCH === '1') throw new Error(`HANLAB_REQUIRE_TORCH=1 but ${reason}`);
  return reason;
}

/** The reference's log-softmax after every token of `tokens`. */
function referenceLogprobs(model: string, tokens: number[], adapter?: { dir: string; scale: number }): number[][] {
  const args = ['-B', REFERENCE, model, '--tokens', tokens.join(',')];
  if (adapter) args.push('--adapter', adapter.dir, '--scale', String(adapter.scale));
  const run = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { logprobs: number[][] }).logprobs;
}

// Contexts and one-syllable continuations in the tiny vocabulary (Hangul, ASCII, a word split in two).
const CASES: [string, string][] = [
  ['안녕하세요 환자', '는'],
  ['위험 수준은', ' 높음'],
  ['the answer is', ' true'],
  ['정답:', ' 대응'],
  ['간호사가 병원에', '서'],
];

const root = mkdtempSync(path.join(tmpdir(), 'hanlab-lora-parity-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('a converted LoRA on the local engine equals the PyTorch re-statement of the PEFT adapter', { skip: skipWithoutTorch() }, () => {
  for (const arch of TINY_GGUF_ARCHITECTURES) {
    test(`${arch}: next-token log-probabilities without, at scale 0.5 and at scale 1, within ${TOLERANCE}`, async () => {
      const base = path.join(root, `${arch}.gguf`);
      makeTinyGguf({ arch, out: base });
      const adapter = writeTinyAdapter(path.join(root, `${arch}-adapter`), { arch, r: 4, alpha: 8 });
      const lora = convertLoraToGguf({ base, adapter, out: path.join(root, `${arch}-lora.gguf`) }).out;
      const byScale = new Map<number, number[]>();
      for (const scale of [0, 0.5, 1]) {
        const model: LocalModel = await openLocalModel(base, { gpu: 'off', contextSize: 64, loras: scale ? [{ file: lora, scale }] : [] });
        const got: number[] = [];
        try {
          for (const [context, continuation] of CASES) {
            // Tokenized as the engine's loglikelihood does: the context's trailing space goes to the continuation.
            const contextTokens = model.tokenize(context);
            const whole = model.tokenize(context + continuation);
            assert.deepEqual(whole.slice(0, contextTokens.length), contextTokens, `"${context}" tokenizes the same alone and followed by "${continuation}"`);
            const targets = whole.slice(contextTokens.length);
            const expected = referenceLogprobs(base, whole, scale ? { dir: adapter, scale } : undefined);
            const reference = targets.reduce((sum, token, k) => sum + expected[contextTokens.length - 1 + k]![token]!, 0);
            const { logprob, continuationTokens } = await model.loglikelihood(context, continuation);
            assert.equal(continuationTokens, targets.length);
            assert.ok(Math.abs(logprob - reference) <= TOLERANCE * targets.length,
              `${arch} scale ${scale} "${context}" → "${continuation}": engine ${logprob}, PyTorch ${reference}`);
            got.push(logprob);
          }
        } finally {
          await model.dispose();
        }
        byScale.set(scale, got);
      }
      // The adapter moves the answers by far more than the tolerance, and its scale matters.
      const moved = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      assert.ok(moved(byScale.get(0)!, byScale.get(1)!) > 50 * TOLERANCE, `adapter effect ${moved(byScale.get(0)!, byScale.get(1)!)}`);
      assert.ok(moved(byScale.get(0.5)!, byScale.get(1)!) > 20 * TOLERANCE, `scale effect ${moved(byScale.get(0.5)!, byScale.get(1)!)}`);
    });
  }
});
