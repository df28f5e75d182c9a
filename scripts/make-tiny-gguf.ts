/**
 * Makes a tiny random-weight GGUF model that llama.cpp loads, for tests and for trying the local
 * engine without a download:
 *
 *   node --import tsx scripts/make-tiny-gguf.ts --arch llama|gemma2 --out FILE [--seed N]
 *
 * A few hundred KB: 2 layers, hidden size 32, 4 query heads over 2 key/value heads, a SentencePiece-style
 * `llama` tokenizer vocabulary (control tokens, byte fallback `<0x00>`..`<0xFF>`, ASCII, common Hangul
 * syllables and a few words) and a chat template in `tokenizer.chat_template` (ChatML for `llama`,
 * Gemma's turns for `gemma2`). The weights are random (seeded), laid out as llama.cpp's converter
 * writes them: `llama` rotates adjacent pairs (llama.cpp's "normal" RoPE), `gemma2` rotates halves
 * ("neox" RoPE) and stores its norm weights with Gemma's +1 already added. tests/llm/reference/
 * tiny_forward.py re-states both forward passes in PyTorch from the same file.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { writeGgufFile, type GgufContent, type GgufTensorToWrite } from '../lib/llm/gguf/write.js';
import { gguf, type GgufValue } from '../lib/llm/gguf/values.js';

export const TINY_GGUF_ARCHITECTURES = ['llama', 'gemma2'] as const;
export type TinyGgufArchitecture = (typeof TINY_GGUF_ARCHITECTURES)[number];

/** The sizes of every tiny model (the Python reference reads them from the file's metadata). */
export const TINY_SIZES = { embedding: 32, layers: 2, feedForward: 64, heads: 4, kvHeads: 2, contextLength: 512 } as const;
export type TinyGgufSizes = { [K in keyof typeof TINY_SIZES]: number };

const COMMON_SYLLABLES =
  '가각간갈감강개거건게격결경고공과관광교구국군권규그근금기김나날남내너네노논높누는니다단달담답당대더도독동되된될두드들등디따때떤또라락란람랑래러런레려력로록론료루류르른를름리린림마만많말맞매머먼메면명모목무문물므미민바반받발방배번법변별보복본부분불비사산살상새생서석선설성세소속손수순스습시식신실심아안않알애야약양어억언얼업없에여역연열영예오온와완요용우운원위유율으은을음응의이인일임입있자작잘장재저적전절점정제조종주준중지직진질차참창책처천체초최추출치친카커코크키타태터토통트파판패퍼포표프피하학한할함합해했행향험현형호화확환회효후희';
const WORDS = ['안녕', '하세요', '위험', '높음', '낮음', '애매', '정답', '환자', '대응', '미대응', '판단', '불가', '병원', '의사', '간호사'];
const ASCII_WORDS = ['the', 'answer', 'true', 'false', 'null', 'json', 'model', 'user', 'risk', 'level'];

interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
}

// llama.cpp's token types: 1 normal, 2 unknown, 3 control, 6 byte.
function vocabulary(controls: readonly string[]): Vocabulary {
  const tokens: string[] = [];
  const types: number[] = [];
  const seen = new Set<string>();
  const add = (token: string, type: number): void => {
    if (seen.has(token)) return;
    seen.add(token);
    tokens.push(token);
    types.push(type);
  };
  add('<unk>', 2);
  add('<s>', 3);
  add('</s>', 3);
  for (const control of controls) add(control, 3);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 6);
  add('▁', 1);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c), 1);
  for (const syllable of COMMON_SYLLABLES) {
    add(syllable, 1);
    add(`▁${syllable}`, 1);
  }
  // Words are reachable by SentencePiece's pairwise merges: every prefix is a token too.
  for (const word of [...WORDS, ...ASCII_WORDS]) {
    for (let end = 2; end <= word.length; end++) add(word.slice(0, end), 1);
    for (let end = 1; end <= word.length; end++) add(`▁${word.slice(0, end)}`, 1);
  }
  // Longer pieces score higher, so merges prefer them, as in a trained SentencePiece model.
  const scores = tokens.map((token, i) => (types[i] === 1 ? [...token].length * 10 - i / 1000 : 0));
  return { tokens, scores, types };
}

const CHAT_TEMPLATES: Record<TinyGgufArchitecture, string> = {
  llama:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  gemma2:
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
};
const CONTROL_TOKENS: Record<TinyGgufArchitecture, readonly string[]> = {
  llama: ['<|im_start|>', '<|im_end|>'],
  gemma2: ['<start_of_turn>', '<end_of_turn>'],
};

/** mulberry32 with Box-Muller: enough for random weights, and the same in every Node version. */
function normalSource(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The file's content: metadata and tensors, ready for writeGgufFile (or for a test to change first). */
export function tinyGgufContent(arch: TinyGgufArchitecture, seed = 1, sizes: Partial<TinyGgufSizes> = {}): GgufContent {
  // Larger sizes make a bench model: the same layout, only bigger.
  const { embedding, layers, feedForward, heads, kvHeads, contextLength } = { ...TINY_SIZES, ...sizes };
  const headDim = embedding / heads;
  const vocab = vocabulary(CONTROL_TOKENS[arch]);
  const normal = normalSource(seed * 7919 + (arch === 'llama' ? 1 : 2));
  const tensors: GgufTensorToWrite[] = [];
  // ggml dims are [in, out] for a PyTorch [out, in] weight: the data is the same row-major array.
  const matrix = (name: string, inputs: number, outputs: number, scale = 1 / Math.sqrt(inputs), type: 'F32' | 'F16' = 'F32'): void => {
    const data = Float32Array.from({ length: inputs * outputs }, () => normal() * scale);
    tensors.push({ name, type, dims: [inputs, outputs], data });
  };
  const norm = (name: string): void => {
    tensors.push({ name, type: 'F32', dims: [embedding], data: Float32Array.from({ length: embedding }, () => 1 + 0.1 * normal()) });
  };
  const n = vocab.tokens.length;
  // llama's embedding table is F16 (read by row lookup, which is exact), so the engine meets both types.
  matrix('token_embd.weight', embedding, n, arch === 'llama' ? 1 : 0.3, arch === 'llama' ? 'F16' : 'F32');
  norm('output_norm.weight');
  if (arch === 'llama') matrix('output.weight', embedding, n); // gemma2 ties the output to token_embd
  for (let layer = 0; layer < layers; layer++) {
    const blk = `blk.${layer}.`;
    norm(`${blk}attn_norm.weight`);
    matrix(`${blk}attn_q.weight`, embedding, heads * headDim);
    matrix(`${blk}attn_k.weight`, embedding, kvHeads * headDim);
    matrix(`${blk}attn_v.weight`, embedding, kvHeads * headDim);
    matrix(`${blk}attn_output.weight`, heads * headDim, embedding);
    if (arch === 'gemma2') norm(`${blk}post_attention_norm.weight`);
    norm(`${blk}ffn_norm.weight`);
    matrix(`${blk}ffn_gate.weight`, embedding, feedForward);
    matrix(`${blk}ffn_up.weight`, embedding, feedForward);
    matrix(`${blk}ffn_down.weight`, feedForward, embedding);
    if (arch === 'gemma2') norm(`${blk}post_ffw_norm.weight`);
  }
  const a = arch;
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.string(arch)],
    ['general.name', gguf.string(`hanlab tiny random ${arch}`)],
    ['general.file_type', gguf.uint32(arch === 'llama' ? 1 : 0)],
    [`${a}.context_length`, gguf.uint32(contextLength)],
    [`${a}.embedding_length`, gguf.uint32(embedding)],
    [`${a}.block_count`, gguf.uint32(layers)],
    [`${a}.feed_forward_length`, gguf.uint32(feedForward)],
    [`${a}.attention.head_count`, gguf.uint32(heads)],
    [`${a}.attention.head_count_kv`, gguf.uint32(kvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.float32(1e-6)],
    [`${a}.rope.freq_base`, gguf.float32(10000)],
  ];
  if (arch === 'llama') {
    metadata.push([`${a}.rope.dimension_count`, gguf.uint32(headDim)], [`${a}.vocab_size`, gguf.uint32(n)]);
  } else {
    metadata.push(
      [`${a}.attention.key_length`, gguf.uint32(headDim)],
      [`${a}.attention.value_length`, gguf.uint32(headDim)],
      [`${a}.attention.sliding_window`, gguf.uint32(contextLength)],
      [`${a}.attn_logit_softcapping`, gguf.float32(50)],
      [`${a}.final_logit_softcapping`, gguf.float32(30)],
    );
  }
  metadata.push(
    ['tokenizer.ggml.model', gguf.string('llama')],
    ['tokenizer.ggml.tokens', gguf.array('string', vocab.tokens)],
    ['tokenizer.ggml.scores', gguf.array('float32', vocab.scores)],
    ['tokenizer.ggml.token_type', gguf.array('int32', vocab.types)],
    ['tokenizer.ggml.bos_token_id', gguf.uint32(1)],
    ['tokenizer.ggml.eos_token_id', gguf.uint32(arch === 'llama' ? vocab.tokens.indexOf('<|im_end|>') : 2)],
    ['tokenizer.ggml.unknown_token_id', gguf.uint32(0)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.string(CHAT_TEMPLATES[arch])],
  );
  return { metadata, tensors };
}

/**
 * A random LoRA adapter for a tiny model, in llama.cpp's GGUF LoRA layout: `general.type` "adapter",
 * `adapter.type` "lora", `adapter.lora.alpha`, and per target `<name>.lora_a` (ggml dims [in, rank])
 * and `<name>.lora_b` ([rank, out]); llama.cpp adds scale * alpha / rank * B(A x).
 */
export function tinyLoraContent(arch: TinyGgufArchitecture, options: { rank?: number; alpha?: number; seed?: number } = {}): GgufContent {
  const { embedding, layers, feedForward, heads, kvHeads } = TINY_SIZES;
  const headDim = embedding / heads;
  const rank = options.rank ?? 4;
  const normal = normalSource((options.seed ?? 1) * 31 + 17);
  const targets: Array<[string, number, number]> = [];
  for (let layer = 0; layer < layers; layer++) {
    targets.push([`blk.${layer}.attn_q.weight`, embedding, heads * headDim], [`blk.${layer}.attn_v.weight`, embedding, kvHeads * headDim],
      [`blk.${layer}.ffn_up.weight`, embedding, feedForward], [`blk.${layer}.ffn_down.weight`, feedForward, embedding]);
  }
  const tensors: GgufTensorToWrite[] = targets.flatMap(([name, inputs, outputs]) => [
    { name: `${name}.lora_a`, type: 'F32' as const, dims: [inputs, rank], data: Float32Array.from({ length: inputs * rank }, () => normal() / Math.sqrt(inputs)) },
    { name: `${name}.lora_b`, type: 'F32' as const, dims: [rank, outputs], data: Float32Array.from({ length: rank * outputs }, () => normal() / Math.sqrt(rank)) },
  ]);
  const metadata: [string, GgufValue][] = [
    ['general.architecture', gguf.string(arch)],
    ['general.type', gguf.string('adapter')],
    ['general.name', gguf.string(`hanlab tiny random ${arch} LoRA`)],
    ['adapter.type', gguf.string('lora')],
    ['adapter.lora.alpha', gguf.float32(options.alpha ?? 8)],
  ];
  return { metadata, tensors };
}

export function makeTinyGguf(options: { arch: TinyGgufArchitecture; out: string; seed?: number; sizes?: Partial<TinyGgufSizes> }): void {
  writeGgufFile(options.out, tinyGgufContent(options.arch, options.seed ?? 1, options.sizes));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { arch: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' } } });
  const arch = values.arch as TinyGgufArchitecture;
  if (!TINY_GGUF_ARCHITECTURES.includes(arch) || !values.out) {
    console.error('usage: make-tiny-gguf.ts --arch llama|gemma2 --out FILE [--seed N]');
    process.exit(2);
  }
  makeTinyGguf({ arch, out: values.out, seed: values.seed === undefined ? 1 : Number(values.seed) });
}
