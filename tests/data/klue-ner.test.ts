import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { type KlueSentence, parseKlueNer, readKlueNer, streamKlueNer } from '../../lib/data/klue-ner.js';
import { InputError } from '../../lib/errors.js';

const SMALL = 'tests/fixtures/klue-small.tsv';
const DEV = 'data/klue-ner/klue-ner-v1.1_dev.tsv';

function inputError(pattern: RegExp, line: number, field: string) {
  return (error: unknown) => {
    assert.ok(error instanceof InputError, String(error));
    assert.equal(error.line, line);
    assert.equal(error.field, field);
    assert.match(error.message, pattern);
    return true;
  };
}

/** Writes sentences back in KLUE format (for round trips). */
function toKlue(sentences: readonly Pick<KlueSentence, 'id' | 'annotated' | 'tokens' | 'tags'>[], eol = '\n'): string {
  return sentences
    .map((s) => [`## ${s.id}\t${s.annotated}`, ...s.tokens.map((t, i) => `${t}\t${s.tags[i]}`)].join(eol) + eol)
    .join(eol);
}

describe('KLUE NER reader', () => {
  test('reads the first sentences of the dev file with ids, text and tags', () => {
    const sentences = readKlueNer(SMALL);
    assert.equal(sentences.length, 12);
    const first = sentences[0];
    assert.equal(first.id, 'klue-ner-v1_dev_00000-wikitree');
    assert.equal(first.line, 6); // after KLUE's five comment lines
    assert.ok(first.annotated.startsWith('<경찰:OG>은 또 성매매'));
    assert.ok(first.text.startsWith('경찰은 또 성매매 알선 자금을'));
    assert.deepEqual(first.tokens.slice(0, 4), ['경', '찰', '은', ' ']);
    assert.deepEqual(first.tags.slice(0, 4), ['B-OG', 'I-OG', 'O', 'O']);
    assert.equal(first.text, first.tokens.join(''));
    // The annotated sentence without its <surface:TYPE> marks is the text.
    for (const s of sentences) assert.equal(s.annotated.replace(/<([^<>]*?):([A-Z]{2})>/g, '$1'), s.text);
  });

  test('reads all 5,000 dev sentences (285,929 syllables)', () => {
    const sentences = readKlueNer(DEV, { labels: ['PS', 'LC', 'OG', 'DT', 'TI', 'QT'] });
    assert.equal(sentences.length, 5000);
    assert.equal(sentences.reduce((n, s) => n + s.tokens.length, 0), 285929);
    assert.equal(new Set(sentences.map((s) => s.id)).size, 5000);
  });

  test('CRLF line ends and a BOM give the same sentences', () => {
    const text = readFileSync(SMALL, 'utf8');
    const crlf = '\uFEFF' + text.replace(/\n/g, '\r\n');
    assert.deepEqual(parseKlueNer(crlf), parseKlueNer(text));
  });

  test('a missing final blank line or newline is fine; extra blank lines are fine', () => {
    const one = '## a\t<x:PS>\nx\tB-PS';
    assert.equal(parseKlueNer(one).length, 1);
    assert.equal(parseKlueNer('\n\n' + one + '\n\n\n').length, 1);
  });

  test('the streaming reader yields the same sentences as the whole-file reader', async () => {
    const streamed: KlueSentence[] = [];
    for await (const s of streamKlueNer(SMALL)) streamed.push(s);
    assert.deepEqual(streamed, readKlueNer(SMALL));
  });

  test('streaming handles CRLF, a BOM and chunk borders inside multi-byte characters', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'klue-'));
    try {
      const file = path.join(dir, 'crlf.tsv');
      const text = readFileSync(SMALL, 'utf8');
      writeFileSync(file, '\uFEFF' + text.replace(/\n/g, '\r\n'));
      const streamed: KlueSentence[] = [];
      for await (const s of streamKlueNer(file)) streamed.push(s);
      assert.deepEqual(streamed.map((s) => [s.id, s.tokens, s.tags, s.line]), readKlueNer(SMALL).map((s) => [s.id, s.tokens, s.tags, s.line]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('streaming reports errors with file and line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'klue-'));
    try {
      const file = path.join(dir, 'bad.tsv');
      writeFileSync(file, '## a\t<x:PS>\nx\tB-PS\n\n## b\tyy\ny O\n');
      await assert.rejects(async () => {
        for await (const _ of streamKlueNer(file)) void _;
      }, inputError(/bad\.tsv:5, field "tag": missing tab/, 5, 'tag'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing file is an InputError naming it (both readers)', async () => {
    assert.throws(() => readKlueNer('no/such/file.tsv'), (e: unknown) => e instanceof InputError && e.file === 'no/such/file.tsv' && /cannot read the file/.test(e.message));
    await assert.rejects(async () => {
      for await (const _ of streamKlueNer('no/such/file.tsv')) void _;
    }, (e: unknown) => e instanceof InputError && /no\/such\/file\.tsv: cannot read the file/.test(e.message));
  });

  test('a syllable line without a tab is an error naming file, line and field', () => {
    assert.throws(() => parseKlueNer('## a\tab\na\tO\nb O\n', { file: 'x.tsv' }), inputError(/^x\.tsv:3, field "tag": missing tab/, 3, 'tag'));
  });

  test('an unknown tag is an error', () => {
    assert.throws(() => parseKlueNer('## a\tab\na\tO\nb\tE-PS\n'), inputError(/unknown tag "E-PS"/, 3, 'tag'));
    assert.throws(() => parseKlueNer('## a\tab\na\tO\nb\t\n'), inputError(/unknown tag ""/, 3, 'tag'));
  });

  test('a type outside the label set is an error when a label set is given', () => {
    const text = '## a\tab\na\tB-PS\nb\tI-XX\n';
    assert.equal(parseKlueNer(text).length, 1);
    assert.throws(() => parseKlueNer(text, { labels: ['PS', 'LC'] }), inputError(/type "XX" is not in the label set \(PS, LC\)/, 3, 'tag'));
    // Full tag values are accepted as the label set too.
    assert.throws(() => parseKlueNer(text, { labels: ['B-PS', 'I-PS', 'O'] }), inputError(/"XX"/, 3, 'tag'));
  });

  test('a header without syllables, a header without a tab and syllables before a header are errors', () => {
    assert.throws(() => parseKlueNer('## a\tab\n\n## b\tc\nc\tO\n'), inputError(/sentence "a" has no syllable lines/, 1, 'syllables'));
    assert.throws(() => parseKlueNer('## a-without-tab\na\tO\n'), inputError(/no tab between the sentence id/, 1, 'id'));
    assert.throws(() => parseKlueNer('a\tO\n'), inputError(/before any/, 1, 'header'));
    assert.throws(() => parseKlueNer('## a\tab\n\tO\n'), inputError(/empty syllable/, 2, 'syllable'));
  });

  test('property: writing sentences in KLUE format and reading them back is the identity', () => {
    const syllable = fc.constantFrom('가', '나', ' ', 'a', '1', '#', '<', '㎞');
    const sentence = fc.record({
      id: fc.stringMatching(/^[a-z0-9_-]{1,12}$/),
      annotated: fc.string({ maxLength: 10 }).map((s) => s.replace(/[\t\r\n]/g, ' ')),
      pairs: fc.array(fc.tuple(syllable, fc.constantFrom('O', 'B-PS', 'I-PS', 'B-LC')), { minLength: 1, maxLength: 10 }),
    });
    fc.assert(
      fc.property(fc.array(sentence, { maxLength: 5 }), fc.boolean(), (raw, crlf) => {
        const sentences = raw.map((r) => ({ id: r.id, annotated: r.annotated, tokens: r.pairs.map((p) => p[0]), tags: r.pairs.map((p) => p[1]) }));
        const parsed = parseKlueNer(toKlue(sentences, crlf ? '\r\n' : '\n'));
        assert.deepEqual(parsed.map((s) => ({ id: s.id, annotated: s.annotated, tokens: s.tokens, tags: s.tags })), sentences);
        for (const s of parsed) assert.equal(s.text, s.tokens.join(''));
      }),
    );
  });
});
