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
import { makeTinyGguf, tinyGgufContent } from '../../scripts/make-tiny-gguf.js';
import { writeGgufFile } from '../../lib/llm/gguf/write.js';
import { gguf, type GgufValue } from '../../lib/llm/gguf/values.js';
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

test('loglikelihood(): a choice list over one context (multiple_choice) scores the same in any order, with the prefix reused', async () => {
  const context = '질문: 다음 중 옳은 것은?\nA. 가나다\nB. 라마바\n정답:';
  const choices = [' A. 가나다', ' B. 라마바', ' C. 사아자 차카', ' D. 타파하'];
  for (const [arch, model] of Object.entries(models)) {
    const forward = [];
    for (const choice of choices) forward.push(await model.loglikelihood(context, choice));
    assert.ok(forward.every((r) => r.continuationTokens > 1), 'multi-token continuations');
    const backward = [];
    for (const choice of [...choices].reverse()) backward.unshift(await model.loglikelihood(context, choice));
    // A fresh model of the same file, one choice each, reuses nothing.
    const fresh = await openLocalModel(path.join(dir, `${arch}.gguf`), { threads: 1, gpu: 'off' });
    try {
      for (let i = 0; i < choices.length; i++) {
        const alone = await fresh.loglikelihood(context, choices[i]!);
        await fresh.complete('다른 질문', { maxTokens: 1 });
        assert.ok(Math.abs(forward[i]!.logprob - alone.logprob) < 1e-4, `${arch} ${choices[i]}: ${forward[i]!.logprob} vs ${alone.logprob}`);
        assert.ok(Math.abs(backward[i]!.logprob - alone.logprob) < 1e-4, `${arch} ${choices[i]} (reversed): ${backward[i]!.logprob} vs ${alone.logprob}`);
      }
    } finally {
      await fresh.dispose();
    }
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

/**
 * A tiny llama with a GPT-2-style byte-level BPE vocabulary (as exaone and llama-3 have): the 256 byte
 * characters of `bytes_to_unicode`, and merges that make Hangul from partial tokens (EA B0 = `ê°`, the
 * first two bytes of 가) and tokens that cross a character boundary (80 EB: the end of 가, the start of 나).
 */
function byteLevelBpeModel(file: string): void {
  const printable = [...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => 0x21 + i), ...Array.from({ length: 0xac - 0xa1 + 1 }, (_, i) => 0xa1 + i), ...Array.from({ length: 0xff - 0xae + 1 }, (_, i) => 0xae + i)];
  const charOf = new Map<number, string>(printable.map((b) => [b, String.fromCharCode(b)]));
  let shifted = 0;
  for (let b = 0; b < 256; b++) if (!charOf.has(b)) charOf.set(b, String.fromCharCode(256 + shifted++));
  const text = (bytes: Iterable<number>) => [...bytes].map((b) => charOf.get(b)!).join('');
  const tokens: string[] = [];
  const types: number[] = [];
  const merges: string[] = [];
  const add = (token: string, type = 1) => {
    if (!tokens.includes(token)) {
      tokens.push(token);
      types.push(type);
    }
  };
  for (let b = 0; b < 256; b++) add(charOf.get(b)!);
  const syllables = [...'가나다위험높음낮음환자정답대응판단불가'];
  let previous: number[] | null = null;
  for (const syllable of new Set(syllables)) {
    const bytes = [...Buffer.from(syllable, 'utf8')];
    if (!tokens.includes(text(bytes.slice(0, 2)))) merges.push(`${text(bytes.slice(0, 1))} ${text(bytes.slice(1, 2))}`);
    add(text(bytes.slice(0, 2)));
    merges.push(`${text(bytes.slice(0, 2))} ${text(bytes.slice(2))}`);
    add(text(bytes));
    if (previous) {
      // A token across the boundary: the last byte of the previous syllable and the lead byte of this one.
      merges.push(`${text(previous.slice(2))} ${text(bytes.slice(0, 1))}`);
      add(text([previous[2]!, bytes[0]!]));
    }
    previous = bytes;
  }
  add('<|begin_of_text|>', 3);
  add('<|end_of_text|>', 3);
  const content = tinyGgufContent('llama', 5);
  const n = tokens.length;
  const embedding = 32;
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2;
  const tokenizer: [string, GgufValue][] = [
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.tokens', gguf.array('string', tokens)],
    ['tokenizer.ggml.token_type', gguf.array('int32', types)],
    ['tokenizer.ggml.merges', gguf.array('string', merges)],
    ['tokenizer.ggml.bos_token_id', gguf.uint32(tokens.indexOf('<|begin_of_text|>'))],
    ['tokenizer.ggml.eos_token_id', gguf.uint32(tokens.indexOf('<|end_of_text|>'))],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
  ];
  const metadata = [...(content.metadata as Iterable<readonly [string, GgufValue]>)]
    .filter(([key]) => !key.startsWith('tokenizer.'))
    .map(([key, value]): [string, GgufValue] => [key, key === 'llama.vocab_size' ? gguf.uint32(n) : value]);
  const tensors = content.tensors.map((tensor) =>
    tensor.name === 'token_embd.weight' || tensor.name === 'output.weight'
      ? { ...tensor, dims: [embedding, n], data: Float32Array.from({ length: embedding * n }, () => random() * (tensor.name === 'output.weight' ? 0.2 : 1)) }
      : tensor,
  );
  writeGgufFile(file, { metadata: [...metadata, ...tokenizer], tensors });
}

test('byte-level BPE vocabulary (exaone, llama-3): constrained answers never break a character', async () => {
  const file = path.join(dir, 'bpe.gguf');
  byteLevelBpeModel(file);
  const model = await openLocalModel(file, { threads: 1, gpu: 'off' });
  try {
    assert.equal(model.tokenize('가나').length, 2 + 1, 'BOS, 가, 나: the merges make whole syllables');
    const schemas = [{ type: 'string', maxLength: 4 }, { type: 'string', maxLength: 9 }, { type: 'array', items: { type: 'string', maxLength: 3 }, maxItems: 3 }];
    let hangul = 0;
    for (const schema of schemas) {
      for (const [i, prompt] of ['가', '위험', '환자 정답', '나다', '{', '판단'].entries()) {
        const answer = await model.complete(prompt, { jsonSchema: schema, maxTokens: 60, temperature: 1, seed: i + 1 });
        assert.ok(!answer.text.includes('\uFFFD'), `${JSON.stringify(schema)} ${prompt}: a broken character in ${JSON.stringify(answer.text)}`);
        const value = JSON.parse(answer.text) as string | string[];
        for (const item of Array.isArray(value) ? value : [value]) {
          assert.ok([...item].length <= (schema.maxLength ?? 3), `${JSON.stringify(item)} is longer than the schema allows`);
          hangul += [...item].filter((c) => c >= '가' && c <= '힣').length;
        }
      }
    }
    assert.ok(hangul > 0, 'the answers hold Hangul, so partial tokens were generated and joined');
  } finally {
    await model.dispose();
  }
});
