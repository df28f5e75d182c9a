/**
 * Generation at scale against a local fake OpenAI-compatible server: high concurrency with a server
 * that rate-limits, fails and answers out of order loses no answer and asks nothing twice; the
 * request-rate limit spaces requests; concurrency and rate come from a config file. The throughput
 * figure itself is bench/generate.bench.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InputError } from '../../lib/errors.js';
import { generate, spacedSlots } from '../../lib/llm/generate.js';
import { parseGenerationConfig } from '../../lib/llm/generation-config.js';
import { answer, startServer } from './fake-server.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fast = { backoffBaseMs: 1, backoffMaxMs: 5, random: () => 0.5 };

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-scale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('600 prompts at concurrency 64 against a server that rate-limits, fails and answers out of order: every answer, once, in order', async (t) => {
  const dir = tempDir(t);
  const cachePath = path.join(dir, 'cache.jsonl');
  let inFlight = 0;
  let maxInFlight = 0;
  const attempts = new Map<string, number>();
  // The first requests wait until 64 are in flight (or 20 s pass): the client must open exactly 64.
  let arrived = 0;
  let release!: () => void;
  const full = new Promise<void>((resolve) => (release = resolve));
  const timer = setTimeout(() => release(), 20_000);
  t.after(() => clearTimeout(timer));
  const fake = await startServer(async (request, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (++arrived === 64) release();
    if (arrived <= 64) await full;
    const n = (attempts.get(request.prompt) ?? 0) + 1;
    attempts.set(request.prompt, n);
    const i = Number(request.prompt.split(' ')[1]);
    await delay(i % 7);
    inFlight--;
    if (n === 1 && i % 10 === 0) {
      res.writeHead(429, { 'retry-after': '0' });
      res.end('{"error":"slow down"}');
    } else if (n === 1 && i % 10 === 1) {
      res.writeHead(503);
      res.end('busy');
    } else if (n === 1 && i % 10 === 2) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[]}');
    } else {
      answer(res, `답 ${i}`);
    }
  });
  t.after(() => fake.close());
  const prompts = Array.from({ length: 600 }, (_, i) => `문장 ${i}`);
  const run = await generate(prompts, { baseUrl: fake.baseUrl, model: 'm', concurrency: 64, cachePath, ...fast });
  assert.deepEqual(run.answers.map((a) => a.answer), prompts.map((_, i) => `답 ${i}`));
  assert.equal(maxInFlight, 64);
  assert.equal(run.stats.generated, 600);
  assert.equal(run.stats.retries, 180);
  const lines = readFileSync(cachePath, 'utf8').trim().split('\n');
  assert.equal(lines.length, 600, 'one cache line per answer');
  assert.equal(new Set(lines.map((line) => JSON.parse(line).key)).size, 600, 'no duplicates');
  // A second run is all cache.
  const again = await generate(prompts, { baseUrl: fake.baseUrl, model: 'm', concurrency: 64, cachePath, ...fast });
  assert.equal(again.stats.fromCache, 600);
});

test('requestsPerSecond spaces request starts', async (t) => {
  const starts: number[] = [];
  const fake = await startServer((request, res) => {
    starts.push(performance.now());
    answer(res, request.prompt);
  });
  t.after(() => fake.close());
  const started = performance.now();
  await generate(Array.from({ length: 8 }, (_, i) => `q${i}`), { baseUrl: fake.baseUrl, model: 'm', concurrency: 8, requestsPerSecond: 20, ...fast });
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 7 * 50 - 20, `8 requests at 20/s take at least 350 ms, took ${elapsed.toFixed(0)}`);
  assert.equal(starts.length, 8);
  // The slots themselves, without the network: 1/rate apart.
  const slots = spacedSlots(50);
  const granted: number[] = [];
  const first = performance.now();
  await Promise.all(Array.from({ length: 5 }, async () => (await slots(), granted.push(performance.now()))));
  // The i-th grant comes no earlier than i × 20 ms after the first request (timers may fire late, never early).
  granted.sort((a, b) => a - b).forEach((at, i) => assert.ok(at - first >= i * 20 - 2, `grant ${i} at ${(at - first).toFixed(1)} ms`));
  await assert.rejects(generate(['x'], { baseUrl: fake.baseUrl, model: 'm', requestsPerSecond: 0 }), /requestsPerSecond must be a positive number/);
  const slot = spacedSlots(1);
  const abort = new AbortController();
  assert.equal(await slot(abort.signal), true);
  const waiting = slot(abort.signal);
  abort.abort();
  assert.equal(await waiting, false, 'a cancelled run stops waiting for its slot');
});

test('the generation config: every key, 0 = no rate limit, errors name file, line and key', () => {
  const file = 'generate.ini';
  const text = '; vLLM with tensor parallelism\n[generate]\nbase_url = http://gpu-host:8000/v1\nmodel = exaone\nconcurrency = 128 ; in flight\nrequests_per_second = 0\ntimeout = 90\nretries = 6\nmax_tokens = 256\ntemperature = 0\napi_key_env = VLLM_KEY\n';
  assert.deepEqual(parseGenerationConfig(text, file), {
    baseUrl: 'http://gpu-host:8000/v1',
    model: 'exaone',
    concurrency: 128,
    timeoutSeconds: 90,
    retries: 6,
    maxTokens: 256,
    temperature: 0,
    apiKeyEnv: 'VLLM_KEY',
  });
  assert.equal(parseGenerationConfig('[generate]\nrequests_per_second = 12.5\n', file).requestsPerSecond, 12.5);
  const bad: Array<[string, RegExp]> = [
    ['[generate]\nconcurency = 4\n', /^generate\.ini:2, field "concurency": unknown key/],
    ['[generate]\nmodel = m\nconcurrency = 0\n', /^generate\.ini:3, field "concurrency": expected an integer >= 1, not "0"/],
    ['[generate]\nretries = -1\n', /field "retries": expected an integer >= 0/],
    ['[generate]\ntimeout = soon\n', /field "timeout": expected a positive number, not "soon"/],
    ['[generate]\nrequests_per_second = -3\n', /field "requests_per_second": expected a number >= 0/],
    ['[generation]\nmodel = m\n', /unknown section \[generation\]/],
    ['model = m\n', /field "model": settings go under a \[generate\] section/],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => parseGenerationConfig(input, file), (error: unknown) => error instanceof InputError && message.test(error.message), input);
  }
});

test('hanlab generate --config: the endpoint and the concurrency come from the file, options given win', async (t) => {
  const dir = tempDir(t);
  let inFlight = 0;
  let maxInFlight = 0;
  const fake = await startServer(async (request, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await delay(30);
    inFlight--;
    answer(res, `${request.body.model}:${request.prompt}`);
  });
  t.after(() => fake.close());
  const data = path.join(dir, 'p.jsonl');
  writeFileSync(data, Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `문장 ${i}` })).join('\n') + '\n');
  const config = path.join(dir, 'generate.ini');
  writeFileSync(config, `[generate]\nbase_url = ${fake.baseUrl}\nmodel = from-config\nconcurrency = 6\n`);
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/hanlab.mjs', 'generate', '--config', config, '--data', data, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.once('close', (code) => resolve({ code, stderr }));
    });
  const first = await run(['--out', path.join(dir, 'a.jsonl')]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(maxInFlight, 6);
  assert.match(readFileSync(path.join(dir, 'a.jsonl'), 'utf8'), /"answer":"from-config:문장 0"/);
  maxInFlight = 0;
  const second = await run(['--out', path.join(dir, 'b.jsonl'), '--model', 'from-flag', '--concurrency', '3']);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(maxInFlight, 3);
  assert.match(readFileSync(path.join(dir, 'b.jsonl'), 'utf8'), /"model":"from-flag"/);
  writeFileSync(config, '[generate]\nconcurrency = lots\n');
  const broken = await run(['--out', path.join(dir, 'c.jsonl')]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /^hanlab generate: .*generate\.ini:2, field "concurrency": expected an integer >= 1, not "lots"\n$/);
});
