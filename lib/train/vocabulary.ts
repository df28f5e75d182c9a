/**
 * Syllable vocabulary: id 0 is padding, id 1 the unknown syllable; the rest are the training
 * syllables seen at least `minCount` times, most frequent first (ties by code point, so the same data
 * always gives the same ids). Saved inside the model file so prediction maps text exactly as training did.
 */
export const PAD = '<pad>';
export const UNK = '<unk>';
export const PAD_ID = 0;
export const UNK_ID = 1;

export interface VocabularyJson {
  tokens: string[];
}

export class Vocabulary {
  readonly tokens: readonly string[];
  // A Map, not an object: syllables come from untrusted text (`__proto__` is a valid token).
  private readonly index: Map<string, number>;

  constructor(tokens: readonly string[]) {
    if (tokens[PAD_ID] !== PAD || tokens[UNK_ID] !== UNK) throw new Error(`Vocabulary must start with ${PAD}, ${UNK}`);
    this.tokens = tokens;
    this.index = new Map(tokens.map((token, id) => [token, id]));
    if (this.index.size !== tokens.length) throw new Error('Vocabulary has duplicate tokens');
  }

  /** Builds the vocabulary from token sequences (e.g. syllables of the training sentences). */
  static build(sequences: Iterable<readonly string[]>, options: { minCount?: number; maxSize?: number } = {}): Vocabulary {
    const minCount = options.minCount ?? 1;
    const counts = new Map<string, number>();
    for (const sequence of sequences) for (const token of sequence) counts.set(token, (counts.get(token) ?? 0) + 1);
    const kept = [...counts.entries()]
      .filter(([token, count]) => count >= minCount && token !== PAD && token !== UNK)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([token]) => token);
    const limited = options.maxSize !== undefined ? kept.slice(0, Math.max(0, options.maxSize - 2)) : kept;
    return new Vocabulary([PAD, UNK, ...limited]);
  }

  static fromJSON(json: VocabularyJson): Vocabulary {
    return new Vocabulary(json.tokens);
  }

  get size(): number {
    return this.tokens.length;
  }

  id(token: string): number {
    return this.index.get(token) ?? UNK_ID;
  }

  encode(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.id(tokens[i]);
    return ids;
  }

  /** Share of tokens that map to `<unk>`. */
  unknownRate(sequences: Iterable<readonly string[]>): number {
    let total = 0;
    let unknown = 0;
    for (const sequence of sequences) {
      for (const token of sequence) {
        total++;
        if (!this.index.has(token)) unknown++;
      }
    }
    return total === 0 ? 0 : unknown / total;
  }

  toJSON(): VocabularyJson {
    return { tokens: [...this.tokens] };
  }
}

/** Splits text into syllables (Unicode code points, NFC), the unit both models read. */
export function syllables(text: string): string[] {
  return Array.from(text.normalize('NFC'));
}
