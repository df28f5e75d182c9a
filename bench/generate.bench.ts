/**
 * Generation at scale: how many requests per second `generate()` drives against an OpenAI-compatible
 * server that answers instantly (a Node http server in its own process, so its CPU is not ours), with
 * the resumable answer cache on (every answer fsync'd before it counts) and off. The baseline, in the
 * same run, is a bare loop of the same number of `fetch` calls at the same concurrency: the ratio says
 * what the client machinery (retries, cache, ordering) costs on top of HTTP itself.
 *
 * Goal (issue 16): at least 200 requests/s of client headroom, so a vLLM or SGLang server with tensor
 * parallelism is never waiting for hanlab. Ends with one JSON line; report the load average with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../lib/llm/generate.js';

const PROMPTS = Number(process.env.HANLAB_BENCH_PROMPTS ?? 3000);
const CONCURRENCY = Number(process.env.HANLAB_BENCH_CONCURRENCY ?? 32);
const REPS = Math.max(1, Number(process.env.HANLAB_BENCH_REPS ?? 3));

/** The instant server, run as a child process: `node generate.bench.ts --serve` prints its port. */
function serve(): void {
  void import('node:http').then(({ createServer }) => {
    const body = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: '{"PS": ["이순신"], "LC": ["한산도"]}' }, finish_reason: 'stop' }] });
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function bareFetch(baseUrl: string, prompts: string[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < prompts.length) {
      const prompt = prompts[next++];
      const response = await fetch(`${baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: prompt }], stream: false }),
      });
      JSON.parse(await response.text());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (prompts.length / (performance.now() - started)) * 1000;
}

async function viaGenerate(baseUrl: string, prompts: string[], cachePath?: string): Promise<number> {
  const started = performance.now();
  const run = await generate(prompts, { baseUrl, model: 'bench', concurrency: CONCURRENCY, cachePath, retries: 0 });
  if (run.stats.generated !== prompts.length) throw new Error(`expected ${prompts.length} generated answers, got ${run.stats.generated}`);
  return (prompts.length / (performance.now() - started)) * 1000;
}

async function main(): Promise<void> {
  const server: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => server.once('message', (message) => resolve((message as { port: number }).port)));
  const baseUrl = `http://127.0.0.1:${port}/v1`;
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-generate-'));
  const load = loadavg()[0];
  const bare: number[] = [];
  const uncached: number[] = [];
  const cached: number[] = [];
  try {
    // Warm-up: connections, JIT, both paths.
    await bareFetch(baseUrl, Array.from({ length: 500 }, (_, i) => `warm ${i}`));
    await viaGenerate(baseUrl, Array.from({ length: 500 }, (_, i) => `warm generate ${i}`));
    for (let rep = 0; rep < REPS; rep++) {
      // Distinct prompts per run, so the cache never answers: every answer is a request.
      const prompts = (tag: string) => Array.from({ length: PROMPTS }, (_, i) => `${tag}-${rep} 문장 ${i}: 이순신은 한산도에서 싸웠다.`);
      // The order rotates per round: on a shared machine a busy moment should not always hit one side.
      const measures = [
        async () => bare.push(await bareFetch(baseUrl, prompts('bare'))),
        async () => uncached.push(await viaGenerate(baseUrl, prompts('nocache'))),
        async () => cached.push(await viaGenerate(baseUrl, prompts('cache'), path.join(work, `answers-${rep}.cache.jsonl`))),
      ];
      for (let i = 0; i < measures.length; i++) await measures[(i + rep) % measures.length]();
      console.log(`round ${rep + 1}: bare fetch ${bare[rep].toFixed(0)}/s, generate ${uncached[rep].toFixed(0)}/s, generate + fsync'd cache ${cached[rep].toFixed(0)}/s`);
    }
  } finally {
    server.kill();
    rmSync(work, { recursive: true, force: true });
  }
  const figures = {
    prompts: PROMPTS,
    concurrency: CONCURRENCY,
    reps: REPS,
    load_average_1m: Number(load.toFixed(2)),
    bare_fetch_rps: Math.round(median(bare)),
    generate_rps: Math.round(median(uncached)),
    generate_cached_rps: Math.round(median(cached)),
    generate_vs_bare: Number((median(uncached) / median(bare)).toFixed(3)),
    generate_cached_vs_bare: Number((median(cached) / median(bare)).toFixed(3)),
    goal_rps: 200,
    meets_goal: median(cached) >= 200,
  };
  console.log(`generate with the fsync'd cache: ${figures.generate_cached_rps} requests/s (goal ≥ 200), ${figures.generate_cached_vs_bare}× a bare fetch loop; load ${figures.load_average_1m}`);
  console.log(JSON.stringify(figures));
}

if (process.argv.includes('--serve')) serve();
else await main();
