/**
 * Makes a tiny random checkpoint (2 layers, hidden 32) in the real Hugging Face file layout, for tests
 * and for trying the encoder pipeline without a download:
 *
 *   node --import tsx scripts/make-tiny-checkpoint.ts --arch bert|roberta|electra|deberta-v2|deberta-v2-classic|gliner2 --out DIR
 *        [--seed N] [--head seq:3|tok:13] [--shards K] [--extras]
 *
 * Writes `config.json` (as transformers writes it for the architecture), the tokenizer (a Korean
 * WordPiece vocabulary built from the shipped KLUE NER and NSMC text, saved as `tokenizer.json` by
 * Hugging Face's `tokenizers` library itself; ELECTRA gets only `vocab.txt` + `tokenizer_config.json`,
 * as KoELECTRA ships; DeBERTa a SentencePiece-style Unigram model with Metaspace), and random weights
 * from the PyTorch reference (tests/models/reference/hf_reference.py, Debian's python3-torch) in
 * `model.safetensors`, or `K` shards with `model.safetensors.index.json`. `--extras` adds what
 * pre-training checkpoints carry beside the encoder (an LM-head tensor, BERT's int64 position_ids).
 * `deberta-v2-classic` is DeBERTa-v2 with absolute positions, separate position projections and no
 * log buckets (the v2 options v3 turns off). `gliner2` is GLiNER2's span model over a tiny DeBERTa-v3
 * (makeTinyGliner2 below).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import tokenizers from 'tokenizers';
import { readKlueNer } from '../lib/data/klue-ner.js';

const { Tokenizer, WordPiece, Unigram, bertNormalizer, bertPreTokenizer, metaspacePreTokenizer, metaspaceDecoder, stripNormalizer, templateProcessing, wordPieceDecoder } = tokenizers;

export const PYTHON = '/usr/bin/python3';
export const REFERENCE_SCRIPT = path.join('tests', 'models', 'reference', 'hf_reference.py');
export const GLINER2_REFERENCE_SCRIPT = path.join('tests', 'models', 'reference', 'gliner2_reference.py');
export const TINY_ARCHITECTURES = ['bert', 'roberta', 'electra', 'deberta-v2', 'deberta-v2-classic', 'gliner2'] as const;
export type TinyArchitecture = (typeof TINY_ARCHITECTURES)[number];

export interface TinyCheckpointOptions {
  arch: TinyArchitecture;
  out: string;
  seed?: number;
  /** A task head in the weights: `seq:N` or `tok:N`. */
  head?: string;
  shards?: number;
  extras?: boolean;
  /** GLiNER2's maximum span width in words (default 8, as gliner2-base-v1). */
  maxWidth?: number;
  /** Override sizes (the bench uses a bigger BERT). */
  sizes?: Partial<{ hidden: number; layers: number; heads: number; intermediate: number; maxPositions: number; vocabPadding: number; vocabSize: number; positionBuckets: number }>;
}

/** The Korean vocabulary: frequent syllables, their `##` forms and frequent two-syllable word starts. */
function koreanPieces(): { syllables: string[]; bigrams: string[] } {
  const counts = new Map<string, number>();
  const bigrams = new Map<string, number>();
  const add = (text: string) => {
    for (const word of text.normalize('NFC').split(/\s+/)) {
      const chars = Array.from(word);
      chars.forEach((c) => counts.set(c, (counts.get(c) ?? 0) + 1));
      if (chars.length >= 2) bigrams.set(chars[0] + chars[1], (bigrams.get(chars[0] + chars[1]) ?? 0) + 1);
    }
  };
  for (const sentence of readKlueNer('data/klue-ner/klue-ner-v1.1_dev.tsv').slice(0, 1500)) add(sentence.tokens.join(''));
  for (const line of readFileSync('data/nsmc/ratings_train.first14274.txt', 'utf8').split('\n').slice(1, 1500)) add(line.split('\t')[1] ?? '');
  const top = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([k]) => k);
  return { syllables: top(counts, 500).sort(), bigrams: top(bigrams, 120).sort() };
}

const SPECIALS: Record<string, string[]> = {
  bert: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
  // klue/roberta-base: BertTokenizer with [CLS] 0, [PAD] 1, [SEP] 2, [UNK] 3.
  roberta: ['[CLS]', '[PAD]', '[SEP]', '[UNK]', '[MASK]'],
  electra: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'],
  deberta: ['[PAD]', '[CLS]', '[SEP]', '[UNK]'],
};

function wordPieceVocabulary(specials: string[]): string[] {
  const { syllables, bigrams } = koreanPieces();
  const ascii = [...'abcdefghijklmnopqrstuvwxyz0123456789.,!?~()\'"-'];
  return [...specials, ...syllables, ...syllables.map((s) => '##' + s), ...bigrams, ...bigrams.map((b) => '##' + b), ...ascii, ...ascii.map((c) => '##' + c)].filter(
    (token, i, all) => all.indexOf(token) === i,
  );
}

function saveWordPiece(dir: string, vocab: string[], withTokenizerJson: boolean): void {
  writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  const settings = { do_lower_case: false, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', tokenize_chinese_chars: true, strip_accents: null, model_max_length: 512, tokenizer_class: 'BertTokenizer' };
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(settings, null, 2) + '\n');
  writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify({ cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]' }, null, 2) + '\n');
  if (!withTokenizerJson) return;
  const ids = Object.fromEntries(vocab.map((token, id) => [token, id]));
  const tokenizer = new Tokenizer(WordPiece.init(ids, { unkToken: '[UNK]' }));
  tokenizer.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: false, stripAccents: false }));
  tokenizer.setPreTokenizer(bertPreTokenizer());
  tokenizer.setPostProcessor(templateProcessing('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1', [['[CLS]', ids['[CLS]']], ['[SEP]', ids['[SEP]']]]));
  tokenizer.setDecoder(wordPieceDecoder('##'));
  tokenizer.addSpecialTokens(vocab.filter((t) => /^\[[A-Z]+\]$/.test(t)));
  tokenizer.save(path.join(dir, 'tokenizer.json'), true);
}

function saveUnigram(dir: string, addedSpecials: readonly string[] = []): number {
  const { syllables, bigrams } = koreanPieces();
  const pieces: [string, number][] = SPECIALS.deberta.map((t) => [t, 0]);
  const seen = new Set(pieces.map(([p]) => p));
  const push = (piece: string, score: number) => {
    if (!seen.has(piece)) pieces.push([piece, score]), seen.add(piece);
  };
  push('▁', -2);
  bigrams.forEach((b) => push('▁' + b, -6));
  syllables.forEach((s) => push('▁' + s, -8));
  syllables.forEach((s) => push(s, -9));
  [...'abcdefghijklmnopqrstuvwxyz0123456789.,!?'].forEach((c) => push(c, -10));
  pieces.push(['[MASK]', 0]);
  const tokenizer = new Tokenizer(Unigram.init(pieces, { unkId: 3 }));
  tokenizer.setNormalizer(stripNormalizer(true, true));
  tokenizer.setPreTokenizer(metaspacePreTokenizer('▁', 'always', true));
  tokenizer.setPostProcessor(templateProcessing('[CLS]:0 $A:0 [SEP]:0', '[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1', [['[CLS]', 1], ['[SEP]', 2]]));
  tokenizer.setDecoder(metaspaceDecoder('▁', 'always', true));
  tokenizer.addSpecialTokens(['[PAD]', '[CLS]', '[SEP]', '[UNK]', '[MASK]']);
  // GLiNER2's processor adds its schema markers as special tokens after the base vocabulary.
  if (addedSpecials.length) tokenizer.addSpecialTokens([...addedSpecials]);
  tokenizer.save(path.join(dir, 'tokenizer.json'), true);
  const settings: Record<string, unknown> = { do_lower_case: false, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', split_by_punct: false, tokenizer_class: 'DebertaV2Tokenizer', vocab_type: 'spm' };
  if (addedSpecials.length) settings.additional_special_tokens = [...addedSpecials];
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(settings, null, 2) + '\n');
  return pieces.length + addedSpecials.length;
}

function configFor(arch: Exclude<TinyArchitecture, 'gliner2'>, vocabSize: number, options: TinyCheckpointOptions): Record<string, unknown> {
  const s = { hidden: 32, layers: 2, heads: 4, intermediate: 64, maxPositions: 128, ...options.sizes };
  const common = {
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    vocab_size: vocabSize,
    transformers_version: '4.40.2',
  };
  switch (arch) {
    case 'bert':
      return { architectures: ['BertForMaskedLM'], model_type: 'bert', ...common, max_position_embeddings: s.maxPositions, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0, position_embedding_type: 'absolute', use_cache: true, classifier_dropout: null };
    case 'roberta':
      return { architectures: ['RobertaForMaskedLM'], model_type: 'roberta', ...common, max_position_embeddings: s.maxPositions + 2, type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2, position_embedding_type: 'absolute', classifier_dropout: null };
    case 'electra':
      return { architectures: ['ElectraForPreTraining'], model_type: 'electra', ...common, embedding_size: s.hidden / 2, max_position_embeddings: s.maxPositions, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0, summary_type: 'first', summary_use_proj: true, summary_activation: 'gelu', summary_last_dropout: 0.1, position_embedding_type: 'absolute', classifier_dropout: null };
    case 'deberta-v2':
      return {
        architectures: ['DebertaV2ForMaskedLM'],
        model_type: 'deberta-v2',
        ...common,
        max_position_embeddings: 64,
        type_vocab_size: 0,
        layer_norm_eps: 1e-7,
        pad_token_id: 0,
        relative_attention: true,
        position_buckets: 8,
        max_relative_positions: -1,
        norm_rel_ebd: 'layer_norm',
        share_att_key: true,
        pos_att_type: ['p2c', 'c2p'],
        position_biased_input: false,
        pooler_hidden_size: s.hidden,
        pooler_dropout: 0,
        pooler_hidden_act: 'gelu',
      };
    case 'deberta-v2-classic':
      return {
        architectures: ['DebertaV2ForMaskedLM'],
        model_type: 'deberta-v2',
        ...common,
        max_position_embeddings: 64,
        type_vocab_size: 2,
        layer_norm_eps: 1e-7,
        pad_token_id: 0,
        relative_attention: true,
        max_relative_positions: 6,
        share_att_key: false,
        pos_att_type: 'c2p|p2c',
        position_biased_input: true,
        pooler_hidden_size: s.hidden,
        pooler_dropout: 0,
        pooler_hidden_act: 'gelu',
      };
  }
}

/**
 * A GLiNER2 folder as `Extractor.save_pretrained` writes it: `config.json` (model_type `extractor`,
 * max_width, counting_layer, token_pooling), `encoder_config/config.json` (a tiny DeBERTa-v3), the
 * tokenizer with GLiNER2's schema markers added, and `model.safetensors` (`encoder.…`, `span_rep.…`,
 * `classifier.…`, `count_pred.…`, `count_embed.…`) from tests/models/reference/gliner2_reference.py.
 */
function makeTinyGliner2(options: TinyCheckpointOptions): void {
  const { out } = options;
  mkdirSync(path.join(out, 'encoder_config'), { recursive: true });
  const tokens = saveUnigram(out, GLINER2_SPECIAL_TOKENS);
  const encoder = configFor('deberta-v2', Math.max(tokens, options.sizes?.vocabSize ?? 0), options);
  encoder.architectures = ['DebertaV2Model'];
  if (options.sizes?.positionBuckets) encoder.position_buckets = options.sizes.positionBuckets;
  encoder.max_position_embeddings = 512; // DeBERTa-v3's: a prompt and a sentence fit.
  writeFileSync(path.join(out, 'encoder_config', 'config.json'), JSON.stringify(encoder, null, 2) + '\n');
  const config = { model_type: 'extractor', model_name: 'microsoft/deberta-v3-base', max_width: options.maxWidth ?? 8, counting_layer: 'count_lstm', token_pooling: 'first', transformers_version: '4.51.3' };
  writeFileSync(path.join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const args = [GLINER2_REFERENCE_SCRIPT, 'make', '--out', out, '--seed', String(options.seed ?? 0)];
  const run = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} failed (python3-torch installed?):\n${run.stderr || run.error?.message}`);
}

/** GLiNER2's schema markers (its processor's SPECIAL_TOKENS, in its order). */
export const GLINER2_SPECIAL_TOKENS = ['[SEP_STRUCT]', '[SEP_TEXT]', '[P]', '[C]', '[E]', '[R]', '[L]', '[EXAMPLE]', '[OUTPUT]', '[DESCRIPTION]'];

export function makeTinyCheckpoint(options: TinyCheckpointOptions): void {
  const { arch, out } = options;
  if (arch === 'gliner2') return makeTinyGliner2(options);
  mkdirSync(out, { recursive: true });
  let tokens: number;
  if (arch.startsWith('deberta')) {
    tokens = saveUnigram(out);
  } else {
    const vocab = wordPieceVocabulary(SPECIALS[arch]);
    saveWordPiece(out, vocab, arch !== 'electra');
    tokens = vocab.length;
  }
  // Real models often pad the embedding table past the tokenizer's vocabulary.
  const config = configFor(arch, Math.max(tokens, options.sizes?.vocabSize ?? 0) + (options.sizes?.vocabSize ? 0 : (options.sizes?.vocabPadding ?? 3)), options);
  if (options.head) {
    const count = Number(options.head.split(':')[1]);
    config.id2label = Object.fromEntries(Array.from({ length: count }, (_, i) => [String(i), `LABEL_${i}`]));
    config.label2id = Object.fromEntries(Array.from({ length: count }, (_, i) => [`LABEL_${i}`, i]));
  }
  writeFileSync(path.join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const args = [REFERENCE_SCRIPT, 'make', '--config', path.join(out, 'config.json'), '--out', out, '--seed', String(options.seed ?? 0), '--shards', String(options.shards ?? 1)];
  if (options.head) args.push('--head', options.head);
  if (options.extras) args.push('--extras');
  const run = spawnSync(PYTHON, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} failed (python3-torch installed?):\n${run.stderr || run.error?.message}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { arch: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, head: { type: 'string' }, shards: { type: 'string' }, extras: { type: 'boolean' } },
  });
  if (!values.arch || !(TINY_ARCHITECTURES as readonly string[]).includes(values.arch) || !values.out) {
    console.error(`usage: make-tiny-checkpoint.ts --arch ${TINY_ARCHITECTURES.join('|')} --out DIR [--seed N] [--head seq:N|tok:N] [--shards K] [--extras]`);
    process.exitCode = 2;
    return;
  }
  makeTinyCheckpoint({ arch: values.arch as TinyArchitecture, out: values.out, seed: Number(values.seed ?? 0), head: values.head, shards: Number(values.shards ?? 1), extras: values.extras });
  console.log(`wrote ${values.arch} checkpoint to ${values.out}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
