/**
 * `hanlab generate --model FILE.gguf`: the local engine behind the same cache and output as the server
 * path. Deterministic at temperature 0, resumable after kill -9 without asking a prompt twice, one
 * line and exit 2 for a bad model file or schema. Tiny random models from scripts/make-tiny-gguf.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTinyGguf, tinyGgufContent } from '../../scripts/make-tiny-gguf.js';
import { encodeGguf } from '../../lib/llm/gguf/write.js';
import { gguf } from '../../lib/llm/gguf/values.js';

const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-generate-local-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const llama = path.join(dir, 'tiny-llama.gguf');
const gemma2 = path.join(dir, 'tiny-gemma2.gguf');
makeTinyGguf({ arch: 'llama', out: llama });
makeTinyGguf({ arch: 'gemma2', out: gemma2 });

function hanlab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const QUESTIONS = ['환자의 위험 수준은?', '안녕하세요', '병원에 가야 하나요?', 'the answer is', '간호사 판단 불가', '위험 높음 낮음 애매'];

function writePrompts(file: string, count: number): void {
  const lines = Array.from({ length: count }, (_, i) => {
    const question = `${QUESTIONS[i % QUESTIONS.length]} ${i}`;
    return i % 3 === 2
      ? { id: `q${i}`, prompt: question }
      : { id: `q${i}`, messages: [{ role: 'system', content: 'JSON으로 답하세요' }, { role: 'user', content: question }] };
  });
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

function answers(file: string): unknown[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const { cached: _cached, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return rest;
  });
}

test('temperature 0 is deterministic: two runs give identical files (chat template and raw prompts, llama and gemma2)', async () => {
  const data = path.join(dir, 'six.jsonl');
  writePrompts(data, 6);
  for (const [model, template] of [[llama, 'auto'], [gemma2, 'auto'], [gemma2, 'none']] as const) {
    const outs = [1, 2].map((run) => path.join(dir, `det-${path.basename(model)}-${template}-${run}.jsonl`));
    for (const out of outs) {
      const result = await hanlab(['generate', '--data', data, '--model', model, '--out', out, '--max-tokens', '12', '--threads', '1', '--chat-template', template]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /6\/6 answered, [\d.]+ tokens\/s generated/);
    }
    assert.equal(readFileSync(outs[0]!, 'utf8'), readFileSync(outs[1]!, 'utf8'));
    const lines = answers(outs[0]!) as Array<{ answer: string; finishReason: string; model: string }>;
    assert.equal(lines.length, 6);
    assert.ok(lines.every((l) => typeof l.answer === 'string' && l.model === model));
  }
});

test('kill -9 in the middle, then a rerun: the same answers as an uninterrupted run, no prompt asked twice', async () => {
  const data = path.join(dir, 'many.jsonl');
  const count = 40;
  writePrompts(data, count);
  const common = ['--data', data, '--model', llama, '--max-tokens', '16', '--threads', '1'];
  const whole = path.join(dir, 'whole.jsonl');
  const uninterrupted = await hanlab(['generate', ...common, '--out', whole]);
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);

  const out = path.join(dir, 'killed.jsonl');
  const cache = `${out}.cache.jsonl`;
  const child = spawn(process.execPath, ['bin/hanlab.mjs', 'generate', ...common, '--out', out], { stdio: 'ignore' });
  const cachedLines = () => (existsSync(cache) ? readFileSync(cache, 'utf8').split('\n').filter(Boolean).length : 0);
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (cachedLines() >= 3) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      } else if (Date.now() - started > 120_000) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error('no answer was cached within 2 minutes'));
      }
    }, 20);
  });
  const { signal } = await new Promise<{ signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (_code, s) => resolve({ signal: s })));
  assert.equal(signal, 'SIGKILL');
  const before = cachedLines();
  assert.ok(before < count, 'the run was killed before it finished');
  assert.ok(!existsSync(out), 'no answers file from a killed run');

  const rerun = await hanlab(['generate', ...common, '--out', out]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, /the lock of a run that died \(pid \d+\) taken over/);
  assert.deepEqual(answers(out), answers(whole));
  // Every prompt was asked exactly once over both runs: one cache line per prompt, no key twice.
  const keys = readFileSync(cache, 'utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { key: string }).key);
  assert.equal(keys.length, count);
  assert.equal(new Set(keys).size, count);
  const generated = Number(/\((\d+) generated, (\d+) from the cache/.exec(rerun.stderr)![1]);
  assert.equal(generated, count - before);
});

test('bad input is one line and exit 2: not GGUF, truncated GGUF, unknown architecture, a schema that is not JSON Schema', async () => {
  const data = path.join(dir, 'one.jsonl');
  writePrompts(data, 1);
  const notGguf = path.join(dir, 'weights.gguf');
  writeFileSync(notGguf, 'PK\u0003\u0004 not a model');
  const truncated = path.join(dir, 'truncated.gguf');
  writeFileSync(truncated, readFileSync(llama).subarray(0, 150_000));
  const unknown = path.join(dir, 'unknown-arch.gguf');
  const content = tinyGgufContent('llama');
  const metadata = new Map(content.metadata);
  metadata.set('general.architecture', gguf.string('hanlab-9000'));
  writeFileSync(unknown, encodeGguf({ metadata, tensors: content.tensors }));
  const badSchema = path.join(dir, 'bad-schema.json');
  writeFileSync(badSchema, JSON.stringify({ type: 'object', properties: { risk: { type: 'text' } } }));
  const unsupported = path.join(dir, 'pattern-schema.json');
  writeFileSync(unsupported, JSON.stringify({ type: 'string', pattern: '^[가-힣]+$' }));
  const notJson = path.join(dir, 'not-json.json');
  writeFileSync(notJson, '{"type": "object",\n "properties": }');
  const cases: Array<[string[], RegExp]> = [
    [['--model', notGguf], /weights\.gguf: not a GGUF file \(it starts with 50 4b 03 04/],
    [['--model', truncated], /truncated\.gguf: truncated: tensor "[^"]+" needs bytes up to \d+ but the file ends at byte 150000/],
    [['--model', unknown], /unknown-arch\.gguf, field "general\.architecture": "hanlab-9000" is not an architecture/],
    [['--model', llama, '--json-schema', badSchema], /bad-schema\.json, field "\/properties\/risk\/type": .*type must be one of/],
    [['--model', llama, '--json-schema', unsupported], /pattern-schema\.json, field "\/pattern": .*cannot be enforced by the grammar/],
    [['--model', llama, '--json-schema', notJson], /not-json\.json(:2)?: is not JSON/],
    [['--model', llama, '--gpu', 'metal'], /--gpu must be one of auto, off, vulkan, cuda/],
    [['--model', llama, '--gpu', 'vulkan'], /--gpu vulkan: node-llama-cpp's Vulkan build is not installed/],
    [['--model', llama, '--lora', gemma2], /tiny-gemma2\.gguf: is not a LoRA adapter/],
  ];
  for (const [args, message] of cases) {
    const out = path.join(dir, 'bad.jsonl');
    const result = await hanlab(['generate', '--data', data, '--out', out, '--threads', '1', ...args]);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, message);
    assert.ok(!existsSync(out));
  }
});
