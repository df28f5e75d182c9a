/**
 * What an evaluation needs from a language model that runs in this process: raw-text completion
 * (greedy unless a temperature is given, stopping at `until` strings) and the log-likelihood of a
 * continuation after a context. lm-eval's `generate_until` and `multiple_choice` tasks need exactly
 * these two, so the lm-eval runner depends on this interface and not on an engine; the local GGUF
 * engine implements it, and tests can pass a scripted model.
 */

/** What produced the answers, as the report and lm-eval's `results_*.json` name it. */
export interface LanguageModelDescription {
  /** The model file as given (a path), or a name. */
  model: string;
  /** e.g. `llama`, `gemma2`, `gemma3`, `exaone` (GGUF `general.architecture`). */
  architecture?: string;
  /** e.g. `F32`, `Q4_K_M` (GGUF `general.file_type`, spelled as llama.cpp spells it). */
  quantization?: string;
  /** LoRA adapters applied, in order, with their scales. */
  loras?: readonly { file: string; scale: number }[];
  /** Which build ran the products, e.g. `node-llama-cpp 3.22.1 (cpu)` / `(vulkan)` / `(cuda)`. */
  build?: string;
}

export interface CompletionOptions {
  /** Stop before the first of these strings; it is not part of the answer (lm-eval's `until`). */
  until?: readonly string[];
  /** Default 256. */
  maxTokens?: number;
  /** Default 0: greedy. */
  temperature?: number;
  seed?: number;
  signal?: AbortSignal;
}

export interface Completion {
  text: string;
  /** `stop` (an `until` string or end of generation) or `length` (maxTokens reached). */
  finishReason: 'stop' | 'length';
  promptTokens: number;
  generatedTokens: number;
}

export interface Loglikelihood {
  /** Sum of log P(token | everything before it) over the continuation's tokens (natural log). */
  logprob: number;
  /** True when every continuation token is the model's argmax at its position. */
  isGreedy: boolean;
  /** How many tokens the continuation took (for per-token normalisations). */
  continuationTokens: number;
}

export interface LanguageModel {
  readonly description: LanguageModelDescription;
  /** Completes a raw prompt (no chat template is applied here). */
  complete(prompt: string, options?: CompletionOptions): Promise<Completion>;
  /**
   * log P(continuation | context), tokenized as lm-eval does: trailing whitespace of the context moves
   * to the front of the continuation, the pair is encoded whole, and the continuation's tokens are
   * those after the context's own encoding.
   */
  loglikelihood(context: string, continuation: string): Promise<Loglikelihood>;
  /** Frees the model and its context. Safe to call twice. */
  dispose(): Promise<void>;
}
