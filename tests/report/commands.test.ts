/** The CLI shells `hanlab report` and `hanlab reports` (cli/commands/report.ts, reports.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run as report } from '../../cli/commands/report.js';
import { run as reports } from '../../cli/commands/reports.js';
import { InputError, UsageError } from '../../lib/errors.js';

function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  return fn().finally(() => {
    console.log = log;
  });
}

test('hanlab report writes <name>.md and <name>.html into --out', async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'hanlab-cli-report-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const code = await quietly(() => report([path.join('tests', 'fixtures', 'reports', 'sentiment.ipynb'), '--out', out]));
  assert.equal(code, 0);
  assert.ok(existsSync(path.join(out, 'news-sentiment.md')));
  assert.ok(existsSync(path.join(out, 'news-sentiment.html')));
});

test('hanlab report: --help, usage errors and a missing notebook', async () => {
  assert.equal(await quietly(() => report(['--help'])), 0);
  await assert.rejects(report([]), UsageError);
  await assert.rejects(report(['a.ipynb', 'b.ipynb']), UsageError);
  await assert.rejects(report(['--bogus']), UsageError);
  await assert.rejects(report(['no/such/notebook.ipynb']), (e: unknown) => e instanceof InputError && e.file === 'no/such/notebook.ipynb');
});

test('hanlab reports: --help and option errors', async () => {
  assert.equal(await quietly(() => reports(['--help'])), 0);
  await assert.rejects(reports(['--timeout', 'soon']), UsageError);
  await assert.rejects(reports(['extra']), UsageError);
  await assert.rejects(reports(['--notebooks', 'no/such/dir']), InputError);
});
