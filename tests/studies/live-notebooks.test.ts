/**
 * Issue 22 part 4: notebooks 02, 04 and 05 generate with a local GGUF model (`-p model_file=...`)
 * instead of reading answer files, end to end through `hanlab run` and `hanlab report`, on a tiny
 * random model made here; each report names the model file, its quantization, the LoRA and the
 * sampling. The answers of a random model are noise: what is checked is that they were generated
 * (the report says so, and not that they are replayed or reconstructed), not their scores.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeGgufFile } from '../../lib/llm/gguf/write.js';
import { makeTinyGguf, tinyLoraContent } from '../../scripts/make-tiny-gguf.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-live-notebooks-'));
after(() => rmSync(work, { recursive: true, force: true }));
const modelFile = path.join(work, 'tiny-llama.gguf');
const loraFile = path.join(work, 'tiny-llama-lora.gguf');
// Context for the study's fixed prompt (about 1,300 tokens of byte-fallback Hangul).
makeTinyGguf({ arch: 'llama', out: modelFile, sizes: { contextLength: 2048 } });
writeGgufFile(loraFile, tinyLoraContent('llama', { rank: 2, alpha: 4 }));

function hanlab(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', env: { ...process.env, HANLAB_BACKEND: 'cpu' }, maxBuffer: 64 << 20 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr });
    });
  });
}

/** `hanlab run` with these parameters, then `hanlab report`; the Markdown report. */
async function liveReport(notebook: string, parameters: Record<string, string | number>): Promise<string> {
  const executed = path.join(work, `${notebook}.ipynb`);
  const p = Object.entries(parameters).flatMap(([name, value]) => ['-p', `${name}=${value}`]);
  const ran = await hanlab(['run', `notebooks/${notebook}.ipynb`, ...p, '-o', executed]);
  assert.equal(ran.code, 0, `hanlab run ${notebook}: ${ran.stderr.slice(-2000)}`);
  const reports = path.join(work, 'reports');
  const rendered = await hanlab(['report', executed, '--out', reports]);
  assert.equal(rendered.code, 0, `hanlab report ${notebook}: ${rendered.stderr.slice(-2000)}`);
  const name = JSON.parse(readFileSync(executed, 'utf8')).metadata.hanlab.report.name as string | undefined;
  return readFileSync(path.join(reports, `${name ?? notebook.replace(/^\d+-/, '')}.md`), 'utf8');
}

/** The data note's model line: the file, F16 (the tiny model's file type), the LoRA or its absence, greedy decoding. */
function assertNamesModel(markdown: string, lora: string | null): void {
  assert.match(markdown, /데이터 안내 — 이 실행에서 로컬 모델이 생성한 답변/);
  const line = markdown.split('\n').find((l) => l.includes('모델로 생성했습니다')) ?? '';
  assert.ok(line.includes(`\`${modelFile}\``), `the model file is named: ${line}`);
  assert.match(line, /\(llama, F16\)/);
  assert.ok(lora ? line.includes(`LoRA: \`${lora}\` (배율 0.5)`) : line.includes('LoRA: 없음'), `the LoRA is named: ${line}`);
  assert.match(line, /탐욕적 디코딩\(temperature 0\)/);
}

describe('notebooks 02, 04 and 05 with -p model_file (tiny random GGUF)', { concurrency: 1, timeout: 900_000 }, () => {
  test('02 answers a test sample with the study prompt and the fixed prompt', async () => {
    const md = await liveReport('02-klue-ner-llm', { model_file: modelFile, lora_file: `${loraFile}:0.5`, fresh_sample_size: 2, max_tokens: 24 });
    assertNamesModel(md, loraFile);
    assert.match(md, /로컬 모델로 KLUE 분할 test 부분 2문장의 답변을 새로 받아 채점했습니다/);
    assert.match(md, /공개 보고서가 고친 최종 프롬프트로 같은 문장에 다시 답하게 하면 F1/);
    assert.match(md, /\| tiny-llama\.gguf 새 답변 \(고친 프롬프트\) \+ alignAnswer \|/);
  });

  test('04 answers constrained to the JSON schema of the study answer', async () => {
    const answers = path.join(work, 'answers.jsonl');
    const shipped = readFileSync('data/study-001/answers.jsonl', 'utf8').split('\n').filter(Boolean).slice(0, 2);
    // The file's answers are not read with a model: make them unparseable, so a parsed answer is the model's.
    writeFileSync(answers, shipped.map((l) => JSON.stringify({ ...JSON.parse(l), answer: 'not json' })).join('\n') + '\n');
    const md = await liveReport('04-json-judgement', { model_file: modelFile, answers_file: answers, max_tokens: 48 });
    assertNamesModel(md, null);
    // 02 keeps its replay section beside the fresh answers; 04's figures all come from the model.
    assert.doesNotMatch(md, /재구성한 기록/);
    assert.match(md, /^# tiny-llama\.gguf — /m);
    assert.match(md, /JSON 스키마\(risk_level과 각 구성요소의 match는 정해진 라벨 중 하나\)로 생성을 제한했습니다/);
  });

  test("05 answers with lm-eval's KorMedMCQA tasks: the base model alone, the fine-tuned with the LoRA", async () => {
    // One thread: llama.cpp's threads spin while they wait for each other, which stalls on a loaded machine.
    const md = await liveReport('05-kormedmcqa', { model_file: modelFile, lora_file: `${loraFile}:0.5`, limit: 2, threads: 1 });
    assertNamesModel(md, loraFile);
    assert.match(md, /^# tiny-llama\.gguf \+ tiny-llama-lora\.gguf 파인튜닝 — /m);
    assert.match(md, /lm-eval의 KorMedMCQA 과제\(kormedmcqa_doctor, kormedmcqa_nurse, kormedmcqa_pharm, kormedmcqa_dentist, 버전 3\.0, 0-shot\)를 hanlab lmeval과 같은 경로로 실행해/);
    assert.match(md, /베이스 모델의 답변은 LoRA를 얹지 않은 같은 모델\(F16\)로 같은 설정에서 생성했습니다/);
    assert.match(md, /최대 1024토큰/);
    // Not the shipped replays: no reconstruction note, and every subset scored on the 2 questions asked.
    assert.doesNotMatch(md, /재구성한 기록/);
    assert.match(md, /\| kormedmcqa \(그룹, 문항 가중\) \| 8 \| \d+\.\d\d% ± \d+\.\d\d \| \d+\.\d\d% ± \d+\.\d\d \|/);
    for (const subset of ['doctor', 'nurse', 'pharm', 'dentist']) assert.match(md, new RegExp(`\\| kormedmcqa_${subset} \\| 2 \\|`));
  });

  test('05 with a model but neither a LoRA nor a base model file is refused in one line', async () => {
    const executed = path.join(work, '05-refused.ipynb');
    const ran = await hanlab(['run', 'notebooks/05-kormedmcqa.ipynb', '-p', `model_file=${modelFile}`, '-o', executed]);
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr, /-p model_file needs -p lora_file .* or -p base_model_file/);
  });
});
