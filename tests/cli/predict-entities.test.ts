/**
 * `hanlab predict --task entities` end to end on a tiny random GLiNER2 folder: JSONL (with ids) and
 * plain-text input, JSONL output whose spans are slices of the texts, read by `hanlab eval spans`
 * as it is; missing labels, a non-GLiNER2 folder and a text too long for the model are one line each.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run as predict } from '../../cli/commands/predict.js';
import { run as evalSpans } from '../../cli/commands/eval-spans.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { quietly } from '../train/helpers.js';
import { cleanup, skipWithoutTorch, tempDir, tinyCheckpoint } from '../models/helpers.js';

const skip = skipWithoutTorch();
const GOLD = 'data/study-000/gold.jsonl';
after(cleanup);

describe('hanlab predict --task entities', { skip }, () => {
  let model = '';
  const tiny = () => (model ||= tinyCheckpoint({ arch: 'gliner2', seed: 2 }));

  test('JSONL in, JSONL out with character offsets, scored by hanlab eval spans', async () => {
    const out = path.join(tempDir(), 'pred.jsonl');
    const code = await predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease,Body,Treatment', '--threshold', '0.3', '--input', GOLD, '--output', out]);
    assert.equal(code, 0);
    const gold = readFileSync(GOLD, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(records.length, gold.length);
    records.forEach((r, i) => {
      assert.equal(r.id, gold[i].id);
      assert.equal(r.text, gold[i].text);
      for (const e of r.entities) {
        assert.deepEqual(Object.keys(e), ['label', 'start', 'end', 'text', 'score']);
        assert.equal(r.text.slice(e.start, e.end), e.text);
      }
    });
    const { result, output } = await quietly(() => evalSpans(['--gold', GOLD, '--records', out, '--labels', 'Disease,Body,Treatment', '--json']));
    assert.equal(result, 0, output);
  });

  test('plain text, one text per line', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'in.txt'), '당뇨병 환자의 혈당 조절\n위암 수술\n');
    await predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease', '--input', path.join(dir, 'in.txt'), '--output', path.join(dir, 'out.jsonl')]);
    const records = readFileSync(path.join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.text), ['당뇨병 환자의 혈당 조절', '위암 수술']);
    assert.ok(records.every((r) => Array.isArray(r.entities)));
  });

  test('bad input: no labels, a plain encoder folder, a text longer than the model takes', async () => {
    await assert.rejects(predict(['--model', tiny(), '--task', 'entities', '--text', '위암']), (e: unknown) => e instanceof UsageError && /needs --labels/.test(e.message));
    const deberta = tinyCheckpoint({ arch: 'deberta-v2', seed: 1 });
    await assert.rejects(predict(['--model', deberta, '--task', 'entities', '--labels', 'Disease', '--text', '위암']), (e: unknown) => e instanceof InputError && /GLiNER2 writes "extractor"/.test(e.message));
    const dir = tempDir();
    const long = path.join(dir, 'long.txt');
    writeFileSync(long, '짧은 문장\n' + Array.from({ length: 600 }, () => '위암').join(' ') + '\n');
    await assert.rejects(
      predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease', '--input', long, '--output', path.join(dir, 'o.jsonl')]),
      (e: unknown) => e instanceof InputError && e.message.startsWith(`${long}:2: text 2 is`) && /more than the model's 512/.test(e.message) && !e.message.includes('\n'),
    );
  });
});
