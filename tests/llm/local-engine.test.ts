/**
 * lib/llm/local-engine.ts on the tiny random models: `until` and `maxTokens` semantics, log-likelihoods
 * that agree with greedy completion, lm-eval's whitespace rule, the chat template, and the
 * JSON-schema property test: for random schemas (objects, enums, arrays, numbers, Korean strings)
 * every answer parses and validates under Python's `jsonschema` (Debian python3-jsonschema, the
 * validator the JSON Schema world uses).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { makeTinyGguf } from '../../scripts/make-tiny-gguf.js';
import { openLocalModel, type LocalModel } from '../../lib/llm/local-engine.js';
import { checkJsonSchema } from '../../lib/llm/json-schema.js';
import { generate } from '../../lib/llm/generate.js';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-local-engine-'));
const models: Record<'llama' | 'gemma2', LocalModel> = {} as never;

before(async () => {
  for (const arch of ['llama', 'gemma2'] as const) {
    const file = path.join(dir, `${arch}.gguf`);
    makeTinyGguf({ arch, out: file });
    models[arch] = await openLocalModel(file, { threads: 1, gpu: 'off' });
  }
});
after(async () => {
  for (const model of Object.values(models)) await model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('complete(): maxTokens ends with "length", an until string ends the answer before it', async () => {
  for (const model of Object.values(models)) {
    const long = await model.complete('환자의 위험 수준은', { maxTokens: 10 });
    assert.equal(long.finishReason, 'length');
    assert.equal(long.generatedTokens, 10);
    assert.ok(long.text.length > 0);
    // Stop at the first character of the free answer: the answer is what came before it.
    const stop = [...long.text.trim()][0]!;
    const cut = await model.complete('환자의 위험 수준은', { maxTokens: 10, until: [stop] });
    assert.equal(cut.finishReason, 'stop');
    assert.equal(cut.text, long.text.slice(0, long.text.indexOf(stop)));
    assert.deepEqual(await model.complete('환자의 위험 수준은', { maxTokens: 10 }), long, 'same answer again (greedy, prefix reuse)');
  }
});

test('loglikelihood(): the greedy continuation is greedy, its log-probability is <= 0, whitespace moves as in lm-eval', async () => {
  for (const model of Object.values(models)) {
    const context = '질문: 환자의 위험 수준은?\n답:';
    // The greedy next token, scored as a continuation: greedy, with the largest log-probability.
    const greedy = await model.complete(context, { maxTokens: 1 });
    const own = await model.loglikelihood(context, greedy.text);
    const next = await model.nextTokenLogprobs(model.tokenize(context));
    if (own.continuationTokens === 1) {
      assert.equal(own.isGreedy, true, `"${greedy.text}" should be greedy`);
      assert.ok(Math.abs(own.logprob - Math.max(...next)) < 1e-9);
    }
    assert.ok(own.logprob <= 0 && own.logprob > -100);
    const total = next.reduce((sum, logprob) => sum + Math.exp(logprob), 0);
    assert.ok(Math.abs(total - 1) < 1e-9, `probabilities sum to ${total}`);
    const other = await model.loglikelihood(context, ' 높음');
    assert.ok(other.continuationTokens >= 1);
    // "답: " + "높음" is scored as "답:" + " 높음".
    const moved = await model.loglikelihood(`${context} `, '높음');
    assert.ok(Math.abs(moved.logprob - other.logprob) < 1e-9);
    assert.equal(moved.continuationTokens, other.continuationTokens);
    // Two continuations partition: log P(a b | c) = log P(a | c) + log P(b | c a) when the tokens split there.
    const a = await model.loglikelihood('안녕하세요', ' 환자');
    const b = await model.loglikelihood('안녕하세요 환자', ' 위험');
    const ab = await model.loglikelihood('안녕하세요', ' 환자 위험');
    assert.ok(Math.abs(ab.logprob - (a.logprob + b.logprob)) < 1e-4, `${ab.logprob} vs ${a.logprob + b.logprob}`);
  }
});

test('chat(): the model\'s own chat template, as in its GGUF metadata', async () => {
  assert.equal(models.gemma2.applyChatTemplate([{ role: 'user', content: '안녕' }]), '<s><start_of_turn>user\n안녕<end_of_turn>\n<start_of_turn>model\n');
  assert.equal(models.llama.applyChatTemplate([{ role: 'system', content: 'JSON' }, { role: 'user', content: '안녕' }]),
    '<|im_start|>system\nJSON<|im_end|>\n<|im_start|>user\n안녕<|im_end|>\n<|im_start|>assistant\n');
  const answer = await models.gemma2.chat([{ role: 'user', content: '안녕' }], { maxTokens: 5 });
  const raw = await models.gemma2.complete('<start_of_turn>user\n안녕<end_of_turn>\n<start_of_turn>model\n', { maxTokens: 5 });
  assert.equal(answer.text, raw.text, 'the template and the same text typed out are the same tokens');
});

// Random schemas of the subset constrained generation supports, with Korean in keys, enums and consts.
const KOREAN = ['위험', '높음', '낮음', '애매', '대응', '미대응', '판단불가', '환자', '정답'];
const leaf: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constant({ type: 'number' }),
  fc.constant({ type: 'integer' }),
  fc.constant({ type: 'boolean' }),
  fc.constant({ type: 'null' }),
  fc.integer({ min: 1, max: 8 }).map((maxLength) => ({ type: 'string', maxLength })),
  fc.uniqueArray(fc.oneof(fc.constantFrom(...KOREAN), fc.integer({ min: -5, max: 99 })), { minLength: 1, maxLength: 4 }).map((values) => ({ enum: values })),
  fc.constantFrom(...KOREAN).map((value) => ({ const: value })),
);
const schemaArbitrary = fc.letrec<{ node: Record<string, unknown>; top: Record<string, unknown> }>((tie) => ({
  node: fc.oneof({ maxDepth: 2, depthIdentifier: 'schema' }, leaf, tie('top')),
  top: fc.oneof(
    { depthIdentifier: 'schema' },
    fc.uniqueArray(fc.tuple(fc.oneof(fc.constantFrom(...KOREAN), fc.constantFrom('risk', 'level', 'n', 'items')), tie('node')), { selector: ([k]) => k, minLength: 1, maxLength: 3 })
      .map((pairs) => ({ type: 'object', properties: Object.fromEntries(pairs), required: pairs.map(([k]) => k), additionalProperties: false })),
    fc.tuple(tie('node'), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 3 }))
      .map(([items, minItems, maxItems]) => ({ type: 'array', items, minItems, maxItems })),
  ),
})).top;

function pythonJsonschema(): string | false {
  const ok = spawnSync(PYTHON, ['-c', 'import jsonschema'], { stdio: 'ignore' }).status === 0;
  if (ok) return false;
  const reason = `${PYTHON} with jsonschema is missing (apt-get install python3-jsonschema)`;
  if (process.env.HANLAB_REQUIRE_REFERENCES === '1') throw new Error(`HANLAB_REQUIRE_REFERENCES=1 but ${reason}`);
  return reason;
}

test('JSON schema property: every answer of the tiny random models parses and validates (Python jsonschema)', { skip: pythonJsonschema() }, async () => {
  const checked: Array<{ schema: unknown; answer: string }> = [];
  await fc.assert(
    fc.asyncProperty(schemaArbitrary, fc.constantFrom('llama', 'gemma2'), fc.constantFrom('답:', '환자의 위험 수준은?', '{'), async (schema, arch, prompt) => {
      checkJsonSchema(schema, 'random schema');
      const answer = await models[arch as 'llama' | 'gemma2'].complete(prompt, { jsonSchema: schema, maxTokens: 400 });
      assert.equal(answer.finishReason, 'stop', `${JSON.stringify(schema)}: the answer did not finish: ${answer.text}`);
      JSON.parse(answer.text);
      checked.push({ schema, answer: answer.text });
    }),
    { numRuns: 60 },
  );
  // The same through generate(), as `hanlab generate --json-schema` runs it (cache and chat template included).
  const schema = { type: 'object', properties: { risk_level: { enum: ['높음', '애매', '낮음'] }, components: { type: 'array', items: { type: 'object', properties: { match: { enum: ['대응', '판단불가', '미대응'] } }, required: ['match'] }, maxItems: 3 } }, required: ['risk_level', 'components'] };
  const run = await generate(['특허 위험을 판단하세요', '청구항을 비교하세요'], { model: 'tiny.gguf', localModel: models.gemma2, jsonSchema: schema, maxTokens: 300, cachePath: path.join(dir, 'schema-cache.jsonl') });
  for (const answer of run.answers) checked.push({ schema, answer: answer.answer });

  const file = path.join(dir, 'answers.json');
  writeFileSync(file, JSON.stringify(checked));
  const script = [
    'import json, sys, jsonschema',
    'pairs = json.load(open(sys.argv[1], encoding="utf-8"))',
    'bad = []',
    'for i, p in enumerate(pairs):',
    '    jsonschema.Draft202012Validator.check_schema(p["schema"])',
    '    errors = [e.message for e in jsonschema.Draft202012Validator(p["schema"]).iter_errors(json.loads(p["answer"]))]',
    '    if errors: bad.append([i, p["answer"], errors[0]])',
    'print(json.dumps({"checked": len(pairs), "bad": bad}, ensure_ascii=False))',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { checked: number; bad: unknown[] };
  assert.equal(report.checked, checked.length);
  assert.deepEqual(report.bad, []);
});
