/**
 * Long texts (lib/models/gliner2-windows.ts and extractEntities): GLiNER2's word windows (size, overlap,
 * slices of the text), the merge of the windows' entities (offsets moved back, best score first per
 * label, no overlaps within a label), and on the tiny random GLiNER2 a text longer than the model
 * takes gives exactly the merged entities of its windows extracted one by one.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { initBackend } from '../../lib/backend/index.js';
import { InputError } from '../../lib/errors.js';
import { extractEntities, type ExtractedEntity } from '../../lib/models/gliner2-entities.js';
import { encodeEntityTexts, splitWords } from '../../lib/models/gliner2-input.js';
import { mergeWindowEntities, proportionalOverlap, splitIntoWindows, WINDOW_OVERLAP, WINDOW_WORDS } from '../../lib/models/gliner2-windows.js';
import { Gliner2Model } from '../../lib/models/gliner2.js';
import { cleanup, skipWithoutTorch, tinyCheckpoint } from './helpers.js';

const skip = skipWithoutTorch();
const LABELS = ['Disease', 'Body', 'Treatment'];
after(cleanup);

test("GLiNER2's defaults: windows of 384 words sharing 64", () => {
  assert.equal(WINDOW_WORDS, 384);
  assert.equal(WINDOW_OVERLAP, 64);
  assert.equal(proportionalOverlap(384), 64);
  assert.equal(proportionalOverlap(192), 32);
  assert.equal(proportionalOverlap(5), 0);
});

test('windows: slices of the text from a word start to a word end, every word covered, neighbours sharing exactly the overlap', () => {
  const word = fc.stringMatching(/^[가-힣a-z0-9]{1,6}$|^[.,!?()]$/);
  const gap = fc.constantFrom(' ', '  ', '\n', '');
  const text = fc.array(fc.tuple(word, gap), { minLength: 0, maxLength: 60 }).map((parts) => ' ' + parts.map(([w, g]) => w + g).join(''));
  const sizes = fc.integer({ min: 1, max: 12 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
  fc.assert(
    fc.property(text, sizes, (t, [size, overlap]) => {
      const words = splitWords(t);
      const windows = splitIntoWindows(t, size, overlap);
      if (words.length === 0) {
        assert.deepEqual(windows, [{ text: t, start: 0, end: t.length, firstWord: 0, endWord: 0 }]);
        return;
      }
      assert.equal(windows[0].firstWord, 0);
      assert.equal(windows.at(-1)?.endWord, words.length);
      windows.forEach((w, i) => {
        assert.equal(w.text, t.slice(w.start, w.end));
        assert.equal(w.start, words[w.firstWord].start);
        assert.equal(w.end, words[w.endWord - 1].end);
        assert.ok(w.endWord - w.firstWord <= size);
        // The window's own words are the text's words in it (the splitter gives the same words on a slice).
        assert.deepEqual(splitWords(w.text).map((x) => x.text), words.slice(w.firstWord, w.endWord).map((x) => x.text));
        if (i > 0) assert.equal(windows[i - 1].endWord - w.firstWord, overlap);
      });
    }),
  );
  assert.throws(() => splitIntoWindows('a b', 4, 4), RangeError);
});

test('merge: offsets moved into the text; per label the best-scored of overlapping spans is kept once; labels do not compete', () => {
  const text = '가 나 다 라 마 바';
  const windows = splitIntoWindows(text, 4, 2); // 가 나 다 라 | 다 라 마 바
  assert.deepEqual(windows.map((w) => w.text), ['가 나 다 라', '다 라 마 바']);
  const span = (label: string, start: number, end: number, score: number, in_: string): ExtractedEntity => ({ label, start, end, text: in_.slice(start, end), score });
  const first = [span('A', 4, 5, 0.6, windows[0].text), span('A', 6, 7, 0.9, windows[0].text), span('B', 4, 7, 0.7, windows[0].text)];
  const second = [span('A', 0, 1, 0.8, windows[1].text), span('A', 0, 3, 0.95, windows[1].text), span('A', 6, 7, 0.7, windows[1].text)];
  const merged = mergeWindowEntities(text, windows, [first, second], ['A', 'B']);
  // A: 다 라 (0.95, second window) beats 라 (0.9) and both 다 (0.8, 0.6), which overlap it; 바 does not.
  assert.deepEqual(
    merged.map((e) => [e.label, e.start, e.end, e.text, e.score]),
    [
      ['A', 4, 7, '다 라', 0.95],
      ['B', 4, 7, '다 라', 0.7],
      ['A', 10, 11, '바', 0.7],
    ],
  );
});

describe('a text longer than the tiny GLiNER2 takes', { skip }, () => {
  let model: Gliner2Model | undefined;
  const load = async () => {
    await initBackend();
    return (model ??= await Gliner2Model.load(tinyCheckpoint({ arch: 'gliner2', seed: 2 }), { lora: null, seed: 0 }));
  };
  after(() => model?.dispose());
  const sentences = ['당뇨병 환자의 혈당을 인슐린으로 조절했다.', '위암 수술 후 복통이 있었다.', '고혈압 약을 먹고 두통이 줄었다.', '폐렴으로 항생제를 맞았다.'];
  const long = Array.from({ length: 36 }, (_, i) => sentences[i % sentences.length]).join(' ');

  test('its entities are those of its windows, extracted one by one and merged', async () => {
    const m = await load();
    const [whole] = await encodeEntityTexts(m.tokenizer, [long], LABELS);
    assert.ok(whole.ids.length > m.maxTokens, `the text is ${whole.ids.length} tokens, the model takes ${m.maxTokens}`);
    const options = { threshold: 0.2, windowWords: 40, windowOverlap: 8 };
    const [found] = await extractEntities(m, [long], LABELS, options);
    const windows = splitIntoWindows(long, 40, 8);
    assert.ok(windows.length > 2);
    const perWindow = await extractEntities(m, windows.map((w) => w.text), LABELS, options);
    assert.ok(perWindow.filter((e) => e.length > 0).length >= 2, 'the random model finds entities in several windows');
    assert.deepEqual(found, mergeWindowEntities(long, windows, perWindow, LABELS));
    // Spans from windows after the first one land at their place in the long text.
    assert.ok(found.some((e) => e.start >= windows[1].start));
    for (const e of found) assert.equal(long.slice(e.start, e.end), e.text);
  });

  test("GLiNER2's 384-word windows are narrowed where they do not fit; a short text beside it runs whole", async () => {
    const m = await load();
    const [windowed, short] = await extractEntities(m, [long, sentences[0]], LABELS, { threshold: 0.2 });
    for (const e of windowed) assert.equal(long.slice(e.start, e.end), e.text);
    assert.ok(windowed.some((e) => e.start > long.length / 2), 'entities reach the second half of the text');
    // Alone it is another batch (other padding): the same spans, scores equal to float32 rounding.
    const [alone] = await extractEntities(m, [sentences[0]], LABELS, { threshold: 0.2 });
    assert.deepEqual(short.map(({ score: _, ...span }) => span), alone.map(({ score: _, ...span }) => span));
    short.forEach((e, i) => assert.ok(Math.abs(e.score - alone[i].score) < 1e-5));
  });

  test('a prompt the model cannot take with any window is one line naming the labels', async () => {
    const m = await load();
    const labels = Array.from({ length: 400 }, (_, i) => `라벨${i}`);
    await assert.rejects(extractEntities(m, ['위암'], labels), (e: unknown) => e instanceof InputError && e.field === 'labels' && /entity prompt for 400 labels is \d+ tokens, the model takes 512/.test(e.message) && !e.message.includes('\n'));
  });
});
