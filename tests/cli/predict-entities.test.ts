/**
 * `hanlab predict --task entities` end to end on a tiny random GLiNER2 folder: JSONL (with ids) and
 * plain-text input, JSONL output whose spans are slices of the texts, read by `hanlab eval spans`
 * as it is; a text longer than the model takes is windowed; missing, empty or repeated labels, folders
 * that are not GLiNER2's and window options out of range are one line each.
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

  test('bad input: labels missing, empty or repeated, a folder without GLiNER2\'s config, window options out of range: one line each', async () => {
    const oneLine = (pattern: RegExp, kind: typeof InputError | typeof UsageError) => (e: unknown) => e instanceof kind && pattern.test(e.message) && !e.message.includes('\n');
    await assert.rejects(predict(['--model', tiny(), '--task', 'entities', '--text', '위암']), oneLine(/needs --labels/, UsageError));
    await assert.rejects(predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease,,Body', '--text', '위암']), oneLine(/an entity label is empty/, InputError));
    await assert.rejects(predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease,Disease', '--text', '위암']), oneLine(/entity label "Disease" is given twice/, InputError));
    const deberta = tinyCheckpoint({ arch: 'deberta-v2', seed: 1 });
    await assert.rejects(predict(['--model', deberta, '--task', 'entities', '--labels', 'Disease', '--text', '위암']), oneLine(/GLiNER2 writes "extractor"/, InputError));
    const noConfig = tempDir();
    await assert.rejects(predict(['--model', noConfig, '--task', 'entities', '--labels', 'Disease', '--text', '위암']), oneLine(/is not a GLiNER2 model folder: config\.json is missing/, InputError));
    await assert.rejects(predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease', '--window-words', '10', '--window-overlap', '10', '--text', '위암']), oneLine(/--window-overlap must be an integer from 0 to 9/, UsageError));
    await assert.rejects(predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease', '--window-words', '0', '--text', '위암']), oneLine(/--window-words must be a positive integer/, UsageError));
    await assert.rejects(predict(['--model', tiny(), '--window-words', '10', '--text', '위암']), oneLine(/go with --task entities/, UsageError));
  });

  test('a text longer than the model takes is extracted in windows, as GLiNER2 does, not refused', async () => {
    const dir = tempDir();
    const long = path.join(dir, 'long.txt');
    const text = Array.from({ length: 600 }, () => '위암').join(' ');
    writeFileSync(long, '짧은 문장\n' + text + '\n');
    const out = path.join(dir, 'o.jsonl');
    assert.equal(await predict(['--model', tiny(), '--task', 'entities', '--labels', 'Disease', '--threshold', '0', '--input', long, '--output', out]), 0);
    const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.text), ['짧은 문장', text]);
    for (const e of records[1].entities) assert.equal(text.slice(e.start, e.end), e.text);
    // Threshold 0 keeps a span at every place the count head allows: the windows reach the text's end.
    assert.ok(records[1].entities.length > 0 && records[1].entities.at(-1).end > text.length - 20);
  });
});
