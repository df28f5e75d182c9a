/**
 * `hanlab lmeval` speed: questions per second of the lm-eval runner (prompt rendering, requests,
 * filters, scoring) on lm-eval's KorMedMCQA 3.0 task (doctor, 2-shot), on the tiny random GGUF model
 * through the local engine. The baseline, in the same run, is a bare loop of the engine's `complete()`
 * on the same prompts with the same settings: the ratio says what the runner costs on top of the
 * model. A scripted model that answers instantly gives the runner's own ceiling. Small by design
 * (HANLAB_BENCH_QUESTIONS, default 8, answers capped at HANLAB_BENCH_MAX_TOKENS, default 32); ends
 * with one JSON line; report the load average with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { LanguageModel } from '../lib/llm/language-model.js';
import { buildTaskRequests, runLmevalTask } from '../lib/llm/lmeval/runner.js';
import { loadTaskYaml, parseTaskConfig } from '../lib/llm/lmeval/task-config.js';
import { loadLmevalTaskData } from '../lib/llm/lmeval/task-data.js';
import { shippedTasksDir } from '../lib/llm/lmeval/task-index.js';
import { openLocalModel } from '../lib/llm/local-engine.js';
import { makeTinyGguf } from '../scripts/make-tiny-gguf.js';

const QUESTIONS = Number(process.env.HANLAB_BENCH_QUESTIONS ?? 8);
// The random model seldom writes one of the task's `until` strings, so every answer would run to the
// task's 1,024 tokens: answers are capped, for the runner and the bare loop alike.
const MAX_TOKENS = Number(process.env.HANLAB_BENCH_MAX_TOKENS ?? 32);
const REPS = Math.max(1, Number(process.env.HANLAB_BENCH_REPS ?? 3));
const SHOTS = 2;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function writeQuestions(file: string, count: number): void {
  const header = 'subject,year,period,q_number,question,A,B,C,D,E,answer';
  const rows = Array.from({ length: count }, (_, i) => `doctor,${2012 + (i % 12)},1,${i + 1},"${i + 1}번 문항: 다음 중 급성 충수염의 가장 흔한 초기 증상은?",명치 통증,발열,설사,황달,혈뇨,${(i % 5) + 1}`);
  writeFileSync(file, `${[header, ...rows].join('\n')}\n`);
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-bench-lmeval-'));
try {
  writeQuestions(path.join(dir, 'doctor-test.csv'), QUESTIONS);
  writeQuestions(path.join(dir, 'doctor-fewshot.csv'), SHOTS);
  const shipped = parseTaskConfig(loadTaskYaml(path.join(shippedTasksDir(), 'kormedmcqa', 'doctor.yaml')), 'doctor.yaml');
  const task = { ...shipped, generation: { ...shipped.generation!, maxGenToks: MAX_TOKENS } };
  const data = await loadLmevalTaskData(task, dir, SHOTS);
  const options = { numFewshot: SHOTS };
  const modelFile = path.join(dir, 'tiny-llama.gguf');
  makeTinyGguf({ arch: 'llama', out: modelFile });
  // One thread: on a shared, loaded machine more threads only wait for each other.
  const engine = await openLocalModel(modelFile, { gpu: 'off', threads: 1 });
  const generation = task.generation!;
  const prompts = buildTaskRequests(task, data, options).map((document) => document.arguments[0][0]);
  const bare: number[] = [];
  const runner: number[] = [];
  try {
    await engine.complete(prompts[0], { until: generation.until, maxTokens: generation.maxGenToks, temperature: 0 }); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      bare.push(
        await timed(async () => {
          for (const prompt of prompts) await engine.complete(prompt, { until: generation.until, maxTokens: generation.maxGenToks, temperature: 0 });
        }),
      );
      runner.push(await timed(() => runLmevalTask(engine, task, data, options)));
    }
  } finally {
    await engine.dispose();
  }
  const instant: LanguageModel = {
    description: { model: 'instant' },
    complete: async () => ({ text: '정답: B', finishReason: 'stop', promptTokens: 0, generatedTokens: 0 }),
    loglikelihood: async () => ({ logprob: -1, isGreedy: true, continuationTokens: 1 }),
    dispose: async () => {},
  };
  const scripted: number[] = [];
  for (let rep = 0; rep < REPS; rep++) scripted.push(await timed(() => runLmevalTask(instant, task, data, options)));
  const figures = {
    questions: QUESTIONS,
    max_tokens: MAX_TOKENS,
    num_fewshot: SHOTS,
    load_average_1m: Number(loadavg()[0].toFixed(2)),
    bare_engine_questions_per_s: Number((QUESTIONS / median(bare)).toFixed(2)),
    lmeval_questions_per_s: Number((QUESTIONS / median(runner)).toFixed(2)),
    lmeval_vs_bare_engine: Number((median(bare) / median(runner)).toFixed(3)),
    lmeval_scripted_questions_per_s: Math.round(QUESTIONS / median(scripted)),
  };
  console.log(
    `lmeval (KorMedMCQA doctor, ${SHOTS}-shot, tiny GGUF): ${figures.lmeval_questions_per_s} questions/s, ${figures.lmeval_vs_bare_engine}× the bare engine loop; ` +
      `runner alone (instant model) ${figures.lmeval_scripted_questions_per_s} questions/s; load ${figures.load_average_1m}`,
  );
  console.log(JSON.stringify(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
