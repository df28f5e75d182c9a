/**
 * The model's tokenizer, run by Hugging Face's own `tokenizers` library (its Node binding: the same
 * Rust code as Python's fast tokenizers, so ids and character offsets match transformers exactly).
 *
 * `tokenizer.json` is loaded as it is. A folder with only `vocab.txt` (KoELECTRA, older BERTs) gets
 * the WordPiece pipeline transformers' `BertConverter` builds from it (BERT normaliser with the
 * folder's `do_lower_case` / `strip_accents` / `tokenize_chinese_chars`, BERT pre-tokeniser,
 * `[CLS] $A [SEP]` template), assembled from the library's components.
 */
import { readFileSync } from 'node:fs';
import tokenizers from 'tokenizers';
import { InputError } from '../errors.js';
import type { ModelFolder } from './folder.js';

const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, templateProcessing, wordPieceDecoder } = tokenizers;
type RustTokenizer = InstanceType<typeof Tokenizer>;

/** One encoded text. Offsets are code-point positions in the text (`[0, 0]` for special tokens). */
export interface EncodedText {
  ids: Int32Array;
  offsets: [number, number][];
  /** 1 for tokens the tokenizer added (`[CLS]`, `[SEP]`). */
  special: Uint8Array;
}

export class EncoderTokenizer {
  private constructor(
    private readonly tokenizer: RustTokenizer,
    /** The file it came from (`tokenizer.json` or `vocab.txt`). */
    readonly file: string,
    readonly padId: number,
    readonly vocabSize: number,
    /** The tokens with the largest ids, of the model's vocabulary and of the added tokens: ids index the embedding table's rows. */
    readonly largest: { vocabulary: LargestId; added: LargestId | null },
  ) {}

  static async load(folder: ModelFolder): Promise<EncoderTokenizer> {
    const settings = folder.tokenizerConfig;
    let tokenizer: RustTokenizer;
    let file: string;
    if (folder.tokenizerFile) {
      file = folder.tokenizerFile;
      try {
        tokenizer = Tokenizer.fromFile(file);
      } catch (error) {
        throw new InputError(`the tokenizers library cannot read it: ${rustMessage(error)}`, { file }, { cause: error });
      }
      checkWordPieceModel(file);
    } else {
      file = folder.vocabFile as string;
      tokenizer = wordPieceFromVocab(file, settings);
    }
    const vocabSize = tokenizer.getVocabSize(true);
    if (vocabSize === 0) throw new InputError('has an empty vocabulary (no tokens at all); the tokenizer files are damaged or incomplete', { file });
    const largest = { vocabulary: largestId(tokenizer.getVocab(false)) as LargestId, added: largestId(tokenizer.getVocab(true)) };
    if (largest.added && largest.added.id <= largest.vocabulary.id) largest.added = null;
    const padToken = tokenText(settings.pad_token);
    const padId =
      (padToken !== undefined ? tokenizer.tokenToId(padToken) : null) ?? tokenizer.tokenToId('[PAD]') ?? tokenizer.tokenToId('<pad>') ?? folder.config.padTokenId;
    const wrapped = new EncoderTokenizer(tokenizer, file, padId, vocabSize, largest);
    await wrapped.ensureSpecialTokens(settings);
    return wrapped;
  }

  /** A tokenizer.json without a post-processor adds no `[CLS]`/`[SEP]`; transformers then adds them itself. */
  private async ensureSpecialTokens(settings: Record<string, unknown>): Promise<void> {
    let probe: Awaited<ReturnType<RustTokenizer['encode']>>;
    try {
      probe = await this.tokenizer.encode('a');
    } catch (error) {
      throw new InputError(`the tokenizer cannot encode text: ${rustMessage(error)}`, { file: this.file }, { cause: error });
    }
    if (probe.getSpecialTokensMask().some((flag) => flag === 1)) return;
    const cls = tokenText(settings.cls_token) ?? (this.tokenizer.tokenToId('[CLS]') !== null ? '[CLS]' : '<s>');
    const sep = tokenText(settings.sep_token) ?? (this.tokenizer.tokenToId('[SEP]') !== null ? '[SEP]' : '</s>');
    const clsId = this.tokenizer.tokenToId(cls);
    const sepId = this.tokenizer.tokenToId(sep);
    if (clsId === null || sepId === null) throw new InputError(`adds no special tokens and has no ${cls} / ${sep} to add`, { file: this.file });
    this.tokenizer.setPostProcessor(templateProcessing(`${cls} $A ${sep}`, `${cls} $A ${sep} $B:1 ${sep}:1`, [[cls, clsId], [sep, sepId]]));
  }

  tokenToId(token: string): number | null {
    return this.tokenizer.tokenToId(token);
  }

  idToToken(id: number): string | null {
    return this.tokenizer.idToToken(id);
  }

  /** Encodes texts with `[CLS]`/`[SEP]`, truncated to `maxLength` tokens when given. */
  async encode(texts: readonly string[], maxLength?: number): Promise<EncodedText[]> {
    if (maxLength !== undefined) this.tokenizer.setTruncation(maxLength);
    else this.tokenizer.disableTruncation();
    try {
      const encodings = await this.tokenizer.encodeBatch([...texts]);
      return encodings.map((e) => ({
        ids: Int32Array.from(e.getIds()),
        offsets: e.getOffsets().map(([start, end]) => [start, end] as [number, number]),
        special: Uint8Array.from(e.getSpecialTokensMask()),
      }));
    } finally {
      this.tokenizer.disableTruncation();
    }
  }
}

export interface LargestId {
  token: string;
  id: number;
}

function largestId(vocabulary: Record<string, number>): LargestId | null {
  let largest: LargestId | null = null;
  for (const [token, id] of Object.entries(vocabulary)) if (!largest || id > largest.id) largest = { token, id };
  return largest;
}

/** A special token's text from tokenizer_config.json (a string, or an AddedToken object with `content`). */
function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

/** A Rust error's message, with the separator the binding leaves out ("Error loading from fileinvalid type"). */
function rustMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Error loading from file(?=\S)/, 'Error loading from file: ');
}

/**
 * A tokenizer.json WordPiece model must hold its unknown token: the Rust library accepts the file and
 * fails only when encoding ("WordPiece error: Missing [UNK] token"), with no word of which file.
 */
function checkWordPieceModel(file: string): void {
  let model: { type?: unknown; unk_token?: unknown; vocab?: unknown } | undefined;
  try {
    model = (JSON.parse(readFileSync(file, 'utf8')) as { model?: typeof model })?.model;
  } catch {
    return; // the library read it, so this cannot fail in practice; the library's own checks stand
  }
  if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object' || model.vocab === null) return;
  const unk = typeof model.unk_token === 'string' ? model.unk_token : '[UNK]';
  if (Object.keys(model.vocab).length === 0) throw new InputError('has an empty WordPiece vocabulary ("model.vocab" is {}); the tokenizer file is damaged or incomplete', { file, field: 'model.vocab' });
  if (!Object.hasOwn(model.vocab, unk)) throw new InputError(`WordPiece vocabulary has no unknown token ${JSON.stringify(unk)}, which "model.unk_token" names`, { file, field: 'model.unk_token' });
}

function wordPieceFromVocab(file: string, settings: Record<string, unknown>): RustTokenizer {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new InputError('is an empty WordPiece vocabulary (one token a line expected); the file is damaged or incomplete', { file });
  // transformers' load_vocab: one token per line, id = line number, a repeated token keeps its last id.
  const vocab = Object.fromEntries(lines.map((token, id) => [token.replace(/\s+$/, ''), id]));
  const special = (key: string, fallback: string) => tokenText(settings[key]) ?? fallback;
  const unk = special('unk_token', '[UNK]');
  const cls = special('cls_token', '[CLS]');
  const sep = special('sep_token', '[SEP]');
  for (const token of [unk, cls, sep]) {
    if (!Object.hasOwn(vocab, token)) throw new InputError(`has no ${token} token, which tokenizer_config.json names`, { file });
  }
  const lowercase = settings.do_lower_case === undefined ? true : settings.do_lower_case === true;
  const stripAccents = typeof settings.strip_accents === 'boolean' ? settings.strip_accents : undefined;
  const chinese = settings.tokenize_chinese_chars === undefined ? true : settings.tokenize_chinese_chars === true;
  const tokenizer = new Tokenizer(WordPiece.init(vocab, { unkToken: unk }));
  tokenizer.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: chinese, stripAccents, lowercase }));
  tokenizer.setPreTokenizer(bertPreTokenizer());
  tokenizer.setPostProcessor(templateProcessing(`${cls} $A ${sep}`, `${cls} $A ${sep} $B:1 ${sep}:1`, [[cls, vocab[cls]], [sep, vocab[sep]]]));
  tokenizer.setDecoder(wordPieceDecoder('##'));
  const specials = ['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'].map((key) => tokenText(settings[key])).filter((t): t is string => t !== undefined && Object.hasOwn(vocab, t));
  tokenizer.addSpecialTokens(specials.length ? specials : ['[UNK]', '[SEP]', '[PAD]', '[CLS]', '[MASK]'].filter((t) => Object.hasOwn(vocab, t)));
  return tokenizer;
}
