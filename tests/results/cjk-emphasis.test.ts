/**
 * marked with our CJK-friendly emphasis agrees with micromark-extension-cjk-friendly (the reference
 * implementation of the rule) on where `**` and `*` open and close, next to Hangul, Han, kana,
 * punctuation, Latin letters, digits and spaces; and plain marked shows the bug it fixes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Marked } from 'marked';
import { micromark } from 'micromark';
import { cjkFriendlyExtension } from 'micromark-extension-cjk-friendly';
import { cjkFriendlyEmphasis } from '../../lib/results/cjk-emphasis.js';

const ours = new Marked({ gfm: true }).use(cjkFriendlyEmphasis());
const plain = new Marked({ gfm: true });
const html = (m: Marked, text: string) => (m.parse(text, { async: false }) as string).trim();
const reference = (text: string) => micromark(text, { extensions: [cjkFriendlyExtension()] }).trim();

test('the study texts that showed literal asterisks now render bold, as in the reference', () => {
  for (const text of [
    'Instruction은 **"질문을 보고, 제시된 [A-E] 중 정답을 맞추세요."**로 통일하였습니다.',
    '모델은 **학습 진행 중(Underfitting)**입니다.',
    '정답 **"애매"**를 **"낮음"**으로 예측했습니다.',
    '일본어 **「かな」**を 씁니다.',
  ]) {
    assert.match(html(ours, text), /<strong>/, text);
    assert.equal(html(ours, text), reference(text), text);
  }
  // Without the extension marked follows plain CommonMark and prints the asterisks.
  assert.match(html(plain, '**"정답"**으로'), /\*\*/);
});

test('emphasis next to any mix of CJK, punctuation, letters and spaces matches micromark-extension-cjk-friendly', () => {
  const piece = fc.constantFrom(' ', '"', '.', '(', ')', '%', '한', '글', '漢', 'か', 'a', 'Z', '1', '「', '」', '。', '㎞', '％', '`');
  const text = fc.array(piece, { minLength: 1, maxLength: 4 }).map((p) => p.join(''));
  const run = fc.constantFrom('*', '**');
  fc.assert(
    fc.property(text, text, text, run, (before, inside, after, delimiter) => {
      // Framed by letters so that no run starts a list or a thematic break (block syntax is not under test).
      const source = `x${before}${delimiter}${inside}${delimiter}${after}x`;
      assert.equal(html(ours, source), reference(source), source);
    }),
    { numRuns: 3000, seed: 20240917 },
  );
});
