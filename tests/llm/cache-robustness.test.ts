/**
 * Issue 14's generation faults: an answer cache torn inside a multibyte character, two runs on one
 * cache, a reply with no choices, and ids too large for a double. Each reproduces the fault and
 * expects the right answer, or one clear line with exit 2, or nothing lost and nothing left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { AnswerCache, CacheLockedError, answerKey, promptHash, type CachedAnswer } from '../../lib/llm/answer-cache.js';
import { generate, GenerationError } from '../../lib/llm/generate.js';
import { answer, startServer } from './fake-server.js';

const fast = { backoffBaseMs: 1, backoffMaxMs: 5, random: () => 0.5 };
const settings = { model: 'm', temperature: 0, maxTokens: 512 };
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function entry(prompt: string, text: string): CachedAnswer {
  const hash = promptHash([{ role: 'user', content: prompt }]);
  return { key: answerKey(settings, hash), promptHash: hash, ...settings, answer: text, finishReason: 'stop', createdAt: '2026-01-01T00:00:00Z' };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hanlab(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/hanlab.mjs', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a cache torn at every byte of a Korean line: exactly the torn bytes are cut, earlier lines stay whole, the next run opens it', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'cache.jsonl');
  const complete = [entry('가', '{"PS": ["이순신"]}'), entry('나', '서울특별시 종로구')].map((e) => JSON.stringify(e) + '\n').join('');
  const tornLine = Buffer.from(JSON.stringify(entry('다', '한산도 대첩 — 학익진으로 왜군을 물리쳤다')), 'utf8');
  let insideCharacter = 0;
  for (let cut = 1; cut < tornLine.length; cut++) {
    // A cut after a lead or continuation byte of a 3-byte Hangul syllable tears the character.
    if ((tornLine[cut] & 0xc0) === 0x80) insideCharacter++;
    writeFileSync(file, Buffer.concat([Buffer.from(complete, 'utf8'), tornLine.subarray(0, cut)]));
    const cache = AnswerCache.open(file);
    assert.equal(cache.recovery.tornBytes, cut, `cut at byte ${cut}`);
    assert.equal(cache.size, 2);
    assert.equal(readFileSync(file, 'utf8'), complete, `cut at byte ${cut}: the earlier lines and their newlines are kept`);
    const again = AnswerCache.open(file);
    assert.equal(again.recovery.tornBytes, 0);
    assert.equal(again.size, 2);
  }
  assert.ok(insideCharacter > 30, 'the cuts include many inside a Hangul syllable');
});

test('property: any cache file cut anywhere opens, keeps every complete line, and takes appends', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'cache.jsonl');
  const hangul = fc.string({ unit: fc.integer({ min: 0xac00, max: 0xd7a3 }).map((code) => String.fromCharCode(code)), minLength: 1, maxLength: 40 });
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(hangul, hangul), { minLength: 1, maxLength: 6 }), fc.nat(), async (pairs, seed) => {
      const lines = pairs.map(([prompt, text], i) => JSON.stringify(entry(`${i}:${prompt}`, text)) + '\n');
      const bytes = Buffer.from(lines.join(''), 'utf8');
      const cut = seed % (bytes.length + 1);
      writeFileSync(file, bytes.subarray(0, cut));
      const cache = AnswerCache.open(file);
      const whole = Buffer.from(lines.join(''), 'utf8').subarray(0, cut).toString('latin1').split('\n').length - 1;
      // A last line cut just before its newline is complete JSON: it is kept (and its newline written).
      const kept = cache.size;
      assert.ok(kept === whole || kept === whole + 1);
      await cache.append(entry('새 질문', '새 답'));
      await cache.close();
      const reopened = AnswerCache.open(file);
      assert.equal(reopened.recovery.tornBytes, 0);
      assert.equal(reopened.size, kept + 1);
    }),
    { numRuns: 150 },
  );
});

test('generate after a tear inside a Hangul syllable asks only the torn prompt again', async (t) => {
  const dir = tempDir(t);
  const cachePath = path.join(dir, 'cache.jsonl');
  const full = [entry('가', '저장된 답 가'), entry('나', '저장된 답 나')].map((e) => JSON.stringify(e) + '\n').join('');
  const third = Buffer.from(JSON.stringify(entry('다', '저장된 답 다')), 'utf8');
  const cut = third.indexOf(Buffer.from('답', 'utf8')) + 1; // inside 답
  writeFileSync(cachePath, Buffer.concat([Buffer.from(full), third.subarray(0, cut)]));
  const fake = await startServer((request, res) => answer(res, `새 답 ${request.prompt}`));
  t.after(() => fake.close());
  const run = await generate(['가', '나', '다'], { baseUrl: fake.baseUrl, model: 'm', cachePath, ...fast });
  assert.deepEqual(run.answers.map((a) => a.answer), ['저장된 답 가', '저장된 답 나', '새 답 다']);
  assert.equal(run.stats.tornCacheBytes, cut);
  assert.deepEqual(fake.requests.map((r) => r.prompt), ['다']);
});

test('two runs on one cache: the second is refused at once, the first loses nothing, the lock goes with the first', async (t) => {
  const dir = tempDir(t);
  const cachePath = path.join(dir, 'cache.jsonl');
  const fake = await startServer(async (request, res) => {
    await delay(20);
    answer(res, `답 ${request.prompt}`);
  });
  t.after(() => fake.close());
  const prompts = Array.from({ length: 20 }, (_, i) => `질문 ${i}`);
  const first = generate(prompts, { baseUrl: fake.baseUrl, model: 'm', cachePath, concurrency: 2, ...fast });
  await delay(50);
  await assert.rejects(generate(prompts, { baseUrl: fake.baseUrl, model: 'm', cachePath, ...fast }), (error: unknown) => {
    assert.ok(error instanceof CacheLockedError);
    assert.match(error.message, new RegExp(`is in use by another hanlab generate \\(pid ${process.pid}, since .*\\): two runs on one cache would ask the same prompts twice`));
    return true;
  });
  const run = await first;
  assert.equal(run.stats.generated, 20);
  assert.equal(fake.requests.length, 20, 'every prompt asked once');
  assert.equal(existsSync(`${cachePath}.lock`), false, 'the lock is released');
  // A run that fails releases it too.
  const failing = await startServer((_request, res) => {
    res.writeHead(400);
    res.end('{}');
  });
  t.after(() => failing.close());
  await assert.rejects(generate(['새 질문'], { baseUrl: failing.baseUrl, model: 'm', cachePath, ...fast }), GenerationError);
  assert.equal(existsSync(`${cachePath}.lock`), false);
});

test('hanlab generate twice on one output: the second exits 2 with one line; every prompt is asked once', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'prompts.jsonl');
  writeFileSync(data, Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `q${i}`, prompt: `문장 ${i}` })).join('\n') + '\n');
  const counts = new Map<string, number>();
  // The first run is held busy until the second has finished, however slowly the machine starts it.
  let secondDone!: () => void;
  const held = new Promise<void>((resolve) => (secondDone = resolve));
  const fake = await startServer(async (request, res) => {
    counts.set(request.prompt, (counts.get(request.prompt) ?? 0) + 1);
    await held;
    answer(res, '{"PS": []}');
  });
  t.after(() => fake.close());
  const out = path.join(dir, 'answers.jsonl');
  const args = ['generate', '--data', data, '--base-url', fake.baseUrl, '--model', 'm', '--out', out, '--concurrency', '2'];
  const first = hanlab(args);
  while (!existsSync(`${out}.cache.jsonl.lock`)) await delay(20);
  const second = await hanlab(args);
  secondDone();
  assert.equal(second.code, 2);
  assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
  assert.match(second.stderr, /^hanlab generate: .*answers\.jsonl\.cache\.jsonl is in use by another hanlab generate \(pid \d+, since /);
  const done = await first;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(counts.size, 30);
  assert.deepEqual([...new Set(counts.values())], [1], 'no prompt asked twice');
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 30);
});

test('a run killed -9 leaves its lock; the next run takes it over and says so', async (t) => {
  const dir = tempDir(t);
  const cachePath = path.join(dir, 'cache.jsonl');
  const holder = spawnSync(
    process.execPath,
    ['--import', 'tsx', '-e', `import('./lib/llm/answer-cache.ts').then((m) => { m.AnswerCache.open(${JSON.stringify(cachePath)}, { lock: true }); process.kill(process.pid, 'SIGKILL'); })`],
    { encoding: 'utf8' },
  );
  assert.equal(holder.signal, 'SIGKILL');
  const held = JSON.parse(readFileSync(`${cachePath}.lock`, 'utf8'));
  const fake = await startServer((_request, res) => answer(res, 'ok'));
  t.after(() => fake.close());
  const run = await generate(['질문'], { baseUrl: fake.baseUrl, model: 'm', cachePath, ...fast });
  assert.equal(run.stats.staleLockPid, held.pid);
  assert.equal(existsSync(`${cachePath}.lock`), false);
});

test('a reply with no choices is retried, within the retry limit', async (t) => {
  let calls = 0;
  const fake = await startServer((request, res) => {
    calls++;
    if (request.prompt === '항상 빈 답' || calls <= 2) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[]}');
      return;
    }
    answer(res, '이제 답');
  });
  t.after(() => fake.close());
  const run = await generate(['빈 답 두 번'], { baseUrl: fake.baseUrl, model: 'm', retries: 3, ...fast });
  assert.equal(run.answers[0].answer, '이제 답');
  assert.equal(run.answers[0].attempts, 3);
  const before = fake.requests.length;
  await assert.rejects(generate(['항상 빈 답'], { baseUrl: fake.baseUrl, model: 'm', retries: 2, ...fast }), (error: unknown) => {
    assert.ok(error instanceof GenerationError);
    assert.match(error.message, /no choices \("choices": \[\]\)/);
    return true;
  });
  assert.equal(fake.requests.length - before, 3, 'the first try and two retries, no more');
});

test('hanlab generate: ids above 2^53 (and every numeric id) are written as the text read', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'ids.jsonl');
  writeFileSync(
    data,
    ['{"id": 123456789012345678901234567890, "prompt": "가"}', '{"id": 9007199254740993, "prompt": "나"}', '{"id": 17, "prompt": "다"}', '{"id": 1.50, "prompt": "라"}', '{"id": "abc", "prompt": "마"}', '{"prompt": "바"}'].join('\n') + '\n',
  );
  const fake = await startServer((request, res) => answer(res, request.prompt));
  t.after(() => fake.close());
  const out = path.join(dir, 'out.jsonl');
  const result = await hanlab(['generate', '--data', data, '--base-url', fake.baseUrl, '--model', 'm', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  const ids = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line).id);
  assert.deepEqual(ids, ['123456789012345678901234567890', '9007199254740993', '17', '1.50', 'abc', '6']);
});

test('hanlab generate: a server that only ever sends no choices ends in one line, exit 2, with the resume hint', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'p.jsonl');
  writeFileSync(data, '{"prompt": "가"}\n');
  const fake = await startServer((_request, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[]}');
  });
  t.after(() => fake.close());
  const result = await hanlab(['generate', '--data', data, '--base-url', fake.baseUrl, '--model', 'm', '--out', path.join(dir, 'o.jsonl'), '--retries', '1']);
  assert.equal(result.code, 2);
  const lines = result.stderr.trim().split('\n').filter((line) => !line.startsWith('retry '));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^hanlab generate: 1 of 1 prompts got no answer \(first failure: prompt 0: .*no choices.*\)\. 0 answers are saved in .*; run the same command again to resume\.$/);
  assert.equal(fake.requests.length, 2);
});
