/**
 * The pieces of Python that lm-eval's files and prompts depend on, against Debian's Python itself:
 * `repr(float)`, `json.dumps(..., ensure_ascii=False)` (the basis of `doc_hash`), `random.Random(seed)`
 * and the regex dialect (what hanlab cannot state exactly is refused, not approximated).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { pyFloat, pythonFloatRepr, pythonJsonDumps } from '../../lib/llm/lmeval/python-json.js';
import { PythonRandom } from '../../lib/llm/lmeval/python-random.js';
import { pythonSplit, pythonStrip, translatePythonRegex, UnsupportedPythonRegex } from '../../lib/llm/lmeval/python-text.js';
import { PYTHON } from '../metrics/differential/references.js';
import { skipUnlessLmevalReference } from './lmeval-helpers.js';

const skip = skipUnlessLmevalReference();

function python<T>(code: string, input: unknown): T {
  const result = spawnSync(PYTHON, ['-B', '-c', code], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as T;
}

describe('Python semantics', { skip }, () => {
  test('repr(float) for 800 random doubles', () => {
    // JSON carries no -0, and Python reads 1 as an int: -0 is checked apart, the rest read with float()
    const values = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 800, seed: 5 }).filter((x) => !Object.is(x, -0));
    values.push(0, 1, 0.1, 1e16, 1e15, 123456789012345680, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, 0.30000000000000004, 2.5e-7);
    const expected = python<string[]>('import json,sys; print(json.dumps([repr(float(x)) for x in json.load(sys.stdin)]))', values);
    assert.deepEqual(values.map(pythonFloatRepr), expected);
    assert.deepEqual([-0, NaN, Infinity, -Infinity].map(pythonFloatRepr), ['-0.0', 'nan', 'inf', '-inf']);
  });

  test('json.dumps(doc, indent=2 or none, ensure_ascii=False) for 300 random documents', () => {
    const cell = fc.oneof(fc.string({ unit: fc.constantFrom('가', 'a', '"', '\\', '\n', '\t', '\u0001', '\u007f', '\u2028', '😀', ' ') }), fc.integer(), fc.boolean(), fc.constant(null));
    const docs = fc.sample(fc.dictionary(fc.string({ unit: fc.constantFrom('q', '가', '_', '"') , minLength: 1 }), cell, { maxKeys: 6 }), { numRuns: 300, seed: 9 });
    const expected = python<string[][]>('import json,sys; print(json.dumps([[json.dumps(d, indent=2, ensure_ascii=False), json.dumps(d, ensure_ascii=False)] for d in json.load(sys.stdin)]))', docs);
    assert.deepEqual(docs.map((doc) => [pythonJsonDumps(doc, 2), pythonJsonDumps(doc)]), expected);
    assert.equal(pythonJsonDumps({ x: pyFloat(1), y: [pyFloat(0.5), 2], z: {} }), '{"x": 1.0, "y": [0.5, 2], "z": {}}');
  });

  test('random.Random(seed).sample: both of CPython strategies, several seeds', () => {
    const draws = (seed: number) => {
      const random = new PythonRandom(seed);
      return [random.sample([...Array(30).keys()], 4), random.sample([...Array(3000).keys()], 9), random.sample([...Array(7).keys()], 7), random.getrandbits(32)];
    };
    const seeds = [0, 1, 1234, 42, 2 ** 40 + 7];
    const expected = python<unknown[]>(
      'import json,random,sys\nout=[]\nfor s in json.load(sys.stdin):\n r=random.Random(s); out.append([r.sample(range(30),4), r.sample(range(3000),9), r.sample(range(7),7), r.getrandbits(32)])\nprint(json.dumps(out))',
      seeds,
    );
    assert.deepEqual(seeds.map(draws), expected);
  });

  test('str.strip / str.split use Python whitespace', () => {
    const texts = fc.sample(fc.string({ unit: fc.constantFrom(' ', '\u001c', '\u0085', '\u3000', '\ufeff', '\u200b', '가', 'a', '\n') }), { numRuns: 300, seed: 3 });
    const expected = python<unknown[]>('import json,sys; print(json.dumps([[t.strip(), t.lstrip(), t.rstrip(), t.split(), t.split(None, 1)] for t in json.load(sys.stdin)], ensure_ascii=False))', texts);
    assert.deepEqual(texts.map((t) => [pythonStrip(t), pythonStrip(t, null, 'left'), pythonStrip(t, null, 'right'), pythonSplit(t), pythonSplit(t, null, 1)]), expected);
  });
});

test('Python regex constructs hanlab cannot state exactly are refused, not approximated', () => {
  for (const pattern of ['(?x) a b', 'a++', '(?>a)', '[\\W]', '(?(1)a|b)', '\\N{DIGIT ONE}', '[a']) {
    assert.throws(() => translatePythonRegex(pattern), UnsupportedPythonRegex, pattern);
  }
  assert.deepEqual(translatePythonRegex('(?i)a{,2}\\-'), { source: 'a{0,2}-', flags: 'ui' });
});
