import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openModelFolder } from '../../lib/models/folder.js';
import { EncoderTokenizer, type EncodedText } from '../../lib/models/tokenizer.js';
import { alignSyllables, encodeSentencesForEncoder, projectToSyllables, tokenTags } from '../../lib/train/encoder-data.js';
import { collectTags } from '../../lib/data/klue-ner.js';
import { klueSentences } from '../train/helpers.js';
import { cleanup, skipWithoutTorch, tinyCheckpoint } from './helpers.js';

after(cleanup);

const skipTorch = skipWithoutTorch();

/** An encoding with `[CLS]`, the given spans, `[SEP]`. */
function encoding(spans: [number, number][]): EncodedText {
  const offsets: [number, number][] = [[0, 0], ...spans, [0, 0]];
  return { ids: Int32Array.from(offsets, (_, i) => i + 10), offsets, special: Uint8Array.from(offsets, (_, i) => (i === 0 || i === offsets.length - 1 ? 1 : 0)) };
}

test('first subword of each syllable run is trained; predictions go back to every syllable, spaces inside entities included', () => {
  // "서울 시청에서": 서울 | ▁시청 (offsets include the space) | 에서 — the space is tagged I-LC inside "서울 시청".
  const syllables = [...'서울 시청에서'];
  const gold = ['B-LC', 'I-LC', 'I-LC', 'I-LC', 'I-LC', 'O', 'O'];
  const enc = encoding([[0, 2], [2, 5], [5, 7]]);
  const alignment = alignSyllables(syllables, enc);
  assert.deepEqual(Array.from(alignment.tokenOf), [1, 1, -1, 2, 2, 3, 3]);
  assert.deepEqual(Array.from(alignment.runStart), [-1, 0, 3, 5, -1]);
  const tags = ['O', 'B-LC', 'I-LC'];
  const ids = gold.map((t) => tags.indexOf(t));
  assert.deepEqual(Array.from(tokenTags(alignment, ids)), [-1, 1, 2, 0, -1]);
  assert.deepEqual(projectToSyllables(alignment, ['O', 'B-LC', 'I-LC', 'O', 'O']), gold);
  // A space between two different entities, or after one, stays O.
  assert.deepEqual(projectToSyllables(alignment, ['O', 'B-LC', 'B-LC', 'O', 'O']), ['B-LC', 'I-LC', 'O', 'B-LC', 'I-LC', 'O', 'O']);
});

test('byte-level / ▁ pieces of one syllable: only the first is trained, a token inside a run continues its tag', () => {
  const syllables = [...'당뇨병'];
  // '▁' and '당' both cover the first syllable; '뇨병' covers two.
  const alignment = alignSyllables(syllables, encoding([[0, 1], [0, 1], [1, 3]]));
  assert.deepEqual(Array.from(alignment.runStart), [-1, 0, -1, 1, -1]);
  assert.deepEqual(projectToSyllables(alignment, ['O', 'B-DS', 'O', 'I-DS', 'O']), ['B-DS', 'I-DS', 'I-DS']);
  assert.deepEqual(projectToSyllables(alignment, ['O', 'O', 'O', 'B-DS', 'O']), ['O', 'B-DS', 'I-DS']);
});

test('property: when tokens never cross an entity boundary, syllable tags survive the round trip exactly', () => {
  const word = fc.array(fc.constantFrom(...'가나다라마바사아자차카타파하'), { minLength: 1, maxLength: 4 }).map((chars) => chars.join(''));
  fc.assert(
    fc.property(
      fc.array(fc.record({ pieces: fc.array(word, { minLength: 1, maxLength: 3 }), entity: fc.constantFrom(null, 'PS', 'LC'), continues: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      (words) => {
        const syllables: string[] = [];
        const gold: string[] = [];
        const spans: [number, number][] = [];
        let previous: string | null = null;
        words.forEach((w, i) => {
          if (i > 0) {
            // A space inside one entity (the same type continues) is I-X, as KLUE tags it.
            const inside = w.entity !== null && w.entity === previous && w.continues;
            syllables.push(' ');
            gold.push(inside ? `I-${w.entity}` : 'O');
          }
          let first = true;
          for (const piece of w.pieces) {
            const start = syllables.length;
            for (const char of piece) {
              const inside = w.entity !== null && (!first || (i > 0 && w.entity === previous && w.continues));
              gold.push(w.entity === null ? 'O' : inside ? `I-${w.entity}` : `B-${w.entity}`);
              syllables.push(char);
              first = false;
            }
            spans.push([start, syllables.length]);
          }
          previous = w.entity;
        });
        const tags = collectTags([{ tokens: syllables, tags: gold }]);
        const alignment = alignSyllables(syllables, encoding(spans));
        const trained = tokenTags(alignment, gold.map((t) => tags.indexOf(t)));
        const predictions = Array.from(trained, (id) => (id >= 0 ? tags[id] : 'O'));
        assert.deepEqual(projectToSyllables(alignment, predictions), gold);
      },
    ),
    { numRuns: 300 },
  );
});

test('real tokenizers on KLUE sentences: offsets cover every syllable; gold tags are lost only where an entity boundary falls inside a token', { skip: skipTorch }, async () => {
  const sentences = klueSentences(300);
  const tags = collectTags(sentences);
  for (const arch of ['bert', 'deberta-v2'] as const) {
    const tokenizer = await EncoderTokenizer.load(openModelFolder(tinyCheckpoint({ arch, seed: 1 })));
    const encoded = await encodeSentencesForEncoder(tokenizer, sentences, 512, tags);
    assert.equal(encoded.uncovered, 0, `${arch}: every non-space syllable is covered by a token`);
    let exact = 0;
    encoded.examples.forEach((example, i) => {
      const predicted = Array.from(example.tags as Int32Array, (id) => (id >= 0 ? tags[id] : 'O'));
      const { tokenOf } = encoded.alignments[i];
      const projected = projectToSyllables(encoded.alignments[i], predicted);
      const gold = sentences[i].tags;
      if (projected.join(' ') === gold.join(' ')) exact++;
      // Only what one token cannot say is lost: an entity boundary inside the token's syllables.
      projected.forEach((tag, s) => {
        if (tag === gold[s]) return;
        const token = tokenOf[s] >= 0 ? tokenOf[s] : tokenOf.findIndex((t, k) => k > s && t >= 0) >= 0 ? tokenOf[tokenOf.findIndex((t, k) => k > s && t >= 0)] : -1;
        const covered = [...tokenOf.keys()].filter((k) => tokenOf[k] === token);
        const first = gold[covered[0]];
        const continued = first === 'O' ? 'O' : `I-${first.slice(2)}`;
        assert.ok(covered.slice(1).some((k) => gold[k] !== continued), `${arch}, sentence ${sentences[i].id}, syllable ${s}: ${gold[s]} → ${tag} without a boundary inside its token`);
      });
    });
    console.log(`# ${arch}: ${exact}/${sentences.length} KLUE sentences' gold tags survive token granularity exactly`);
  }
});
