/**
 * The local engine's next-token log-probabilities equal a PyTorch re-statement of the same architecture
 * (tests/llm/reference/tiny_forward.py, Debian's python3-torch, reading the weights from the same GGUF
 * file with its own reader) within 1e-3, for the tiny llama and gemma2 models. Skips with a reason
 * when python3-torch is missing, unless HANLAB_REQUIRE_TORCH=1 (CI), where that fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTinyGguf, tinyLoraContent } from '../../scripts/make-tiny-gguf.js';
import { writeGgufFile } from '../../lib/llm/gguf/write.js';
import { openLocalModel } from '../../lib/llm/local-engine.js';

const PYTHON = '/usr/bin/python3';
const REFERENCE = path.join('tests', 'llm', 'reference', 'tiny_forward.py');

function skipWithoutTorch(): string | false {
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return false;
  const reason = `${PYTHON} with torch is missing (apt-get install python3-torch)`;
  if (process.env.HANLAB_REQUIRE_TORCH === '1') throw new Error(`HANLAB_REQUIRE_TORCH=1 but ${reason}`);
  return reason;
}

function torchLogprobs(model: string, sequences: number[][], loras: string[] = []): number[][] {
  const result = spawnSync(PYTHON, [REFERENCE, model, ...loras.flatMap((lora) => ['--lora', lora])], { input: JSON.stringify({ sequences }), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { logprobs: number[][] }).logprobs;
}

const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-torch-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TEXTS = ['안녕하세요', '환자의 위험 수준은 높음입니다.', 'the answer is {"risk": "낮음"}', '뷁! 똠양꿍 🙂 간호사', '질문: 병원에 가야 하나요?\n답:'];

for (const arch of ['llama', 'gemma2'] as const) {
  test(`${arch}: next-token log-probabilities equal PyTorch's within 1e-3 (whole vocabulary, every prefix)`, { skip: skipWithoutTorch() }, async () => {
    const file = path.join(dir, `${arch}.gguf`);
    makeTinyGguf({ arch, out: file, seed: 7 });
    // Keys and values kept in F32 and no flash attention: llama.cpp's default F16 cache (and flash
    // attention's F16 accumulator) round attention to about 1e-3, which would be compared instead of the
    // arithmetic. With them the engine and PyTorch agree to about 1e-6.
    const model = await openLocalModel(file, { threads: 1, gpu: 'off', kvCacheType: 'F32', flashAttention: false });
    try {
      const sequences: number[][] = [];
      for (const text of TEXTS) {
        const tokens = model.tokenize(text);
        assert.ok(tokens.length >= 2);
        // Every prefix of the longest text, and each whole text.
        if (text === TEXTS[1]) for (let end = 1; end < tokens.length; end++) sequences.push(tokens.slice(0, end));
        sequences.push(tokens);
      }
      const reference = torchLogprobs(file, sequences);
      let worst = 0;
      for (const [i, sequence] of sequences.entries()) {
        const ours = await model.nextTokenLogprobs(sequence);
        assert.equal(ours.length, reference[i]!.length);
        for (let t = 0; t < ours.length; t++) worst = Math.max(worst, Math.abs(ours[t]! - reference[i]![t]!));
      }
      assert.ok(worst < 1e-3, `largest difference ${worst}`);

      // loglikelihood() is the same sum: the continuation's tokens scored one after another.
      const context = model.tokenize('질문: 병원에 가야 하나요?\n답:');
      const whole = model.tokenize('질문: 병원에 가야 하나요?\n답: 위험 높음');
      const prefixes = whole.slice(context.length).map((_, k) => whole.slice(0, context.length + k));
      const expected = torchLogprobs(file, prefixes).reduce((sum, logprobs, k) => sum + logprobs[whole[context.length + k]!]!, 0);
      const ours = await model.loglikelihood('질문: 병원에 가야 하나요?\n답:', ' 위험 높음');
      assert.equal(ours.continuationTokens, prefixes.length);
      assert.ok(Math.abs(ours.logprob - expected) < 1e-3, `${ours.logprob} vs ${expected}`);
    } finally {
      await model.dispose();
    }
  });
}

for (const arch of ['llama', 'gemma2'] as const) {
  test(`${arch} with a LoRA adapter (GGUF, scale 0.7): log-probabilities equal PyTorch's within 1e-3, and differ from the base's`, { skip: skipWithoutTorch() }, async () => {
    const file = path.join(dir, `${arch}-base.gguf`);
    const adapter = path.join(dir, `${arch}-lora.gguf`);
    makeTinyGguf({ arch, out: file, seed: 7 });
    writeGgufFile(adapter, tinyLoraContent(arch, { rank: 4, alpha: 8, seed: 5 }));
    const model = await openLocalModel(file, { threads: 1, gpu: 'off', kvCacheType: 'F32', flashAttention: false, loras: [{ file: adapter, scale: 0.7 }] });
    try {
      assert.deepEqual(model.description.loras, [{ file: adapter, scale: 0.7 }]);
      const sequences = TEXTS.map((text) => model.tokenize(text));
      const withLora = torchLogprobs(file, sequences, [`${adapter}:0.7`]);
      const base = torchLogprobs(file, sequences);
      let worst = 0;
      let change = 0;
      for (const [i, sequence] of sequences.entries()) {
        const ours = await model.nextTokenLogprobs(sequence);
        for (let t = 0; t < ours.length; t++) {
          worst = Math.max(worst, Math.abs(ours[t]! - withLora[i]![t]!));
          change = Math.max(change, Math.abs(ours[t]! - base[i]![t]!));
        }
      }
      assert.ok(worst < 1e-3, `largest difference ${worst}`);
      assert.ok(change > 0.05, `the adapter changes the log-probabilities (by at most ${change})`);
    } finally {
      await model.dispose();
    }
  });
}
