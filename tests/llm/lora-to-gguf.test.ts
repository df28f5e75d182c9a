/**
 * lib/llm/lora-to-gguf + lib/llm/peft-adapter + `hanlab convert lora`: tiny PEFT adapters for the tiny
 * llama / gemma2 models (and gemma3 / exaone names on re-labelled tiny bases) convert into GGUF LoRAs
 * laid out as llama.cpp reads them; llama's q/k row order agrees with RoPE (property test); every
 * adapter that cannot be converted faithfully is one InputError naming its file and field (exit 2).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { InputError, UsageError } from '../../lib/errors.js';
import { metadataNumber, metadataString, readGguf, readTensor } from '../../lib/llm/gguf/read.js';
import { gguf, type GgufValue } from '../../lib/llm/gguf/values.js';
import { writeGgufFile } from '../../lib/llm/gguf/write.js';
import { convertLoraToGguf, ggufTarget, permuteRopeRows } from '../../lib/llm/lora-to-gguf.js';
import { peftScaling, readPeftLoraAdapter } from '../../lib/llm/peft-adapter.js';
import { SafetensorsArchive } from '../../lib/models/safetensors.js';
import { makeTinyGguf, TINY_SIZES, tinyGgufContent } from '../../scripts/make-tiny-gguf.js';
import { tinyModuleShapes, writeTinyAdapter } from './tiny-lora.js';

const root = mkdtempSync(path.join(tmpdir(), 'hanlab-lora-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string) => path.join(root, `${counter++}-${name}`);

const bases = {
  llama: path.join(root, 'llama.gguf'),
  gemma2: path.join(root, 'gemma2.gguf'),
};
makeTinyGguf({ arch: 'llama', out: bases.llama });
makeTinyGguf({ arch: 'gemma2', out: bases.gemma2 });

/** A tiny base of another architecture name: the tiny model's tensors with its metadata keys renamed. */
function relabelledBase(from: 'llama' | 'gemma2', to: string, change: (metadata: Map<string, GgufValue>) => void = () => {}): string {
  const content = tinyGgufContent(from);
  const metadata = new Map<string, GgufValue>();
  for (const [key, value] of content.metadata as Iterable<[string, GgufValue]>) {
    metadata.set(key.startsWith(`${from}.`) ? `${to}.${key.slice(from.length + 1)}` : key, key === 'general.architecture' ? gguf.string(to) : value);
  }
  change(metadata);
  const file = fresh(`${to}.gguf`);
  writeGgufFile(file, { metadata, tensors: content.tensors });
  return file;
}

/** B as PyTorch [out, r] from the adapter file. */
function adapterTensor(dir: string, name: string): Float32Array {
  return SafetensorsArchive.open(path.join(dir, 'adapter_model.safetensors')).read(name).values;
}

function expectInputError(run: () => unknown, pattern: RegExp, where?: { file?: string; field?: string }): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    if (where?.file !== undefined) assert.equal(error.file, where.file);
    if (where?.field !== undefined) assert.equal(error.field, where.field);
    return true;
  });
}

describe('converting tiny adapters', () => {
  test('llama: metadata, names, dims, A as is, B of q/k reordered per head, v/o/ffn/lm_head as is', () => {
    const adapter = writeTinyAdapter(fresh('llama-adapter'), { arch: 'llama', r: 4, alpha: 8 });
    const out = fresh('llama-lora.gguf');
    const result = convertLoraToGguf({ base: bases.llama, adapter, out });
    assert.equal(result.architecture, 'llama');
    assert.equal(result.layers.length, TINY_SIZES.layers * 7 + 1);
    assert.deepEqual(result.skipped, []);
    const lora = readGguf(out);
    assert.equal(metadataString(lora, 'general.architecture'), 'llama');
    assert.equal(metadataString(lora, 'general.type'), 'adapter');
    assert.equal(metadataString(lora, 'adapter.type'), 'lora');
    assert.equal(metadataNumber(lora, 'adapter.lora.alpha'), 8);
    // Every tensor pairs with a base tensor, in the base file's order, with llama.cpp's dims.
    const base = readGguf(bases.llama);
    const baseOrder = base.tensors.map((t) => t.name);
    const names = lora.tensors.map((t) => t.name);
    assert.deepEqual(names.filter((n) => n.endsWith('.lora_a')).map((n) => n.slice(0, -'.lora_a'.length)), baseOrder.filter((n) => names.includes(`${n}.lora_a`)));
    for (const t of lora.tensors) {
      const target = base.tensors.find((b) => b.name === t.name.replace(/\.lora_[ab]$/, ''))!;
      assert.equal(t.typeName, 'F32');
      if (t.name.endsWith('.lora_a')) assert.deepEqual(t.dims, [target.dims[0], 4]);
      else assert.deepEqual(t.dims, [4, target.dims[1]]);
    }
    const heads = TINY_SIZES.heads;
    const kvHeads = TINY_SIZES.kvHeads;
    const shapes = tinyModuleShapes('llama');
    const check = (module: string, tensor: string, permutedHeads?: number) => {
      const a = adapterTensor(adapter, `base_model.model.${module}.lora_A.weight`);
      const b = adapterTensor(adapter, `base_model.model.${module}.lora_B.weight`);
      assert.deepEqual(readTensor(lora, `${tensor}.lora_a`), a);
      const expected = permutedHeads ? permuteRopeRows(b, shapes.get(module)!.outputs, 4, permutedHeads) : b;
      assert.deepEqual(readTensor(lora, `${tensor}.lora_b`), expected);
      if (permutedHeads) assert.notDeepEqual(expected, b);
    };
    check('model.layers.1.self_attn.q_proj', 'blk.1.attn_q.weight', heads);
    check('model.layers.0.self_attn.k_proj', 'blk.0.attn_k.weight', kvHeads);
    check('model.layers.0.self_attn.v_proj', 'blk.0.attn_v.weight');
    check('model.layers.1.self_attn.o_proj', 'blk.1.attn_output.weight');
    check('model.layers.0.mlp.down_proj', 'blk.0.ffn_down.weight');
    check('lm_head', 'output.weight');
  });

  test('gemma2: no row reordering; F16 on request', () => {
    const adapter = writeTinyAdapter(fresh('gemma2-adapter'), { arch: 'gemma2', r: 2, alpha: 4, modules: ['model.layers.0.self_attn.q_proj', 'model.layers.1.mlp.gate_proj'] });
    const out = fresh('gemma2-lora.gguf');
    const result = convertLoraToGguf({ base: bases.gemma2, adapter, out, type: 'F16' });
    assert.deepEqual(result.layers, [
      { module: 'model.layers.0.self_attn.q_proj', tensor: 'blk.0.attn_q.weight' },
      { module: 'model.layers.1.mlp.gate_proj', tensor: 'blk.1.ffn_gate.weight' },
    ]);
    const lora = readGguf(out);
    assert.equal(metadataString(lora, 'general.architecture'), 'gemma2');
    assert.deepEqual(lora.tensors.map((t) => [t.name, t.typeName, t.dims]), [
      ['blk.0.attn_q.weight.lora_a', 'F16', [32, 2]],
      ['blk.0.attn_q.weight.lora_b', 'F16', [2, 32]],
      ['blk.1.ffn_gate.weight.lora_a', 'F16', [32, 2]],
      ['blk.1.ffn_gate.weight.lora_b', 'F16', [2, 64]],
    ]);
    const b = adapterTensor(adapter, 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight');
    readTensor(lora, 'blk.0.attn_q.weight.lora_b').forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= Math.abs(b[i]!) * 1e-3 + 1e-7));
  });

  test('gemma3: both language_model prefixes map to the text model; the vision tower is skipped and named', () => {
    const base = relabelledBase('gemma2', 'gemma3');
    const adapter = writeTinyAdapter(fresh('gemma3-adapter'), {
      arch: 'gemma2',
      modules: ['model.language_model.layers.0.self_attn.q_proj', 'language_model.model.layers.1.mlp.up_proj', 'model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj'],
    });
    const result = convertLoraToGguf({ base, adapter, out: fresh('gemma3-lora.gguf') });
    assert.equal(result.architecture, 'gemma3');
    assert.deepEqual(result.layers.map((l) => l.tensor), ['blk.0.attn_q.weight', 'blk.1.ffn_up.weight']);
    assert.deepEqual(result.skipped.map((s) => s.module), ['model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj']);
    assert.match(result.skipped[0]!.why, /vision tower.*mmproj/);
  });

  test('exaone: transformer.h names, no row reordering (exaone keeps HF order)', () => {
    const base = relabelledBase('llama', 'exaone');
    const exaoneNames: Record<string, string> = {
      'model.layers.0.self_attn.q_proj': 'transformer.h.0.attn.attention.q_proj',
      'model.layers.0.self_attn.o_proj': 'transformer.h.0.attn.attention.out_proj',
      'model.layers.1.mlp.gate_proj': 'transformer.h.1.mlp.c_fc_0',
      'model.layers.1.mlp.up_proj': 'transformer.h.1.mlp.c_fc_1',
      'model.layers.1.mlp.down_proj': 'transformer.h.1.mlp.c_proj',
      lm_head: 'lm_head',
    };
    const source = writeTinyAdapter(fresh('tmp'), { arch: 'llama', modules: Object.keys(exaoneNames) });
    const archive = SafetensorsArchive.open(path.join(source, 'adapter_model.safetensors'));
    const tensors = Object.fromEntries(archive.names().map((n) => {
      const module = n.slice('base_model.model.'.length).replace(/\.lora_[AB]\.weight$/, '');
      return [n.replace(module, exaoneNames[module]!), { shape: archive.read(n).shape, values: archive.read(n).values }];
    }));
    const adapter = writeTinyAdapter(fresh('exaone-adapter'), { arch: 'llama', modules: [], tensors });
    const result = convertLoraToGguf({ base, adapter, out: fresh('exaone-lora.gguf') });
    assert.deepEqual(result.layers.map((l) => l.tensor), ['output.weight', 'blk.0.attn_q.weight', 'blk.0.attn_output.weight', 'blk.1.ffn_gate.weight', 'blk.1.ffn_up.weight', 'blk.1.ffn_down.weight']);
    const lora = readGguf(result.out);
    assert.deepEqual(readTensor(lora, 'blk.0.attn_q.weight.lora_b'), adapterTensor(adapter, 'base_model.model.transformer.h.0.attn.attention.q_proj.lora_B.weight'));
  });

  test('rsLoRA folds alpha/√r into alpha', () => {
    const adapter = writeTinyAdapter(fresh('rslora'), { arch: 'gemma2', r: 4, alpha: 8, modules: ['model.layers.0.self_attn.v_proj'], config: { use_rslora: true } });
    assert.equal(peftScaling(readPeftLoraAdapter(adapter)), 4);
    const result = convertLoraToGguf({ base: bases.gemma2, adapter, out: fresh('rslora.gguf') });
    assert.equal(result.alpha, 16);
    assert.equal(metadataNumber(readGguf(result.out), 'adapter.lora.alpha'), 16);
  });
});

describe('ggufTarget', () => {
  test('maps the modules LoRA wraps and nothing else', () => {
    assert.deepEqual(ggufTarget('llama', 'model.layers.12.mlp.gate_proj'), { tensor: 'blk.12.ffn_gate.weight' });
    assert.deepEqual(ggufTarget('gemma2', 'model.layers.3.self_attn.o_proj'), { tensor: 'blk.3.attn_output.weight' });
    assert.deepEqual(ggufTarget('gemma3', 'language_model.lm_head'), { tensor: 'output.weight' });
    assert.deepEqual(ggufTarget('exaone', 'transformer.h.31.attn.attention.k_proj'), { tensor: 'blk.31.attn_k.weight' });
    assert.equal(ggufTarget('llama', 'transformer.h.0.attn.attention.q_proj'), undefined);
    assert.equal(ggufTarget('exaone', 'model.layers.0.self_attn.q_proj'), undefined);
    assert.equal(ggufTarget('llama', 'model.layers.0.self_attn.rotary_emb'), undefined);
    assert.equal(ggufTarget('llama', 'model.vision_tower.x.q_proj'), undefined, 'only gemma3 has a vision tower to skip');
    assert.ok('skip' in (ggufTarget('gemma3', 'multi_modal_projector.mm_input_projection') ?? {}));
  });
});

describe('permuteRopeRows', () => {
  // RoPE on one head: HF rotates (x[i], x[i + d/2]); llama.cpp's normal mode rotates (x[2i], x[2i + 1]).
  const rotateHalves = (x: number[], angles: number[]) => {
    const half = x.length / 2;
    const out = [...x];
    for (let i = 0; i < half; i++) {
      out[i] = x[i]! * Math.cos(angles[i]!) - x[i + half]! * Math.sin(angles[i]!);
      out[i + half] = x[i]! * Math.sin(angles[i]!) + x[i + half]! * Math.cos(angles[i]!);
    }
    return out;
  };
  const rotatePairs = (x: number[], angles: number[]) => {
    const out = [...x];
    for (let i = 0; i < x.length / 2; i++) {
      out[2 * i] = x[2 * i]! * Math.cos(angles[i]!) - x[2 * i + 1]! * Math.sin(angles[i]!);
      out[2 * i + 1] = x[2 * i]! * Math.sin(angles[i]!) + x[2 * i + 1]! * Math.cos(angles[i]!);
    }
    return out;
  };

  test('rotating pairs of the reordered rows = reordering the rows rotated by halves (any heads, head size, columns)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 ** 31 }),
      (heads, half, columns, seed) => {
        const headDim = 2 * half;
        const rows = heads * headDim;
        let state = seed;
        const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
        const values = Float32Array.from({ length: rows * columns }, next);
        const angles = Array.from({ length: half }, () => next() * Math.PI);
        const permuted = permuteRopeRows(values, rows, columns, heads);
        for (let h = 0; h < heads; h++) {
          for (let c = 0; c < columns; c++) {
            const column = (m: Float32Array) => Array.from({ length: headDim }, (_, i) => m[(h * headDim + i) * columns + c]!);
            const viaHf = rotateHalves(column(values), angles);
            const hfPermuted = permuteRopeRows(Float32Array.from(viaHf), headDim, 1, 1);
            const viaGguf = rotatePairs(column(permuted), angles);
            viaGguf.forEach((v, i) => assert.ok(Math.abs(v - hfPermuted[i]!) < 1e-5, `head ${h} column ${c} row ${i}`));
          }
        }
        // A permutation of whole rows: the same rows, each once.
        const rowKey = (m: Float32Array, r: number) => Array.from(m.subarray(r * columns, (r + 1) * columns)).join();
        assert.deepEqual(Array.from({ length: rows }, (_, r) => rowKey(permuted, r)).sort(), Array.from({ length: rows }, (_, r) => rowKey(values, r)).sort());
      },
    ), { numRuns: 200 });
  });

  test('refuses heads of odd size', () => {
    assert.throws(() => permuteRopeRows(new Float32Array(6), 6, 1, 2), RangeError);
  });
});

describe('adapters that cannot be converted faithfully', () => {
  const gemmaAdapter = (options: Parameters<typeof writeTinyAdapter>[1] = { arch: 'gemma2' }) =>
    writeTinyAdapter(fresh('adapter'), { modules: ['model.layers.0.self_attn.q_proj'], ...options });
  const convert = (adapter: string, base = bases.gemma2, out = fresh('out.gguf')) => convertLoraToGguf({ base, adapter, out });

  test('missing folder, config, weights; a pickle instead of safetensors', () => {
    const missing = path.join(root, 'nowhere');
    expectInputError(() => convert(missing), /no such adapter folder/, { file: missing });
    const noConfig = gemmaAdapter();
    rmSync(path.join(noConfig, 'adapter_config.json'));
    expectInputError(() => convert(noConfig), /has no adapter_config\.json: not a PEFT adapter folder/, { file: noConfig });
    const pickle = gemmaAdapter();
    renameSync(path.join(pickle, 'adapter_model.safetensors'), path.join(pickle, 'adapter_model.bin'));
    expectInputError(() => convert(pickle), /adapter_model\.bin \(a PyTorch pickle\).*safe_serialization=True/);
    const file = path.join(gemmaAdapter(), 'adapter_config.json');
    expectInputError(() => convert(file), /is a file; --adapter names the PEFT adapter folder/);
  });

  test('unsupported PEFT options are named', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ use_dora: true }, 'use_dora', /DoRA adapters are not supported/],
      [{ rank_pattern: { q_proj: 8 } }, 'rank_pattern', /per-module ranks \(rank_pattern\) are not supported/],
      [{ alpha_pattern: { q_proj: 32 } }, 'alpha_pattern', /per-module alphas/],
      [{ modules_to_save: ['lm_head'] }, 'modules_to_save', /saves whole modules \(\["lm_head"\]\)/],
      [{ bias: 'lora_only' }, 'bias', /bias "lora_only"/],
      [{ peft_type: 'IA3' }, 'peft_type', /only LoRA adapters/],
      [{ r: 0 }, 'r', /must be a positive integer/],
      [{ lora_alpha: 'sixteen' }, 'lora_alpha', /must be a positive number/],
    ];
    for (const [config, field, pattern] of cases) {
      const adapter = gemmaAdapter({ arch: 'gemma2', config });
      expectInputError(() => convert(adapter), pattern, { file: path.join(adapter, 'adapter_config.json'), field });
    }
    const notJson = gemmaAdapter();
    writeFileSync(path.join(notJson, 'adapter_config.json'), '{"r": 4,');
    expectInputError(() => convert(notJson), /is not JSON/);
    const proto = gemmaAdapter();
    writeFileSync(path.join(proto, 'adapter_config.json'), readFileSync(path.join(proto, 'adapter_config.json'), 'utf8').replace('{', '{"__proto__": {"use_dora": true},'));
    assert.equal(convert(proto).layers.length, 1, '"__proto__" in the config is only a key');
    assert.equal(({} as Record<string, unknown>).use_dora, undefined);
  });

  test('tensors that are not plain LoRA matrices, or do not pair, or disagree with r', () => {
    const weights = (dir: string) => path.join(dir, 'adapter_model.safetensors');
    const embedding = gemmaAdapter({ arch: 'gemma2', tensors: { 'base_model.model.model.embed_tokens.lora_embedding_A': { shape: [4, 10], values: new Float32Array(40) } } });
    expectInputError(() => convert(embedding), /LoRA on an embedding layer is not converted/, { file: weights(embedding), field: 'base_model.model.model.embed_tokens.lora_embedding_A' });
    const dora = gemmaAdapter({ arch: 'gemma2', tensors: { 'base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector': { shape: [32], values: new Float32Array(32) } } });
    expectInputError(() => convert(dora), /DoRA magnitude vector/);
    const saved = gemmaAdapter({ arch: 'gemma2', tensors: { 'base_model.model.lm_head.modules_to_save.default.weight': { shape: [2, 2], values: new Float32Array(4) } } });
    expectInputError(() => convert(saved), /is not a LoRA matrix/);
    const lonely = gemmaAdapter({ arch: 'gemma2', tensors: { 'base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight': { shape: [4, 32], values: new Float32Array(128) } } });
    expectInputError(() => convert(lonely), /has lora_A but no lora_B for module "model\.layers\.1\.self_attn\.v_proj"/);
    const rank = gemmaAdapter({ arch: 'gemma2', config: { r: 8 } });
    expectInputError(() => convert(rank), /has rank 4 .* but adapter_config\.json says r = 8/);
  });

  test('an adapter for another base: wider layers, more layers, another architecture, a tied lm_head', () => {
    const wide = gemmaAdapter({ arch: 'gemma2', tensors: {
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { shape: [4, 48], values: new Float32Array(4 * 48) },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': { shape: [48, 4], values: new Float32Array(48 * 4) },
    } });
    expectInputError(() => convert(wide), /module "model\.layers\.0\.self_attn\.q_proj" is 48×48 \(out×in\) but the base's blk\.0\.attn_q\.weight is 32×32: the adapter was trained on another base model than gemma2\.gguf/);
    const deep = gemmaAdapter({ arch: 'gemma2', modules: ['model.layers.5.self_attn.q_proj'] });
    expectInputError(() => convert(deep), /has no tensor blk\.5\.attn_q\.weight \(it has 2 layers\): the adapter was trained on another base model/);
    const exaone = gemmaAdapter({ arch: 'gemma2', modules: ['transformer.h.0.attn.attention.q_proj'] });
    expectInputError(() => convert(exaone, bases.llama), /module "transformer\.h\.0\.attn\.attention\.q_proj" has no counterpart in a llama GGUF .*is the adapter for another architecture\?/);
    const head = writeTinyAdapter(fresh('head'), { arch: 'llama', modules: ['lm_head'] });
    expectInputError(() => convert(head, bases.gemma2), /no output\.weight: it ties its output layer to token_embd/);
  });

  test('bases that are not a model hanlab converts for', () => {
    const adapter = gemmaAdapter();
    const text = fresh('not.gguf');
    writeFileSync(text, 'hello');
    expectInputError(() => convert(adapter, text), /not a GGUF file/, { file: text });
    const qwen = relabelledBase('llama', 'qwen2');
    expectInputError(() => convert(adapter, qwen), /is a qwen2 model; hanlab converts LoRA adapters for llama, gemma2, gemma3, exaone/, { field: 'general.architecture' });
    const lora = convertLoraToGguf({ base: bases.gemma2, adapter, out: fresh('lora.gguf') }).out;
    expectInputError(() => convert(adapter, lora), /is itself an adapter/);
    assert.throws(() => convertLoraToGguf({ base: bases.gemma2, adapter, out: bases.gemma2 }), UsageError);
    assert.ok(readGguf(bases.gemma2).tensors.length > 0, 'the base is intact');
  });
});

describe('hanlab convert lora', () => {
  const hanlab = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['bin/hanlab.mjs', 'convert', 'lora', ...args], { encoding: 'utf8' }, (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });

  test('converts, says what it wrote; bad input is one line and exit 2, and writes nothing', async () => {
    const adapter = writeTinyAdapter(fresh('cli-adapter'), { arch: 'llama', r: 4, alpha: 16 });
    const out = path.join(fresh('cli'), 'nested', 'adapter.gguf');
    const ok = await hanlab('--base', bases.llama, '--adapter', adapter, '--out', out);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^wrote .*adapter\.gguf: 15 LoRA layers for llama, rank 4, alpha 16, F32, \d+\.\d KB\n$/);
    assert.ok(existsSync(out));

    const dora = writeTinyAdapter(fresh('cli-dora'), { arch: 'llama', config: { use_dora: true } });
    const refused = fresh('refused.gguf');
    const bad = await hanlab('--base', bases.llama, '--adapter', dora, '--out', refused);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /^hanlab convert lora: .*adapter_config\.json, field "use_dora": DoRA adapters are not supported/);
    assert.ok(!existsSync(refused));

    const usage = await hanlab('--base', bases.llama, '--out', refused);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--adapter is required/);
    const type = await hanlab('--base', bases.llama, '--adapter', adapter, '--out', refused, '--type', 'q8_0');
    assert.equal(type.code, 2);
    assert.match(type.stderr, /--type must be f32 or f16, got 'q8_0'/);
  });
});
