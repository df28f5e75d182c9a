/**
 * End to end: a PEFT adapter folder → `hanlab convert lora` → `hanlab generate --model tiny.gguf
 * --lora adapter.gguf:0.5`. The answers are deterministic at temperature 0, change with the adapter
 * and with its scale, and equal the local engine's own greedy answers with the same adapter and scale.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLocalModel } from '../../lib/llm/local-engine.js';
import { makeTinyGguf } from '../../scripts/make-tiny-gguf.js';
import { writeTinyAdapter } from '../llm/tiny-lora.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-convert-lora-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function hanlab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const PROMPTS = ['환자의 위험 수준은', '안녕하세요', 'the answer is', '간호사 판단'];

test('convert a PEFT adapter, then generate with it at scale 0.5: deterministic, the adapter and its scale matter, the engine agrees', async () => {
  const model = path.join(dir, 'tiny-llama.gguf');
  makeTinyGguf({ arch: 'llama', out: model });
  const adapter = writeTinyAdapter(path.join(dir, 'peft-adapter'), { arch: 'llama', r: 4, alpha: 8, bScale: 0.6 });
  const lora = path.join(dir, 'adapter.gguf');
  const converted = await hanlab(['convert', 'lora', '--base', model, '--adapter', adapter, '--out', lora]);
  assert.equal(converted.code, 0, converted.stderr);

  const data = path.join(dir, 'prompts.jsonl');
  writeFileSync(data, PROMPTS.map((prompt, i) => JSON.stringify({ id: `p${i}`, prompt })).join('\n') + '\n');
  const generate = async (name: string, extra: string[]) => {
    const out = path.join(dir, `${name}.jsonl`);
    const result = await hanlab(['generate', '--data', data, '--model', model, '--out', out, '--chat-template', 'none', '--max-tokens', '10', '--threads', '1', ...extra]);
    assert.equal(result.code, 0, result.stderr);
    return readFileSync(out, 'utf8');
  };
  const answersOf = (file: string) => file.trim().split('\n').map((line) => (JSON.parse(line) as { answer: string }).answer);

  const half = await generate('half', ['--lora', `${lora}:0.5`]);
  assert.equal(await generate('half-again', ['--lora', `${lora}:0.5`]), half, 'temperature 0: the same file twice');
  const base = answersOf(await generate('base', []));
  const full = answersOf(await generate('full', ['--lora', lora]));
  const halfAnswers = answersOf(half);
  assert.equal(halfAnswers.length, PROMPTS.length);
  assert.notDeepEqual(halfAnswers, base, 'the adapter changes the answers');
  assert.notDeepEqual(halfAnswers, full, 'and its scale does');

  const engine = await openLocalModel(model, { threads: 1, gpu: 'off', loras: [{ file: lora, scale: 0.5 }] });
  try {
    for (const [i, prompt] of PROMPTS.entries()) {
      const completion = await engine.complete(prompt, { maxTokens: 10, temperature: 0 });
      assert.equal(halfAnswers[i], completion.text, `prompt ${i}`);
    }
  } finally {
    await engine.dispose();
  }
});
