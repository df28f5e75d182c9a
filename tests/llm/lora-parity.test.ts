/**
 * A converted LoRA computes what the PEFT adapter computes: the local engine (openLocalModel with
 * `loras`) on the tiny llama / gemma2 models plus `hanlab convert lora`'s output gives the same
 * next-token log-probabilities, over the whole vocabulary after every prefix, within 1e-3, as
 * tests/llm/reference/tiny_forward.py with `--peft`: the PyTorch re-statement of the forward pass that
 * applies the PEFT adapter folder itself (W + scale·alpha/r·B·A, llama's q/k row order restated from
 * llama.cpp's converter), never the converted file. The adapter's effect, and its scale's, are checked to
 * be far larger than the tolerance, so the test can fail.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { convertLoraToGguf } from '../../lib/llm/lora-to-gguf.js';
import { openLocalModel } from '../../lib/llm/local-engine.js';
import { makeTinyGguf, TINY_GGUF_ARCHITECTURES } from '../../scripts/make-tiny-gguf.js';
import { writeTinyAdapter } from './tiny-lora.js';

const PYTHON = '/usr/bin/python3';
const REFERENCE = path.join('tests', 'llm', 'reference', 'tiny_forward.py');
const TOLERANCE = 1e-3;

function skipWithoutTorch(): string | false {
  if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return false;
  const reason = `${PYTHON} with torch is missing (apt-get install python3-torch)`;
  if (process.env.HANLAB_REQUIRE_TORCH === '1') throw new Error(`HANLAB_REQUIRE_TORCH=1 but ${reason}`);
  return reason;
}

/** The reference's next-token log-softmax after each sequence, with the PEFT folder applied at `scale`. */
function torchLogprobs(model: string, sequences: number[][], peft?: { dir: string; scale: number }): number[][] {
  const args = ['-B', REFERENCE, model, ...(peft ? ['--peft', `${peft.dir}:${peft.scale}`] : [])];
  const result = spawnSync(PYTHON, args, { input: JSON.stringify({ sequences }), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { logprobs: number[][] }).logprobs;
}

const TEXTS = ['안녕하세요 환자는', '위험 수준은 높음입니다.', 'the answer is {"risk": "낮음"}', '간호사가 병원에서'];

const root = mkdtempSync(path.join(tmpdir(), 'hanlab-lora-parity-'));
after(() => rmSync(root, { recursive: true, force: true }));

for (const arch of TINY_GGUF_ARCHITECTURES) {
  test(`${arch}: engine + converted PEFT adapter (scales 0.5 and 1) equals PyTorch applying the PEFT folder, within ${TOLERANCE}`, { skip: skipWithoutTorch() }, async () => {
    const base = path.join(root, `${arch}.gguf`);
    makeTinyGguf({ arch, out: base, seed: 3 });
    const adapter = writeTinyAdapter(path.join(root, `${arch}-adapter`), { arch, r: 4, alpha: 8, seed: 2 });
    const lora = convertLoraToGguf({ base, adapter, out: path.join(root, `${arch}-lora.gguf`) }).out;
    const ours = new Map<number, Float64Array[]>();
    let sequences: number[][] = [];
    for (const scale of [0, 0.5, 1]) {
      // F32 keys and values, no flash attention: llama.cpp's F16 cache would round attention to about
      // 1e-3 and hide the arithmetic being compared (as in torch-parity.test.ts).
      const model = await openLocalModel(base, { threads: 1, gpu: 'off', kvCacheType: 'F32', flashAttention: false, loras: scale ? [{ file: lora, scale }] : [] });
      try {
        if (scale) assert.deepEqual(model.description.loras, [{ file: lora, scale }]);
        // Every prefix of each text.
        sequences = TEXTS.flatMap((text) => {
          const tokens = model.tokenize(text);
          return tokens.map((_, end) => tokens.slice(0, end + 1)).filter((s) => s.length >= 2);
        });
        const got: Float64Array[] = [];
        for (const sequence of sequences) got.push(await model.nextTokenLogprobs(sequence));
        ours.set(scale, got);
      } finally {
        await model.dispose();
      }
      const reference = torchLogprobs(base, sequences, scale ? { dir: adapter, scale } : undefined);
      let worst = 0;
      ours.get(scale)!.forEach((logprobs, i) => {
        assert.equal(logprobs.length, reference[i]!.length);
        logprobs.forEach((v, t) => (worst = Math.max(worst, Math.abs(v - reference[i]![t]!))));
      });
      assert.ok(worst < TOLERANCE, `${arch} scale ${scale}: largest difference ${worst}`);
    }
    const largestChange = (x: Float64Array[], y: Float64Array[]) => Math.max(...x.map((row, i) => Math.max(...row.map((v, t) => Math.abs(v - y[i]![t]!)))));
    assert.ok(largestChange(ours.get(0)!, ours.get(1)!) > 0.1, 'the adapter changes the log-probabilities');
    assert.ok(largestChange(ours.get(0.5)!, ours.get(1)!) > 0.05, 'and its scale matters');
  });
}
