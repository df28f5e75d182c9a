/**
 * The local GGUF engine: a language model that runs in this process on node-llama-cpp (llama.cpp's
 * Node binding). `openLocalModel(file)` checks the file with hanlab's own GGUF reader first (not a GGUF
 * file, truncated, an architecture llama.cpp does not know: one line naming the file), then loads the
 * prebuilt binary only: it never builds llama.cpp nor downloads anything.
 *
 * What it offers: raw completion with `until` strings (lm-eval's `generate_until`), the log-likelihood
 * of a continuation (lm-eval's `loglikelihood`, tokenized as lm-eval does), chat through the model's own
 * chat template (`tokenizer.chat_template`, rendered as Hugging Face's `apply_chat_template` renders
 * it) and JSON-schema-constrained generation (node-llama-cpp's grammar made from the schema).
 */
import { Template } from '@huggingface/jinja';
import {
  getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaGrammar,
  type LlamaModel, type Token, LlamaGrammarEvaluationState,
} from 'node-llama-cpp';
import { HanlabError, UsageError } from '../errors.js';
import { checkedArchitecture, GgufError, metadataString, quantizationName, readGguf } from './gguf/read.js';
import type { Completion, CompletionOptions, LanguageModel, LanguageModelDescription, Loglikelihood } from './language-model.js';
import { GPU_CHOICES, type GpuChoice } from './gpu-choice.js';
import type { ChatMessage } from './openai-client.js';

export { GPU_CHOICES, type GpuChoice };

export interface LocalModelOptions {
  /** CPU threads for evaluation; default: node-llama-cpp's choice (the machine's cores). */
  threads?: number;
  /** Default `auto`: a GPU build when one is installed and usable, else the CPU. */
  gpu?: GpuChoice;
  /** LoRA adapters (GGUF), applied in order with their scales. */
  loras?: readonly { file: string; scale: number }[];
  /** Tokens of context; default the model's training context, at most 4096. */
  contextSize?: number;
}

export interface LocalCompletionOptions extends CompletionOptions {
  /** Constrain the answer to JSON valid under this schema (see lib/llm/json-schema.ts for the subset). */
  jsonSchema?: object;
}

export interface LocalModel extends LanguageModel {
  readonly contextSize: number;
  /** The model's chat template (`tokenizer.chat_template`), or undefined when the file has none. */
  readonly chatTemplate: string | undefined;
  complete(prompt: string, options?: LocalCompletionOptions): Promise<Completion>;
  /** Applies the model's chat template (with the generation prompt) and completes the result. */
  chat(messages: readonly ChatMessage[], options?: LocalCompletionOptions): Promise<Completion>;
  /** The prompt text `chat()` completes for these messages. */
  applyChatTemplate(messages: readonly ChatMessage[]): string;
  /** Token ids as this engine feeds them to the model (BOS included when the model adds one). */
  tokenize(text: string): number[];
}

const NODE_LLAMA_CPP_VERSION = '3.22.1';

// One binding per GPU choice for the process: loading llama.cpp's libraries twice gains nothing.
const bindings = new Map<GpuChoice, Promise<Llama>>();

function llamaFor(gpu: GpuChoice): Promise<Llama> {
  let llama = bindings.get(gpu);
  if (!llama) {
    llama = getLlama({
      gpu: gpu === 'off' ? false : gpu,
      build: 'never', // prebuilt binaries only: never compile, never download
      usePrebuiltBinaries: true,
      skipDownload: true,
      progressLogs: false,
      logLevel: LlamaLogLevel.error,
      logger: (level, message) => {
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) process.stderr.write(`llama.cpp: ${message.trimEnd()}\n`);
      },
    }).catch((error: unknown) => {
      bindings.delete(gpu);
      const name = (error as Error)?.name ?? '';
      if (name === 'NoBinaryFoundError' && (gpu === 'vulkan' || gpu === 'cuda')) {
        throw new UsageError(
          `--gpu ${gpu}: node-llama-cpp's ${gpu === 'vulkan' ? 'Vulkan' : 'CUDA'} build is not installed, or cannot load here ` +
            `(README, "Local GGUF models", says how to add it; --gpu off runs on the CPU)`,
        );
      }
      throw new HanlabError(`node-llama-cpp could not load its prebuilt llama.cpp binary: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    });
    bindings.set(gpu, llama);
  }
  return llama;
}

/** Opens a GGUF model for completion, log-likelihoods and chat. */
export async function openLocalModel(file: string, options: LocalModelOptions = {}): Promise<LocalModel> {
  const gpu = options.gpu ?? 'auto';
  if (!GPU_CHOICES.includes(gpu)) throw new UsageError(`--gpu must be one of ${GPU_CHOICES.join(', ')}, not "${String(gpu)}"`);
  const header = readGguf(file);
  const architecture = checkedArchitecture(header);
  if (metadataString(header, 'general.type') === 'adapter') {
    throw new GgufError('is a LoRA adapter, not a model: pass it with --lora next to its base model', { file });
  }
  const loras = options.loras ?? [];
  for (const lora of loras) {
    const adapter = readGguf(lora.file);
    const adapterArchitecture = checkedArchitecture(adapter);
    if (metadataString(adapter, 'general.type') !== 'adapter') {
      throw new GgufError('is not a LoRA adapter (its general.type is not "adapter")', { file: lora.file });
    }
    if (adapterArchitecture !== architecture) {
      throw new GgufError(`is a LoRA for a ${adapterArchitecture} model, but ${file} is ${architecture}`, { file: lora.file });
    }
    if (!Number.isFinite(lora.scale)) throw new UsageError(`--lora ${lora.file}: the scale must be a number`);
  }
  const llama = await llamaFor(gpu);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: file, gpuLayers: gpu === 'off' ? 0 : 'auto' });
  } catch (error) {
    throw new GgufError(`llama.cpp could not load it: ${(error as Error)?.message ?? String(error)}`, { file }, { cause: error });
  }
  const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 4096);
  let context: LlamaContext;
  try {
    context = await model.createContext({
      contextSize,
      sequences: 1,
      threads: options.threads,
      lora: loras.length ? { adapters: loras.map((l) => ({ filePath: l.file, scale: l.scale })) } : undefined,
    });
  } catch (error) {
    await model.dispose();
    throw new HanlabError(`${file}: llama.cpp could not create a context of ${contextSize} tokens${loras.length ? ' with the LoRA adapters' : ''}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  const description: LanguageModelDescription = {
    model: file,
    architecture,
    quantization: quantizationName(header),
    loras: loras.map((l) => ({ file: l.file, scale: l.scale })),
    build: `node-llama-cpp ${NODE_LLAMA_CPP_VERSION} (${llama.gpu === false ? 'cpu' : llama.gpu})`,
  };
  return new GgufModel(model, context, description, metadataString(header, 'tokenizer.chat_template'));
}

class GgufModel implements LocalModel {
  private readonly sequence: LlamaContextSequence;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private disposed = false;
  // node-llama-cpp evaluates one request at a time on a sequence; calls queue here in order.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly description: LanguageModelDescription,
    readonly chatTemplate: string | undefined,
  ) {
    this.sequence = context.getSequence();
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  tokenize(text: string): number[] {
    const tokens: number[] = this.model.tokenize(text, true);
    const bos = this.model.tokens.bos;
    if (this.model.tokens.shouldPrependBosToken && bos != null && tokens[0] !== bos) tokens.unshift(bos);
    return tokens;
  }

  applyChatTemplate(messages: readonly ChatMessage[]): string {
    if (this.chatTemplate === undefined) {
      throw new UsageError(`${this.description.model} has no chat template (tokenizer.chat_template): use --chat-template none and raw prompts`);
    }
    const special = (token: number | null): string => (token == null ? '' : this.model.detokenize([token as Token], true));
    return new Template(this.chatTemplate).render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      bos_token: special(this.model.tokens.bos),
      eos_token: special(this.model.tokens.eos),
      add_generation_prompt: true,
    });
  }

  chat(messages: readonly ChatMessage[], options: LocalCompletionOptions = {}): Promise<Completion> {
    const prompt = this.applyChatTemplate(messages);
    // The template writes the BOS itself when the model wants one (Gemma's does): do not add a second.
    const tokens: number[] = this.model.tokenize(prompt, true);
    const bos = this.model.tokens.bos;
    if (this.model.tokens.shouldPrependBosToken && bos != null && tokens[0] !== bos && !this.chatTemplate!.includes('bos_token')) tokens.unshift(bos);
    return this.serial(() => this.generate(tokens, options));
  }

  complete(prompt: string, options: LocalCompletionOptions = {}): Promise<Completion> {
    return this.serial(() => this.generate(this.tokenize(prompt), options));
  }

  async loglikelihood(context: string, continuation: string): Promise<Loglikelihood> {
    // lm-eval: trailing whitespace of the context belongs to the continuation.
    const trailing = /\s*$/.exec(context)![0];
    const contextText = context.slice(0, context.length - trailing.length);
    const continuationText = trailing + continuation;
    let contextTokens: number[];
    let continuationTokens: number[];
    if (contextText === '') {
      // lm-eval's empty context: the prefix token (BOS, else EOS) stands for it.
      const prefix = this.model.tokens.bos ?? this.model.tokens.eos;
      if (prefix == null) throw new HanlabError(`${this.description.model} has neither a BOS nor an EOS token to stand for an empty context`);
      contextTokens = [prefix];
      continuationTokens = this.model.tokenize(continuationText, true);
    } else {
      const whole = this.tokenize(contextText + continuationText);
      contextTokens = this.tokenize(contextText);
      continuationTokens = whole.slice(contextTokens.length);
      contextTokens = whole.slice(0, contextTokens.length);
    }
    if (continuationTokens.length === 0) return { logprob: 0, isGreedy: true, continuationTokens: 0 };
    const tokens = [...contextTokens, ...continuationTokens];
    // lm-eval truncates from the left to the model's length; so does this (the last token needs no logits).
    const input = tokens.slice(0, -1).slice(-this.contextSize);
    return this.serial(async () => {
      const start = await this.reusePrefix(input);
      const firstScored = input.length - continuationTokens.length;
      const items = input.slice(start).map((token, i) => {
        const position = start + i;
        if (position < firstScored) return token as Token;
        const target = continuationTokens[position - firstScored]! as Token;
        return [token as Token, { generateNext: { logits: { filter: { tokens: [target], includeMax: true } }, totalLogitWeight: true } }] as const;
      });
      const results = await this.sequence.controlledEvaluate(items as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
      let logprob = 0;
      let isGreedy = true;
      for (let k = 0; k < continuationTokens.length; k++) {
        const position = firstScored + k;
        const next = results[position - start]?.next;
        const target = continuationTokens[k]! as Token;
        if (!next?.logits || next.totalLogitWeight === undefined) {
          throw new HanlabError(`${this.description.model}: llama.cpp returned no logits at position ${position}`);
        }
        const [maxToken, maxLogit] = next.logits.entries().next().value as [Token, number];
        const logit = next.logits.get(target)!;
        logprob += logit - maxLogit - Math.log(next.totalLogitWeight);
        if (maxToken !== target && logit < maxLogit) isGreedy = false;
      }
      return { logprob, isGreedy, continuationTokens: continuationTokens.length };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.catch(() => undefined);
    await this.context.dispose();
    await this.model.dispose();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new HanlabError(`${this.description.model}: the model was disposed`));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Keeps the tokens the sequence already holds that `tokens` starts with (a shared few-shot prefix
   * is evaluated once) and erases the rest; returns how many were kept. At least one token is left
   * to evaluate, because the logits come from evaluating.
   */
  private async reusePrefix(tokens: readonly number[]): Promise<number> {
    const held = this.sequence.contextTokens;
    let common = 0;
    const limit = Math.min(held.length, tokens.length - 1);
    while (common < limit && held[common] === tokens[common]) common++;
    if (common < this.sequence.nextTokenIndex) {
      await this.sequence.eraseContextTokenRanges([{ start: common, end: this.sequence.nextTokenIndex }]);
    }
    return common;
  }

  private async grammarFor(schema: object): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = this.model.llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaGrammar>;
      this.grammars.set(key, grammar);
    }
    return grammar;
  }

  private async generate(promptTokens: number[], options: LocalCompletionOptions): Promise<Completion> {
    const maxTokens = options.maxTokens ?? 256;
    const room = this.contextSize - promptTokens.length;
    if (room < 1) {
      throw new HanlabError(`${this.description.model}: the prompt has ${promptTokens.length} tokens, more than the context of ${this.contextSize} (raise the context size)`);
    }
    const json = options.jsonSchema !== undefined;
    // The grammar allows whitespace after the JSON value: node-llama-cpp's own JSON grammar stops at four
    // newlines and trims the rest, and so does this; an object or array also stops as soon as it closes.
    const until = [...(options.until ?? []).filter((s) => s.length > 0), ...(json ? ['\n\n\n\n'] : [])];
    const longestUntil = until.reduce((n, s) => Math.max(n, s.length), 0);
    const grammarEvaluationState = options.jsonSchema
      ? new LlamaGrammarEvaluationState({ model: this.model, grammar: await this.grammarFor(options.jsonSchema) })
      : undefined;
    const start = await this.reusePrefix(promptTokens);
    const generated: Token[] = [];
    let text = '';
    let pending: Token[] = [];
    let finishReason: Completion['finishReason'] = 'stop';
    let cut = -1;
    const limit = Math.min(maxTokens, room);
    if (limit > 0) {
      const evaluation = this.sequence.evaluate(promptTokens.slice(start) as Token[], {
        temperature: options.temperature ?? 0,
        seed: options.seed,
        grammarEvaluationState,
        // Reproducible answers: no repeat penalty, no top-k/top-p cut beyond what the temperature says.
        topK: 0,
        topP: 1,
        minP: 0,
      });
      for await (const token of evaluation) {
        options.signal?.throwIfAborted();
        generated.push(token);
        if (until.length) {
          pending.push(token);
          const piece = this.model.detokenize(pending, false, generated.slice(-pending.length - 8, -pending.length));
          // A byte-fallback token may end in the middle of a character: wait for the rest.
          if (!piece.endsWith('\uFFFD') || pending.length >= 4) {
            const from = Math.max(0, text.length - longestUntil + 1);
            text += piece;
            pending = [];
            cut = firstStop(text, until, from);
            if (cut >= 0) break;
            if (json && closesJson(text)) break;
          }
        }
        if (generated.length >= limit) {
          finishReason = 'length';
          break;
        }
      }
      await evaluation.return(undefined);
    }
    if (!until.length || cut < 0) text = this.model.detokenize(generated, false);
    if (cut < 0 && until.length) cut = firstStop(text, until, 0);
    if (cut >= 0) {
      text = text.slice(0, cut);
      finishReason = 'stop';
    }
    if (json) {
      text = text.trimEnd();
      if (closesJson(text)) finishReason = 'stop';
    }
    return { text, finishReason, promptTokens: promptTokens.length, generatedTokens: generated.length };
  }
}

function firstStop(text: string, until: readonly string[], from: number): number {
  let best = -1;
  for (const stop of until) {
    const at = text.indexOf(stop, from);
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}

/** True when the text is a whole JSON object or array (what a grammar-constrained answer ends with). */
function closesJson(text: string): boolean {
  const end = text.trimEnd();
  if (!end.endsWith('}') && !end.endsWith(']')) return false;
  try {
    JSON.parse(end);
    return true;
  } catch {
    return false;
  }
}
