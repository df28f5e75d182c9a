/**
 * Every `eval` example of the README's Commands section runs as written on files that ship with the
 * project (issue 12 §2), in README order so that `align --out` writes the predictions `eval ner` scores;
 * `/tmp/` is a private temporary folder. And the README's align / eval ner pair gives the same F1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseMetricsJson } from '../../lib/metrics/json.js';

/** The commands of the README's Commands section (its first sh block). */
function readmeCommands(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Commands'), readme.indexOf('\n## ', readme.indexOf('## Commands') + 1));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the Commands section has a sh block');
  return block[1].split('\n').filter((line) => line.startsWith('npx hanlab '));
}

/** Splits a command line as sh would for these examples: spaces, and single-quoted words. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) words.push(match[1] ?? match[2]);
  return words;
}

test("the README's eval examples run as written, and align and eval ner --subset ids agree on F1", () => {
  const commands = readmeCommands().filter((line) => /^npx hanlab (eval|align)\b/.test(line));
  const evalKinds = new Set(commands.map((line) => /^npx hanlab eval (\w+)/.exec(line)?.[1]).filter(Boolean));
  assert.deepEqual([...evalKinds].sort(), ['cls', 'json', 'mcqa', 'ner', 'spans'], 'an example for every eval command');
  const work = mkdtempSync(path.join(tmpdir(), 'hanlab-readme-'));
  try {
    const outputs: string[] = [];
    for (const line of commands) {
      const args = shellWords(line.replaceAll('/tmp/', work + path.sep)).slice(2);
      const run = spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
      assert.equal(run.status, 0, `${line}\nexit ${run.status}\n${run.stderr}`);
      assert.ok(run.stdout.trim().length > 0, `${line} printed nothing`);
      assert.doesNotMatch(run.stderr, /\n\s+at /, `${line} printed a stack trace`);
      outputs.push(run.stdout);
    }
    const alignOut = outputs[commands.findIndex((line) => line.startsWith('npx hanlab align'))];
    const alignF1 = /태그 F1 \(seqeval 기본 모드, micro\): (\d\.\d{4})/.exec(alignOut)?.[1];
    const nerText = outputs[commands.findIndex((line) => line.startsWith('npx hanlab eval ner') && !line.includes('--json'))];
    assert.match(nerText, /^10 of 5000 gold sentences scored \(--subset ids/);
    const microF1 = /\n {3}micro avg +\S+ +\S+ +(\S+)/.exec(nerText)?.[1];
    assert.ok(alignF1 && microF1, 'both print an F1');
    assert.equal(Number(microF1).toFixed(2), Number(alignF1).toFixed(2));
    assert.equal(alignF1, '0.6462');
    // Exactly, not only to the printed digits: align's diagnosis F1 and eval ner's micro F1 on its --out.
    const exact = (args: string[]) => parseMetricsJson(spawnSync(process.execPath, ['bin/hanlab.mjs', ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }).stdout) as Record<string, any>;
    const alignLine = commands.find((line) => line.startsWith('npx hanlab align'))!;
    const pred = path.join(work, 'exact.jsonl');
    const alignArgs = shellWords(alignLine).slice(2).map((word) => (word.startsWith('/tmp/') ? pred : word));
    const diagnosis = exact([...alignArgs, '--json']);
    const report = exact(['eval', 'ner', '--gold', 'data/klue-ner/klue-ner-v1.1_dev.tsv', '--pred', pred, '--subset', 'ids', '--json']);
    assert.equal(report['micro avg']['f1-score'], diagnosis.f1.tag);
    assert.equal(report['micro avg'].precision, diagnosis.f1.precision);
    assert.equal(report['micro avg'].recall, diagnosis.f1.recall);
    const strict = parseMetricsJson(outputs[commands.findIndex((line) => line.startsWith('npx hanlab eval ner') && line.includes('--json'))]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(strict).slice(-3), ['micro avg', 'macro avg', 'weighted avg']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
