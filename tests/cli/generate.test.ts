import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function hanlab(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('hanlab generate: chat JSONL and KorMedMCQA CSV against a loopback server, resumable, and its MCQA output feeds eval mcqa', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-generate-cli-'));
  const seen: Array<{ messages: Array<{ role: string; content: string }>; auth?: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const request = JSON.parse(body);
      seen.push({ messages: request.messages, auth: req.headers.authorization });
      const last: string = request.messages[request.messages.length - 1].content;
      if (request.model === 'missing-model') {
        res.writeHead(404);
        res.end('{"error": "model not found"}');
        return;
      }
      // MCQA prompts get "정답: C"; chat prompts get an echo.
      const content = last.endsWith('정답:') ? (last.includes('비타민') ? '정답: C' : 'A') : `{"PS": ["${last.slice(0, 3)}"]}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  try {
    const chat = path.join(dir, 'chat.jsonl');
    writeFileSync(
      chat,
      [
        { id: 'klue-1', messages: [{ role: 'system', content: '개체명 인식기' }, { role: 'user', content: '이순신은 조선의 장군이다.' }, { role: 'assistant', content: '{"PS": ["이순신"]}' }] },
        { prompt: '세종대왕이 한글을 만들었다.' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const chatOut = path.join(dir, 'chat-answers.jsonl');
    const first = await hanlab(['generate', '--data', chat, '--base-url', baseUrl, '--model', 'exaone', '--out', chatOut, '--api-key-env', 'HANLAB_TEST_KEY'], { HANLAB_TEST_KEY: 'sk-test' });
    assert.equal(first.code, 0, first.stderr);
    const lines = readFileSync(chatOut, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(lines.map((l) => [l.id, l.query, l.answer, l.reference, l.cached]), [
      ['klue-1', '이순신은 조선의 장군이다.', '{"PS": ["이순신"]}', '{"PS": ["이순신"]}', false],
      ['2', '세종대왕이 한글을 만들었다.', '{"PS": ["세종대"]}', undefined, false],
    ]);
    assert.deepEqual(seen[0].messages.map((m) => m.role).sort(), ['system', 'user']); // the reference answer is not sent
    assert.equal(seen[0].auth, 'Bearer sk-test');
    assert.match(first.stderr, /2 answers \(2 generated, 0 from the cache, 0 retries\)/);

    const again = await hanlab(['generate', '--data', chat, '--base-url', baseUrl, '--model', 'exaone', '--out', chatOut]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(seen.length, 2, 'the rerun asked nothing');
    assert.match(again.stderr, /2 answers \(0 generated, 2 from the cache/);

    const csv = path.join(dir, 'doctor-test.csv');
    writeFileSync(
      csv,
      'subject,year,period,q_number,question,A,B,C,D,E,answer\n' +
        'doctor,2024,1,1,"65세 여자가 혀의 통증으로 내원하였다. MCV가 증가하였다. 진단을 위한 추가 검사는?",항핵항체(ANA),류마티스인자(RF),비타민B12(cobalamin),갑상샘자극호르몬(TSH),알칼리인산분해효소(ALP),3\n' +
        'doctor,2024,1,2,"급성 충수염에서 가장 흔한 첫 증상은?",명치 통증,발열,설사,혈뇨,황달,1\n',
    );
    const mcqaOut = path.join(dir, 'mcqa-answers.jsonl');
    const mcqa = await hanlab(['generate', '--data', csv, '--base-url', baseUrl, '--model', 'gemma', '--out', mcqaOut, '--concurrency', '2']);
    assert.equal(mcqa.code, 0, mcqa.stderr);
    const mcqaLines = readFileSync(mcqaOut, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(mcqaLines.map((l) => [l.subset, l.gold, l.answer]), [
      ['doctor', 'C', '정답: C'],
      ['doctor', 'A', 'A'],
    ]);
    const prompt = seen[2].messages[0].content;
    assert.ok(prompt.startsWith('질문을 보고, 제시된 [A-E] 중 정답을 맞추세요.'), prompt);
    assert.match(prompt, /\nC\. 비타민B12\(cobalamin\)\n/);
    const scored = await hanlab(['eval', 'mcqa', '--records', mcqaOut]);
    assert.equal(scored.code, 0, scored.stderr);
    assert.match(scored.stdout, /\| doctor \| 2 \| 2 \| 0 \| 100\.00% \|/);

    const failing = await hanlab(['generate', '--data', chat, '--base-url', baseUrl, '--model', 'missing-model', '--out', path.join(dir, 'x.jsonl')]);
    assert.equal(failing.code, 2);
    assert.match(failing.stderr, /HTTP 404/);
    const badData = path.join(dir, 'bad.jsonl');
    writeFileSync(badData, '{"prompt": "ok"}\n{"messages": [{"role": "robot", "content": "x"}]}\n');
    const bad = await hanlab(['generate', '--data', badData, '--base-url', baseUrl, '--model', 'm', '--out', path.join(dir, 'y.jsonl')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.jsonl:2, field "messages\[0\]"/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
