import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answer, startServer } from './fake-server.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate, GenerationError, backoffDelay } from '../../lib/llm/generate.js';
import { AnswerCache, answerKey, promptHash } from '../../lib/llm/answer-cache.js';
import { parseRetryAfter, parseChatCompletion, ChatCompletionError } from '../../lib/llm/openai-client.js';
import { InputError } from '../../lib/errors.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'hanlab-generate-'));
}

const fast = { backoffBaseMs: 1, backoffMaxMs: 5, random: () => 0.5 };

test('answers come back in input order, identical prompts are asked once, the request is OpenAI-shaped', async () => {
  const fake = await startServer(async (request, res) => {
    // Later prompts answer sooner, so completion order differs from input order.
    await delay(Number(request.prompt.split('-')[1]) % 2 === 0 ? 20 : 1);
    answer(res, `답:${request.prompt}`);
  });
  try {
    const prompts = ['질문-0', '질문-1', '질문-2', '질문-1', [{ role: 'system' as const, content: '시스템' }, { role: 'user' as const, content: '질문-4' }]];
    const run = await generate(prompts, { baseUrl: fake.baseUrl + '/', model: 'gemma', temperature: 0.2, maxTokens: 64, concurrency: 3, apiKey: 'k', ...fast });
    assert.deepEqual(run.answers.map((a) => a.answer), ['답:질문-0', '답:질문-1', '답:질문-2', '답:질문-1', '답:질문-4']);
    assert.deepEqual(run.answers.map((a) => a.index), [0, 1, 2, 3, 4]);
    assert.equal(fake.requests.length, 4);
    assert.equal(run.stats.distinctPrompts, 4);
    assert.equal(run.stats.generated, 4);
    assert.equal(run.stats.fromCache, 1);
    const first = fake.requests.find((r) => r.prompt === '질문-4');
    assert.ok(first);
    assert.equal(first.url, '/v1/chat/completions');
    assert.equal(first.headers.authorization, 'Bearer k');
    assert.deepEqual(first.body, {
      model: 'gemma',
      stream: false,
      temperature: 0.2,
      max_tokens: 64,
      messages: [{ role: 'system', content: '시스템' }, { role: 'user', content: '질문-4' }],
    });
  } finally {
    await fake.close();
  }
});

test('the concurrency limit is respected', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const fake = await startServer(async (request, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await delay(50);
    inFlight--;
    answer(res, request.prompt);
  });
  try {
    const prompts = Array.from({ length: 12 }, (_, i) => `p${i}`);
    const run = await generate(prompts, { baseUrl: fake.baseUrl, model: 'm', concurrency: 3, ...fast });
    assert.equal(run.answers.length, 12);
    assert.equal(maxInFlight, 3);
    assert.equal(fake.requests.length, 12);
  } finally {
    await fake.close();
  }
});

test('a slow response times out; with a retry left the next attempt succeeds', async () => {
  let calls = 0;
  const fake = await startServer(async (_request, res) => {
    calls++;
    if (calls === 1) await delay(1200);
    answer(res, 'ok');
  });
  try {
    await assert.rejects(
      generate(['느린 질문'], { baseUrl: fake.baseUrl, model: 'm', timeoutMs: 300, retries: 0, ...fast }),
      (error: unknown) => {
        assert.ok(error instanceof GenerationError);
        assert.equal(error.failures[0].error.kind, 'timeout');
        assert.match(error.message, /300 ms/);
        return true;
      },
    );
    calls = 0;
    const run = await generate(['느린 질문'], { baseUrl: fake.baseUrl, model: 'm', timeoutMs: 300, retries: 1, ...fast });
    assert.equal(run.answers[0].answer, 'ok');
    assert.equal(run.answers[0].attempts, 2);
    assert.equal(run.stats.retries, 1);
  } finally {
    await fake.close();
  }
});

test('429 and 500 are retried with backoff, and Retry-After is honoured', async () => {
  const seen = new Map<string, number>();
  const fake = await startServer((request, res) => {
    const n = (seen.get(request.prompt) ?? 0) + 1;
    seen.set(request.prompt, n);
    if (request.prompt === 'rate' && n === 1) {
      res.writeHead(429, { 'retry-after': '5' });
      res.end('{"error":"slow down"}');
    } else if (request.prompt === 'flaky' && n <= 2) {
      res.writeHead(n === 1 ? 500 : 503);
      res.end('overloaded');
    } else if (request.prompt === 'cut' && n === 1) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices": [{"mess'); // a body cut short
    } else {
      answer(res, `ok:${request.prompt}`);
    }
  });
  try {
    const retries: Array<{ index: number; delayMs: number; status?: number }> = [];
    const started = Date.now();
    const run = await generate(['rate', 'flaky', 'cut'], {
      baseUrl: fake.baseUrl,
      model: 'm',
      retries: 3,
      maxRetryAfterMs: 150,
      onRetry: (event) => retries.push({ index: event.index, delayMs: event.delayMs, status: event.error.status }),
      ...fast,
    });
    assert.deepEqual(run.answers.map((a) => a.answer), ['ok:rate', 'ok:flaky', 'ok:cut']);
    assert.deepEqual(run.answers.map((a) => a.attempts), [2, 3, 2]);
    assert.equal(run.stats.retries, 4);
    const rate = retries.find((r) => r.index === 0);
    assert.deepEqual(rate, { index: 0, delayMs: 150, status: 429 }); // Retry-After 5 s, capped at 150 ms
    assert.ok(Date.now() - started >= 140, 'waited for Retry-After');
    assert.deepEqual(retries.filter((r) => r.index === 1).map((r) => r.status), [500, 503]);
  } finally {
    await fake.close();
  }
});

test('a 400 is not retried and the error names the prompt and status', async () => {
  const fake = await startServer((_request, res) => {
    res.writeHead(400);
    res.end('{"error":"bad model"}');
  });
  try {
    await assert.rejects(generate(['a'], { baseUrl: fake.baseUrl, model: 'nope', retries: 3, ...fast }), (error: unknown) => {
      assert.ok(error instanceof GenerationError);
      assert.equal(error.failures[0].error.status, 400);
      assert.match(error.message, /prompt 0: .*HTTP 400/);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  } finally {
    await fake.close();
  }
});

test('a server that dies mid-run: the rerun resumes from the cache and asks nothing twice', async () => {
  const dir = tempDir();
  const cachePath = path.join(dir, 'answers.cache.jsonl');
  const prompts = Array.from({ length: 10 }, (_, i) => `문항 ${i}`);
  const answeredByFirst: string[] = [];
  const first = await startServer(async (request, res, server) => {
    if (answeredByFirst.length >= 4) {
      // The server dies: drop this connection and every other one, stop listening.
      res.socket?.destroy();
      server.close();
      server.closeAllConnections();
      return;
    }
    answeredByFirst.push(request.prompt);
    answer(res, `첫 서버:${request.prompt}`);
  });
  try {
    await assert.rejects(
      generate(prompts, { baseUrl: first.baseUrl, model: 'm', concurrency: 2, retries: 2, cachePath, ...fast }),
      (error: unknown) => error instanceof GenerationError && error.failures[0].error.kind === 'network' && /resume/.test(error.message),
    );
  } finally {
    await first.close();
  }
  // What the client received and saved (a response the dying server wrote but the client never read
  // is not an answer; it may be asked again).
  const savedHashes = new Set(readFileSync(cachePath, 'utf8').trim().split('\n').map((line) => JSON.parse(line).promptHash as string));
  const saved = prompts.filter((p) => savedHashes.has(promptHash([{ role: 'user', content: p }])));
  assert.ok(saved.length >= 1 && saved.length <= 4, `saved ${saved.length}`);
  assert.ok(saved.every((p) => answeredByFirst.includes(p)));

  const second = await startServer((request, res) => answer(res, `둘째 서버:${request.prompt}`));
  try {
    const run = await generate(prompts, { baseUrl: second.baseUrl, model: 'm', concurrency: 2, cachePath, ...fast });
    const askedAgain = second.requests.map((r) => r.prompt);
    assert.deepEqual(askedAgain.filter((p) => saved.includes(p)), [], 'no saved answer asked again');
    assert.equal(askedAgain.length + saved.length, prompts.length, 'no prompt lost');
    assert.equal(new Set(askedAgain).size, askedAgain.length, 'no prompt asked twice by the rerun');
    assert.equal(run.stats.fromCache, saved.length);
    run.answers.forEach((a, i) => {
      const server = saved.includes(prompts[i]) ? '첫 서버' : '둘째 서버';
      assert.equal(a.answer, `${server}:${prompts[i]}`);
      assert.equal(a.fromCache, server === '첫 서버');
    });
    // A third run is answered wholly from the cache.
    const third = await generate(prompts, { baseUrl: second.baseUrl, model: 'm', cachePath, ...fast });
    assert.equal(third.stats.fromCache, 10);
    assert.equal(second.requests.length, askedAgain.length);
    // Another model or temperature is another answer.
    await generate(prompts.slice(0, 1), { baseUrl: second.baseUrl, model: 'm', temperature: 0.7, cachePath, ...fast });
    assert.equal(second.requests.length, askedAgain.length + 1);
  } finally {
    await second.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn last cache line is cut off on reload and only its prompt is asked again', async () => {
  const dir = tempDir();
  const cachePath = path.join(dir, 'cache.jsonl');
  const settings = { model: 'm', temperature: 0, maxTokens: 512 };
  const entry = (prompt: string) => {
    const hash = promptHash([{ role: 'user', content: prompt }]);
    return { key: answerKey(settings, hash), promptHash: hash, ...settings, answer: `저장:${prompt}`, finishReason: 'stop', createdAt: '2026-01-01T00:00:00Z' };
  };
  const full = JSON.stringify(entry('가')) + '\n' + JSON.stringify(entry('나')) + '\n';
  const torn = JSON.stringify(entry('다')).slice(0, 40);
  writeFileSync(cachePath, full + torn);
  const fake = await startServer((request, res) => answer(res, `새:${request.prompt}`));
  try {
    const run = await generate(['가', '나', '다'], { baseUrl: fake.baseUrl, model: 'm', cachePath, ...fast });
    assert.deepEqual(run.answers.map((a) => a.answer), ['저장:가', '저장:나', '새:다']);
    assert.equal(run.stats.tornCacheBytes, Buffer.byteLength(torn));
    assert.deepEqual(fake.requests.map((r) => r.prompt), ['다']);
    const lines = readFileSync(cachePath, 'utf8').split('\n');
    assert.equal(lines.length, 4); // three complete lines and the final empty string
    lines.slice(0, 3).forEach((line) => JSON.parse(line));
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a complete last line without its newline is kept; a bad line in the middle is an error naming it', () => {
  const dir = tempDir();
  try {
    const cachePath = path.join(dir, 'cache.jsonl');
    const record = { key: 'k1', promptHash: 'h', model: 'm', temperature: 0, maxTokens: 1, answer: 'a', finishReason: null, createdAt: 't' };
    writeFileSync(cachePath, JSON.stringify(record));
    const cache = AnswerCache.open(cachePath);
    assert.equal(cache.size, 1);
    assert.equal(cache.recovery.tornBytes, 0);
    assert.ok(readFileSync(cachePath, 'utf8').endsWith('}\n'));
    appendFileSync(cachePath, 'not json\n' + JSON.stringify({ ...record, key: 'k2' }) + '\n');
    assert.throws(() => AnswerCache.open(cachePath), (error: unknown) => error instanceof InputError && error.line === 2);
    writeFileSync(cachePath, JSON.stringify({ ...record, answer: 7 }) + '\n');
    assert.throws(() => AnswerCache.open(cachePath), (error: unknown) => error instanceof InputError && error.field === 'answer');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cancelling the run stops it and keeps what was answered', async () => {
  const dir = tempDir();
  const cachePath = path.join(dir, 'cache.jsonl');
  const controller = new AbortController();
  const fake = await startServer(async (request, res) => {
    if (request.prompt === 'q2') controller.abort();
    await delay(5);
    answer(res, request.prompt);
  });
  try {
    await assert.rejects(
      generate(['q0', 'q1', 'q2', 'q3', 'q4'], { baseUrl: fake.baseUrl, model: 'm', concurrency: 1, cachePath, signal: controller.signal, ...fast }),
      GenerationError,
    );
    assert.equal(readFileSync(cachePath, 'utf8').trim().split('\n').length, 2);
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Retry-After parsing, backoff growth and response parsing', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter('0.5'), 500);
  assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(null), undefined);
  assert.deepEqual([1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, 100, 1000, () => 1)), [100, 200, 400, 800, 1000]);
  assert.deepEqual([1, 2, 3].map((attempt) => backoffDelay(attempt, 100, 1000, () => 0)), [50, 100, 200]);
  assert.deepEqual(parseChatCompletion('{"choices":[{"message":{"content":"정답: C"},"finish_reason":"length"}]}'), { content: '정답: C', finishReason: 'length' });
  assert.throws(() => parseChatCompletion('{"choices":[]}'), (error: unknown) => error instanceof ChatCompletionError && error.retryable && /no choices/.test(error.message));
});
