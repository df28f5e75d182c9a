import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHtmlEnvironment, createMarkdownEnvironment, safe } from '../../lib/results/markdown-env.js';

test('Markdown templates escape every {{ value }} for Markdown; HTML templates keep HTML escaping', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 't.njk'), '| {{ cell }} | {{ mine }} |');
  const markdown = createMarkdownEnvironment(dir).render('t.njk', { cell: '[x](javascript:y) | <b>', mine: safe('**굵게**') });
  assert.equal(markdown, '| \\[x\\](javascript:y) \\| \\<b> | **굵게** |');
  const html = createHtmlEnvironment(dir).render('t.njk', { cell: '<b>"x"</b>', mine: 'a' });
  assert.equal(html, '| &lt;b&gt;&quot;x&quot;&lt;/b&gt; | a |');
});
