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
  type LlamaModel, type Token, LlamaGrammarEvaluationState, NoBinaryFoundError, TokenBias,
} from 'node-llama-cpp';
import { HanlabError, UsageError } from '../errors.js';
import { checkedArchitecture, GgufError, metadataString, quantizationName, readGguf, type GgufFile } from './gguf/read.js';
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
  /**
   * How the context keeps attention keys and values: `F16` (llama.cpp's default) or `F32`, exact
   * but twice the memory (the PyTorch parity test uses it to compare the arithmetic, not the rounding).
   */
  kvCacheType?: 'F16' | 'F32';
  /** llama.cpp's flash attention: `auto` (default) uses it where the backend supports it. */
  flashAttention?: 'auto' | boolean;
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
  /** log P(next token | tokens) for every token of the vocabulary (natural log, index = token id). */
  nextTokenLogprobs(tokens: readonly number[]): Promise<Float64Array>;
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
      if (error instanceof NoBinaryFoundError && (gpu === 'vulkan' || gpu === 'cuda')) {
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
      ...(options.flashAttention !== undefined ? { flashAttention: options.flashAttention } : {}),
      ...(options.kvCacheType ? { experimentalKvCacheKeyType: options.kvCacheType, experimentalKvCacheValueType: options.kvCacheType } : {}),
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
  const vocabulary = header.metadata.get('tokenizer.ggml.tokens');
  const vocabularySize = vocabulary?.type === 'array' ? vocabulary.items.length : 0;
  return new GgufModel(model, context, description, metadataString(header, 'tokenizer.chat_template'), partialTokens(header), vocabularySize);
}

/**
 * GPT-2's byte-level alphabet (`bytes_to_unicode`): every byte is written as one printable character,
 * so a byte-level BPE token (exaone, llama-3, qwen) is a string of these characters.
 */
function byteLevelDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const decoder = new Map<string, number>();
  for (const b of printable) decoder.set(String.fromCharCode(b), b);
  let shifted = 0;
  // The other bytes (controls, space, DEL, NBSP, soft hyphen) become U+0100 onwards, in byte order.
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) decoder.set(String.fromCharCode(256 + shifted++), b);
  return decoder;
}

/** Whether the bytes are whole UTF-8: they start and end on character boundaries, with nothing malformed between. */
function isWholeUtf8(bytes: Uint8Array): boolean {
  let state: Utf8State = UTF8_START;
  for (const byte of bytes) {
    const next = utf8Step(state, byte);
    if (next === null) return false;
    state = next;
  }
  return state.needed === 0;
}

/**
 * The tokens that stand for part of a character (token id -> its bytes): SentencePiece's byte-fallback
 * tokens (`<0xEA>`, token type 6), and, in a GPT-2-style byte-level BPE vocabulary
 * (`tokenizer.ggml.model` "gpt2"), every normal token whose bytes are not whole UTF-8 (`ê°` is EA B0,
 * the first two bytes of 가). Tokens of whole characters are not listed.
 */
function partialTokens(header: GgufFile): Map<number, Uint8Array> {
  const partial = new Map<number, Uint8Array>();
  const tokens = header.metadata.get('tokenizer.ggml.tokens');
  const types = header.metadata.get('tokenizer.ggml.token_type');
  if (tokens?.type !== 'array' || types?.type !== 'array') return partial;
  const byteLevel = metadataString(header, 'tokenizer.ggml.model') === 'gpt2' ? byteLevelDecoder() : null;
  types.items.forEach((type, id) => {
    const text = String(tokens.items[id]);
    const match = type === 6 ? /^<0x([0-9A-Fa-f]{2})>$/.exec(text) : null;
    if (match) {
      partial.set(id, Uint8Array.of(parseInt(match[1]!, 16)));
      return;
    }
    if (!byteLevel || type !== 1) return; // control and user-defined tokens are literal text
    const bytes: number[] = [];
    for (const char of text) {
      const byte = byteLevel.get(char);
      if (byte === undefined) return; // not byte-level text: whole characters
      bytes.push(byte);
    }
    const array = Uint8Array.from(bytes);
    if (!isWholeUtf8(array)) partial.set(id, array);
  });
  return partial;
}

/** Where a UTF-8 decoder stands: how many continuation bytes the character still needs, and the next one's range. */
interface Utf8State {
  needed: number;
  low: number;
  high: number;
}
const UTF8_START: Utf8State = { needed: 0, low: 0x80, high: 0xbf };

/** One byte through a strict UTF-8 decoder (no overlong forms, no surrogates, nothing past U+10FFFF); null when malformed. */
function utf8Step(state: Utf8State, byte: number): Utf8State | null {
  if (state.needed > 0) {
    if (byte < state.low || byte > state.high) return null;
    return state.needed === 1 ? UTF8_START : { needed: state.needed - 1, low: 0x80, high: 0xbf };
  }
  if (byte < 0x80) return UTF8_START;
  if (byte < 0xc2 || byte > 0xf4) return null;
  const needed = byte >= 0xf0 ? 3 : byte >= 0xe0 ? 2 : 1;
  // The second byte's range after E0, ED, F0 and F4.
  const [low, high] = byte === 0xe0 ? [0xa0, 0xbf] : byte === 0xed ? [0x80, 0x9f] : byte === 0xf0 ? [0x90, 0xbf] : byte === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
  return { needed, low, high };
}

/**
 * Keeps the tokens that stand for part of a character to well-formed UTF-8 under a grammar: llama.cpp's
 * grammar takes a lone or mismatched byte token, and the answer then holds U+FFFD, so a string can
 * break `maxLength` and is not the text the model "wrote". Each step bans the partial tokens whose bytes
 * cannot come next (and, in the middle of a character, every token of whole characters).
 */
class Utf8Guard {
  private state: Utf8State = UTF8_START;
  constructor(
    private readonly model: LlamaModel,
    private readonly partial: Map<number, Uint8Array>,
    private readonly vocabularySize: number,
    /** Shared by every answer of a model: a ban list over a 256k vocabulary is worth building once. */
    private readonly biases: Map<string, TokenBias>,
  ) {}

  accept(token: number): void {
    const bytes = this.partial.get(token);
    if (bytes === undefined) {
      this.state = UTF8_START; // a whole-character token (only allowed between characters)
      return;
    }
    let state: Utf8State | null = this.state;
    for (const byte of bytes) state = state && utf8Step(state, byte);
    this.state = state ?? UTF8_START;
  }

  bias = (): TokenBias => {
    const { needed, low, high } = this.state;
    const key = needed > 0 ? `${needed}:${low}-${high}` : 'start';
    let bias = this.biases.get(key);
    if (!bias) {
      bias = new TokenBias(this.model.tokenizer);
      const fits = (bytes: Uint8Array): boolean => {
        let state: Utf8State | null = this.state;
        for (const byte of bytes) if ((state = utf8Step(state, byte)) === null) return false;
        return true;
      };
      if (needed > 0) {
        for (let id = 0; id < this.vocabularySize; id++) {
          const bytes = this.partial.get(id);
          if (bytes === undefined || !fits(bytes)) bias.set(id as Token, 'never');
        }
      } else {
        for (const [id, bytes] of this.partial) if (!fits(bytes)) bias.set(id as Token, 'never');
      }
      this.biases.set(key, bias);
    }
    return bias;
  };
}

class GgufModel implements LocalModel {
  private readonly sequence: LlamaContextSequence;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private readonly utf8Biases = new Map<string, TokenBias>();
  private disposed = false;
  // node-llama-cpp evaluates one request at a time on a sequence; calls queue here in order.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly description: LanguageModelDescription,
    readonly chatTemplate: string | undefined,
    private readonly partialTokens: Map<number, Uint8Array>,
    private readonly vocabularySize: number,
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
      const firstScored = input.length - continuationTokens.length;
      // Positions that are scored must be evaluated now (their logits are not kept), so only what comes before them is reused.
      const start = await this.reusePrefix(input, firstScored);
      const items = input.slice(start).map((token, i) => {
        const position = start + i;
        if (position < firstScored) return token as Token;
        const target = continuationTokens[position - firstScored]! as Token;
        // The whole vocabulary's logits: node-llama-cpp's totalLogitWeight covers only a filter's tokens.
        return [token as Token, { generateNext: { logits: true } }] as const;
      });
      const results = await this.sequence.controlledEvaluate(items as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
      let logprob = 0;
      let isGreedy = true;
      for (let k = 0; k < continuationTokens.length; k++) {
        const position = firstScored + k;
        const next = results[position - start]?.next;
        const target = continuationTokens[k]! as Token;
        if (!next?.logits) throw new HanlabError(`${this.description.model}: llama.cpp returned no logits at position ${position}`);
        const { logSum, max } = logSumExp(next.logits);
        const logit = next.logits.get(target) ?? -Infinity;
        logprob += logit - logSum;
        if (logit < max) isGreedy = false;
      }
      return { logprob, isGreedy, continuationTokens: continuationTokens.length };
    });
  }

  nextTokenLogprobs(tokens: readonly number[]): Promise<Float64Array> {
    if (tokens.length === 0 || tokens.length > this.contextSize) {
      return Promise.reject(new HanlabError(`${this.description.model}: nextTokenLogprobs needs 1 to ${this.contextSize} tokens, got ${tokens.length}`));
    }
    return this.serial(async () => {
      const start = await this.reusePrefix(tokens, tokens.length - 1);
      const items = tokens.slice(start).map((token, i, rest) =>
        i === rest.length - 1 ? ([token as Token, { generateNext: { logits: true } }] as const) : (token as Token));
      const results = await this.sequence.controlledEvaluate(items as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
      const logits = results[items.length - 1]?.next.logits;
      if (!logits) throw new HanlabError(`${this.description.model}: llama.cpp returned no logits`);
      const out = new Float64Array(this.vocabularySize || logits.size);
      const { logSum } = logSumExp(logits);
      out.fill(-Infinity);
      for (const [token, value] of logits) out[token] = value - logSum;
      return out;
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
  private async reusePrefix(tokens: readonly number[], keepAtMost = tokens.length - 1): Promise<number> {
    const held = this.sequence.contextTokens;
    let common = 0;
    const limit = Math.min(held.length, tokens.length - 1, keepAtMost);
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
      const llama = this.model.llama;
      grammar = (async () => {
        const json = await llama.createGrammarForJsonSchema(schema as never);
        return llama.createGrammar({ grammar: boundedNumbers(json.grammar), trimWhitespaceSuffix: true });
      })();
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
    const utf8 = json && this.partialTokens.size ? new Utf8Guard(this.model, this.partialTokens, this.vocabularySize, this.utf8Biases) : undefined;
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
        tokenBias: utf8?.bias,
        // Reproducible answers: no repeat penalty, no top-k/top-p cut beyond what the temperature says.
        topK: 0,
        topP: 1,
        minP: 0,
      });
      for await (const token of evaluation) {
        options.signal?.throwIfAborted();
        generated.push(token);
        utf8?.accept(token);
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
    // The answer is decoded whole (the pieces above only decide when to stop): a character split over
    // byte-fallback tokens is then never cut apart.
    text = this.model.detokenize(generated, false);
    cut = until.length ? firstStop(text, until, 0) : -1;
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

/**
 * node-llama-cpp's JSON grammar lets a number's exponent have 16 digits, so `216E7545216545216165` is
 * grammatical but is Infinity to every JSON reader, and an `integer` may take an exponent (`16E-5` is
 * not an integer). Here integers have no exponent and other numbers at most two exponent digits.
 */
function boundedNumbers(grammar: string): string {
  const exponent = '([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?';
  return grammar
    .split('\n')
    .map((line) => {
      if (!line.includes(exponent)) return line;
      return /^integer-number-rule\b/.test(line.trimStart()) || /^[\w-]*integer[\w-]* ::=/.test(line)
        ? line.replace(exponent, '')
        : line.replace(exponent, '([eE] [-+]? [0-9]{1,2})?');
    })
    .join('\n');
}

/** log(sum(exp(logits))) in float64, and the largest logit. */
function logSumExp(logits: ReadonlyMap<Token, number>): { logSum: number; max: number } {
  let max = -Infinity;
  for (const value of logits.values()) max = Math.max(max, value);
  let sum = 0;
  for (const value of logits.values()) sum += Math.exp(value - max);
  return { logSum: max + Math.log(sum), max };
}
