import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GOLDEN_DIR = 'tests/fixtures/golden/ner-seqeval';
const GOLD = `${GOLDEN_DIR}/gold.tsv`;
const KINDS = ['drop', 'orphan', 'mixed'] as const;
type Row = { precision: number; recall: number; 'f1-score': number; support: number };
const refs = JSON.parse(readFileSync(`${GOLDEN_DIR}/refs.json`, 'utf8')) as Record<
  string,
  { default: Record<string, Row>; strict: Record<string, Row>; klue: Record<string, number>; text_default_digits4: string }
>;

const work = mkdtempSync(path.join(tmpdir(), 'eval-ner-'));
after(() => rmSync(work, { recursive: true, force: true }));

function hanlab(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/hanlab.mjs', 'eval', 'ner', ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The same command, asynchronously, so independent runs can overlap. */
function hanlabAsync(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hanlab.mjs', 'eval', 'ner', ...args], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

function assertRowsClose(actual: Record<string, Row>, expected: Record<string, Row>, what: string) {
  for (const [key, row] of Object.entries(expected)) {
    for (const metric of ['precision', 'recall', 'f1-score', 'support'] as const) {
      assert.ok(Math.abs(actual[key][metric] - row[metric]) <= 1e-9, `${what} ${key} ${metric}`);
    }
  }
}

describe('hanlab eval ner on the golden predictions', () => {
  // Three runs per prediction kind, started together (each is mostly tsx start-up time).
  const runs = new Map<string, Run>();
  before(async () => {
    const jobs = KINDS.flatMap((kind) => {
      const pred = `${GOLDEN_DIR}/pred_${kind}.jsonl`;
      return [
        [`${kind}/text`, ['--gold', GOLD, '--pred', pred, '--digits', '4', '--zero-division', '0', '--klue']],
        [`${kind}/json`, ['--gold', GOLD, '--pred', pred, '--json', '--klue']],
        [`${kind}/strict`, ['--gold', GOLD, '--pred', pred, '--mode', 'strict', '--scheme', 'IOB2', '--json']],
      ] as const;
    });
    const results = await Promise.all(jobs.map(([, args]) => hanlabAsync(...args)));
    jobs.forEach(([name], i) => runs.set(name, results[i]));
  });

  for (const kind of KINDS) {
    test(`${kind}: text report byte for byte, then the KLUE figures`, () => {
      const { code, stdout, stderr } = runs.get(`${kind}/text`)!;
      assert.equal(code, 0, stderr);
      assert.ok(stdout.startsWith(refs[kind].text_default_digits4), stdout);
      const tail = stdout.slice(refs[kind].text_default_digits4.length);
      const e = refs[kind].klue.entity_macro_f1.toFixed(4);
      const c = refs[kind].klue.char_macro_f1.toFixed(4);
      assert.equal(tail, `\nKLUE entity-level macro F1 (strict IOB2, x100): ${e}\nKLUE character-level macro F1 (13 tags incl. O, x100): ${c}\n`);
    });
    test(`${kind}: --json holds seqeval's output_dict and the KLUE figures`, () => {
      const { code, stdout, stderr } = runs.get(`${kind}/json`)!;
      assert.equal(code, 0, stderr);
      const out = JSON.parse(stdout);
      assert.deepEqual(Object.keys(out), [...Object.keys(refs[kind].default), 'klue']);
      assertRowsClose(out, refs[kind].default, `${kind} default`);
      assert.ok(Math.abs(out.klue.entity_macro_f1 - refs[kind].klue.entity_macro_f1) <= 1e-9);
      assert.ok(Math.abs(out.klue.char_macro_f1 - refs[kind].klue.char_macro_f1) <= 1e-9);
    });
    test(`${kind}: --mode strict --scheme IOB2 --json`, () => {
      const { code, stdout, stderr } = runs.get(`${kind}/strict`)!;
      assert.equal(code, 0, stderr);
      const out = JSON.parse(stdout);
      assert.deepEqual(Object.keys(out), Object.keys(refs[kind].strict));
      assertRowsClose(out, refs[kind].strict, `${kind} strict`);
    });
  }
});

describe('hanlab eval ner input handling', () => {
  test('a KLUE TSV prediction works (gold against itself scores 1.00)', () => {
    const { code, stdout } = hanlab('--gold', 'tests/fixtures/klue-small.tsv', '--pred', 'tests/fixtures/klue-small.tsv', '--klue');
    assert.equal(code, 0);
    assert.match(stdout, /micro avg {7}1\.00 {6}1\.00 {6}1\.00/);
    assert.match(stdout, /entity-level macro F1 \(strict IOB2, x100\): 100\.00/);
  });

  test('a KLUE TSV prediction with other sentence ids is refused', () => {
    const shifted = readFileSync('tests/fixtures/klue-small.tsv', 'utf8').replace('klue-ner-v1_dev_00001-wikitree', 'other-id');
    const file = path.join(work, 'other.tsv');
    writeFileSync(file, shifted);
    const { code, stdout, stderr } = hanlab('--gold', 'tests/fixtures/klue-small.tsv', '--pred', file);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /sentence 1: gold id klue-ner-v1_dev_00001-wikitree but the prediction has id other-id/);
  });

  test('a JSONL line with an "id" must carry the gold id', () => {
    const lines = readFileSync(`${GOLDEN_DIR}/pred_drop.jsonl`, 'utf8').trim().split('\n');
    lines[2] = JSON.stringify({ id: 'wrong-id', tags: (JSON.parse(lines[2]) as { tags: string[] }).tags });
    const file = path.join(work, 'with-id.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const { code, stdout, stderr } = hanlab('--gold', GOLD, '--pred', file);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /with-id\.jsonl:3, field "id": sentence 2: gold id klue-ner-v1_dev_\d+-\w+ but the prediction has id wrong-id/);
  });

  test('a sentence length mismatch names index, id and both lengths; nothing printed as a score', () => {
    const lines = readFileSync(`${GOLDEN_DIR}/pred_drop.jsonl`, 'utf8').trim().split('\n');
    const tags = (JSON.parse(lines[5]) as { tags: string[] }).tags;
    lines[5] = JSON.stringify({ tags: tags.slice(1) });
    const file = path.join(work, 'short-sentence.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const { code, stdout, stderr } = hanlab('--gold', GOLD, '--pred', file, '--klue');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`sentence 5 \\(id klue-ner-v1_dev_\\d+-\\w+\\) has ${tags.length} gold tags but ${tags.length - 1} predicted tags`));
  });

  test('a sentence count mismatch is an error too', () => {
    const lines = readFileSync(`${GOLDEN_DIR}/pred_drop.jsonl`, 'utf8').trim().split('\n').slice(0, 399);
    const file = path.join(work, 'short.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const { code, stdout, stderr } = hanlab('--gold', GOLD, '--pred', file, '--json');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /gold has 400 sentences but the prediction has 399; first unmatched sentence index 399 \(id /);
  });

  test('bad JSONL lines are errors with file and line', () => {
    const file = path.join(work, 'bad.jsonl');
    writeFileSync(file, '{"tags": ["O"]}\n{"tag": ["O"]}\n');
    const result = hanlab('--gold', GOLD, '--pred', file);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.jsonl:2, field "tags": expected \{"tags": \[<string>, \.\.\.\]\}/);
    writeFileSync(file, '{"tags": ["O"]}\nnot json\n');
    assert.match(hanlab('--gold', GOLD, '--pred', file).stderr, /bad\.jsonl:2: not valid JSON/);
  });

  test('usage errors exit 2 with a message; --help exits 0', () => {
    const help = hanlab('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: hanlab eval ner --gold/);
    for (const args of [['--gold', GOLD], ['--gold', GOLD, '--pred', GOLD, '--mode', 'lax'], ['--gold', GOLD, '--pred', GOLD, '--zero-division', '2'], ['--gold', GOLD, '--pred', GOLD, '--bogus']]) {
      const result = hanlab(...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /hanlab eval ner: /);
    }
  });

  test("zero_division 'warn' prints scikit-learn's warning on stderr", () => {
    const file = path.join(work, 'all-o.jsonl');
    const gold = readFileSync('tests/fixtures/klue-small.tsv', 'utf8');
    const count = (gold.match(/^## klue/gm) ?? []).length;
    const lengths = gold.split(/\n\n/).filter((b) => b.includes('## klue')).map((b) => b.split('\n').filter((l) => l && !l.startsWith('##')).length);
    assert.equal(lengths.length, count);
    writeFileSync(file, lengths.map((n) => JSON.stringify({ tags: Array(n).fill('O') })).join('\n') + '\n');
    const { code, stdout, stderr } = hanlab('--gold', 'tests/fixtures/klue-small.tsv', '--pred', file);
    assert.equal(code, 0);
    assert.match(stdout, /micro avg {7}0\.00 {6}0\.00 {6}0\.00/);
    assert.match(stderr, /warning: Precision and F-score are ill-defined/);
  });
});
