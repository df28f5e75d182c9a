import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { marked } from 'marked';
import { codeSpan, escapeMarkdown, fenceCode } from '../../lib/results/markdown-escape.js';

function decodeHtml(html: string): string {
  return html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Characters that mean something to Markdown or HTML, plus Korean and plain text. */
const tricky = fc.string({
  unit: fc.constantFrom(...'\\`*_[]()<>|~&#!-+=.:;/"\' \t\nabcJS0129가힣한국어', '<script>', '</script>', 'javascript:', '&lt;', '&#60;', '**', '__', '~~', '```', '1. ', '- ', '# ', '> ', '<!--', '-->', 'http://x.y', 'www.x.y'),
  maxLength: 30,
});

/** What the text should read as after escaping: one line, tabs as spaces. */
const oneLine = (s: string) => s.replace(/\r\n?|\n/g, ' ').replace(/\t/g, ' ');

test('property: escaped text renders as exactly itself, with no element formed', () => {
  fc.assert(
    fc.property(tricky, (text) => {
      const html = marked.parseInline(`x ${escapeMarkdown(text)} x`, { async: false }) as string;
      // Every "<" in the output is an escaped one: no tag, link, emphasis or code span was created.
      assert.ok(!html.includes('<'), `no element in ${JSON.stringify(html)}`);
      assert.equal(decodeHtml(html), `x ${oneLine(text)} x`);
    }),
    { numRuns: 2000 },
  );
});

test('property: escaped text starting a line stays a paragraph (no heading, list or quote)', () => {
  fc.assert(
    fc.property(tricky, (text) => {
      const html = marked.parse(escapeMarkdown(text), { async: false }) as string;
      const stripped = html.trim();
      if (stripped === '') return;
      assert.match(stripped, /^<p>[\s\S]*<\/p>$/);
      assert.ok(!stripped.slice(3, -4).includes('<'), `only text inside the paragraph: ${JSON.stringify(html)}`);
    }),
    { numRuns: 1000 },
  );
});

test('property: an escaped value is one table cell, whatever it holds', () => {
  fc.assert(
    fc.property(tricky, tricky, (a, b) => {
      const md = `| 입력 | 예측 |\n|---|---|\n| ${escapeMarkdown(a)} | ${escapeMarkdown(b)} |\n`;
      const tokens = marked.lexer(md);
      const table = tokens.find((t) => t.type === 'table') as { rows: Array<Array<{ text: string }>> } | undefined;
      assert.ok(table, 'still a table');
      assert.equal(table.rows.length, 1);
      assert.equal(table.rows[0].length, 2);
      const html = marked.parse(md, { async: false }) as string;
      const cells = [...html.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1]);
      assert.deepEqual(cells.map(decodeHtml), [oneLine(a).trim(), oneLine(b).trim()]);
    }),
    { numRuns: 1000 },
  );
});

test('a lone "*" or "_" between spaces at the start of a line is no list item or rule', () => {
  // Counterexamples the properties above found: " *\t" and "\t*\n" rendered as a list.
  for (const text of [' *\t', '\t*\n', '* x', '_ _ _', ' * * *']) {
    const html = (marked.parse(escapeMarkdown(text), { async: false }) as string).trim();
    assert.match(html, /^<p>[^<]*<\/p>$/, JSON.stringify(text));
  }
});

test('the injection payloads stay text', () => {
  const payloads = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '[click](javascript:alert(1))', '<javascript:alert(1)>', '![x](javascript:alert(1))'];
  for (const payload of payloads) {
    const html = marked.parse(escapeMarkdown(payload), { async: false }) as string;
    assert.equal(html, `<p>${payload.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}</p>\n`);
  }
});

test('plain Korean and numbers stay readable in the raw Markdown', () => {
  assert.equal(escapeMarkdown('정확도 0.9 ~ 1.5'), '정확도 0.9 ~ 1.5');
  assert.equal(escapeMarkdown('Train < 0.1'), 'Train < 0.1');
  assert.equal(escapeMarkdown('risk_level'), 'risk_level');
  assert.equal(escapeMarkdown('-0.0833'), '-0.0833');
  assert.equal(escapeMarkdown('a | b'), 'a \\| b');
  assert.equal(escapeMarkdown('- 목록'), '\\- 목록');
  assert.equal(escapeMarkdown('줄\n바꿈'), '줄 바꿈');
  assert.equal(escapeMarkdown(undefined), '');
});

test('property: a fenced block holds any text verbatim and cannot be closed early', () => {
  fc.assert(
    fc.property(tricky, (text) => {
      const tokens = marked.lexer(fenceCode(text, 'ini'));
      const blocks = tokens.filter((t) => t.type !== 'space');
      assert.equal(blocks.length, 1);
      assert.equal(blocks[0].type, 'code');
      // marked keeps a lone blank line as "\n"; trailing newlines aside, the text is verbatim.
      assert.equal((blocks[0] as { text: string }).text.replace(/\n+$/, ''), text.replace(/\r\n?/g, '\n').replace(/\n+$/, ''));
    }),
    { numRuns: 1000 },
  );
  assert.equal(fenceCode('a', 'x" onload="y'), '```\na\n```', 'a suspicious language word is dropped');
});

test('code spans survive backticks and pipes', () => {
  const html = marked.parseInline(codeSpan('a`b|c'), { async: false }) as string;
  assert.equal(html, '<code>a`b\\|c</code>');
  const md = `| x |\n|---|\n| ${codeSpan('a|b')} |\n`;
  assert.match(marked.parse(md, { async: false }) as string, /<td><code>a\|b<\/code><\/td>/);
});
