/**
 * Test helpers for the lm-eval runner: a scripted LanguageModel (the test chooses every answer and
 * log-likelihood), KorMedMCQA files written to a temporary folder, and lm-eval's reference code run in
 * Debian's Python through tests/llm/lmeval_reference.py.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Completion, CompletionOptions, LanguageModel, Loglikelihood } from '../../lib/llm/language-model.js';
import { PYTHON, REFERENCE_DIR, REQUIRED } from '../metrics/differential/references.js';

export const LMEVAL_REFERENCE = path.join(REFERENCE_DIR, 'lm-eval-kormedmcqa');
const HELPER = path.resolve('tests/llm/lmeval_reference.py');

let missing: string | undefined | null = null;

/** Why lm-eval's reference code cannot run here (undefined: it can). */
function lmevalReferenceMissing(): string | undefined {
  if (missing !== null) return missing;
  if (!existsSync(path.join(LMEVAL_REFERENCE, 'lm_eval', 'tasks', 'kormedmcqa', 'utils.py'))) {
    return (missing = `lm-eval's reference copy is not at ${LMEVAL_REFERENCE} (set HANLAB_REFERENCE_DIR)`);
  }
  const probe = spawnSync(PYTHON, ['-B', '-c', 'import numpy, jinja2, yaml, pytest'], { encoding: 'utf8' });
  if (probe.status !== 0) return (missing = `${PYTHON} cannot import numpy, jinja2, yaml and pytest; apt install python3-numpy python3-jinja2 python3-yaml python3-pytest`);
  return (missing = undefined);
}

/** node:test's skip value: false when the references run, else the reason (an error under HANLAB_REQUIRE_REFERENCES=1). */
export function skipUnlessLmevalReference(): string | false {
  const why = lmevalReferenceMissing();
  if (!why) return false;
  if (REQUIRED) throw new Error(`HANLAB_REQUIRE_REFERENCES=1 but lm-eval's reference cannot run: ${why}`);
  return why;
}

/** Runs one helper command with JSON on stdin; returns its parsed JSON (or the process result for `pytest`). */
export function lmevalReference<T>(command: string, input?: unknown, args: string[] = []): T {
  const result = spawnSync(PYTHON, ['-B', HELPER, command, ...args], {
    input: input === undefined ? '' : JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, LMEVAL_REFERENCE },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`lmeval_reference.py ${command} failed: ${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

export function runLmevalPytest(): { status: number | null; output: string } {
  const result = spawnSync(PYTHON, ['-B', HELPER, 'pytest'], { encoding: 'utf8', env: { ...process.env, LMEVAL_REFERENCE } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export interface ScriptedModelScript {
  /** The generated text for a prompt (already cut at the `until` strings, as the engine returns it). */
  complete?(prompt: string, options: CompletionOptions): string;
  /** log P(continuation | context). */
  loglikelihood?(context: string, continuation: string): number;
}

/** A LanguageModel whose answers the test chooses; it records every prompt it was asked. */
export class ScriptedModel implements LanguageModel {
  readonly description = { model: '/models/scripted test model.gguf', architecture: 'llama', quantization: 'F32' };
  readonly prompts: string[] = [];
  readonly options: CompletionOptions[] = [];
  readonly pairs: [string, string][] = [];
  disposed = 0;

  constructor(private readonly script: ScriptedModelScript) {}

  async complete(prompt: string, options: CompletionOptions = {}): Promise<Completion> {
    if (!this.script.complete) throw new Error('this scripted model does not generate');
    this.prompts.push(prompt);
    this.options.push(options);
    const text = this.script.complete(prompt, options);
    return { text, finishReason: 'stop', promptTokens: prompt.length, generatedTokens: text.length };
  }

  async loglikelihood(context: string, continuation: string): Promise<Loglikelihood> {
    if (!this.script.loglikelihood) throw new Error('this scripted model does not score continuations');
    this.pairs.push([context, continuation]);
    const logprob = this.script.loglikelihood(context, continuation);
    return { logprob, isGreedy: logprob > -1, continuationTokens: [...continuation].length };
  }

  async dispose(): Promise<void> {
    this.disposed++;
  }
}

export interface McqaRow {
  subject?: string;
  year?: number;
  period?: number;
  q_number?: number;
  question: string;
  A: string;
  B: string;
  C: string;
  D: string;
  E: string;
  answer: number;
  cot?: string;
}

function csvCell(value: unknown): string {
  const text = String(value);
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes a KorMedMCQA CSV with the published columns (and `cot` when a row has one). */
export function writeMcqaCsv(file: string, rows: readonly McqaRow[]): void {
  const columns = ['subject', 'year', 'period', 'q_number', 'question', 'A', 'B', 'C', 'D', 'E', 'answer'];
  if (rows.some((row) => row.cot !== undefined)) columns.push('cot');
  const lines = [columns.join(','), ...rows.map((row, i) => columns.map((column) => csvCell((row as unknown as Record<string, unknown>)[column] ?? (column === 'subject' ? 'doctor' : column === 'cot' ? '' : i + 1))).join(','))];
  writeFileSync(file, `${lines.join('\n')}\n`, 'utf8');
}
