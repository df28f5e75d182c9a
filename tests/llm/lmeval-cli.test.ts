/**
 * `hanlab lmeval` end to end on KorMedMCQA-format files written here: with a scripted model, the
 * prompts are byte-identical to jinja2 rendering lm-eval's YAML (few-shot included), the metrics equal a
 * recomputation by lm-eval's own code from the logged responses, and the files have lm-eval's layout;
 * bad task files are one line and exit 2; on the tiny random GGUF model the real engine runs the same path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../cli/hanlab.js';
import { makeTinyGguf } from '../../scripts/make-tiny-gguf.js';
import { runLmevalCommand } from '../../cli/commands/lmeval.js';
import { loadKorMedMcqa } from '../../lib/data/kormedmcqa.js';
import { kormedmcqaDoc } from '../../lib/llm/lmeval/task-data.js';
import { shippedTasksDir } from '../../lib/llm/lmeval/task-index.js';
import { quietly } from '../train/helpers.js';
import { lmevalReference, ScriptedModel, skipUnlessLmevalReference, writeMcqaCsv, type McqaRow } from './lmeval-helpers.js';

const skipReference = skipUnlessLmevalReference();

const ANSWERS = ['정답: B', 'C', ' d', '정답은 A 입니다', '잘 모르겠습니다', 'E. 입니다', '**정답: b**', 'B정답', '(A)'];
function scriptedAnswer(prompt: string): string {
  const hash = createHash('sha256').update(prompt).digest();
  return ANSWERS[hash[0] % ANSWERS.length];
}

function rows(count: number, seed: string, withCot = false): McqaRow[] {
  return Array.from({ length: count }, (_, i) => ({
    subject: 'doctor',
    year: 2012 + i,
    period: 1,
    q_number: i + 1,
    question: ` ${seed} 문항 ${i + 1}: 다음 중 옳은 것은?\u3000\n`,
    A: `가${i}`,
    B: ` 나 ${seed}`,
    C: '다, "따옴표"',
    D: '라\t라',
    E: `마 {{ x }} ${i}`,
    answer: (i % 5) + 1,
    ...(withCot ? { cot: `풀이 ${i}` } : {}),
  }));
}

let dir: string;
let data: string;

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hanlab-lmeval-'));
  data = path.join(dir, 'data');
  mkdirSync(data);
  writeMcqaCsv(path.join(data, 'doctor-test.csv'), rows(7, '의사'));
  writeMcqaCsv(path.join(data, 'doctor-fewshot.csv'), rows(3, '예시', true));
  writeMcqaCsv(path.join(data, 'nurse-test.csv'), rows(4, '간호'));
  writeMcqaCsv(path.join(data, 'nurse-fewshot.csv'), rows(2, '간호예시', true));
  const tasks = path.join(dir, 'tasks');
  mkdirSync(tasks, { recursive: true });
  writeFileSync(
    path.join(tasks, 'mc.yaml'),
    [
      'task: kormedmcqa_doctor_mc',
      'dataset_path: sean0042/KorMedMCQA',
      'dataset_name: doctor',
      'test_split: test',
      'output_type: multiple_choice',
      'doc_to_text: "{{question.strip()}}\\n정답:"',
      'doc_to_choice: ["A", "B", "C", "D", "E"]',
      'doc_to_target: "{{answer - 1}}"',
      'metric_list:',
      '  - metric: acc',
      '  - metric: acc_norm',
      'metadata:',
      '  version: 1.0',
      '',
    ].join('\n'),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

function outputFiles(out: string): { results: string; samples: Record<string, string> } {
  const [modelDir] = readdirSync(out);
  const files = readdirSync(path.join(out, modelDir));
  const results = files.find((file) => file.startsWith('results_'));
  assert.ok(results, `no results file in ${files.join(', ')}`);
  const samples: Record<string, string> = {};
  for (const file of files.filter((name) => name.startsWith('samples_'))) samples[file.slice('samples_'.length).replace(/_\d{4}-.*$/, '')] = path.join(out, modelDir, file);
  return { results: path.join(out, modelDir, results), samples };
}

describe('hanlab lmeval on a scripted model', () => {
  test('KorMedMCQA 3.0, 2-shot: jinja2 prompts, lm-eval scores and lm-eval files', { skip: skipReference }, async () => {
    const out = path.join(dir, 'out-gen');
    const model = new ScriptedModel({ complete: scriptedAnswer });
    const argv = ['--tasks', 'kormedmcqa_doctor,kormedmcqa_nurse', '--model', 'scripted.gguf', '--data', data, '--num-fewshot', '2', '--limit', '5', '--output-path', out, '--log-samples'];
    const { result, output } = await quietly(() => runLmevalCommand(argv, async () => model));
    assert.equal(result, 0, output);
    assert.equal(model.disposed, 1);
    assert.match(output, /\|kormedmcqa_doctor\|3\.0 *\|extract_answer\|2 *\|exact_match\|↑/);
    // 5 doctor questions (--limit) and all 4 nurse questions, each asked once with the task's generation settings
    assert.equal(model.prompts.length, 9);
    for (const options of model.options) {
      assert.deepEqual(options.until, ['Q:', '</s>', '<|im_end|>', '.', '\n\n']);
      assert.equal(options.maxTokens, 1024);
      assert.equal(options.temperature, 0);
    }

    const files = outputFiles(out);
    assert.equal(path.basename(path.dirname(files.results)), '__models__scripted test model.gguf');
    assert.deepEqual(Object.keys(files.samples).sort(), ['kormedmcqa_doctor', 'kormedmcqa_nurse']);

    // Prompts: jinja2 rendering the shipped YAML on the same documents, few-shot examples first.
    for (const [task, subset, limit] of [['kormedmcqa_doctor', 'doctor', 5], ['kormedmcqa_nurse', 'nurse', 4]] as const) {
      const loaded = await loadKorMedMcqa(data, { subsets: [subset] });
      const docs = loaded.questions.filter((q) => q.split === 'test').map(kormedmcqaDoc).slice(0, limit);
      const fewshotDocs = loaded.questions.filter((q) => q.split === 'fewshot').map(kormedmcqaDoc);
      const expected = lmevalReference<string[]>('prompts', { yaml: path.join(shippedTasksDir(), 'kormedmcqa', `${subset}.yaml`), docs, fewshot_docs: fewshotDocs, num_fewshot: 2 });
      const samples = readFileSync(files.samples[task], 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
      assert.equal(samples.length, limit);
      samples.forEach((sample, i) => {
        assert.equal(sample.arguments.gen_args_0.arg_0, expected[i], `${task} doc ${i}`);
        assert.ok(model.prompts.includes(expected[i]));
        assert.deepEqual(sample.doc, JSON.parse(JSON.stringify(docs[i])));
      });
      assert.ok(expected[0].startsWith('예시') || expected[0].startsWith('간호예시'), 'the few-shot examples come first');
      assert.ok(expected[0].includes('정답： A\n\n'), "the few-shot answers are the examples' letters");
    }

    // Metrics: lm-eval's extract_choice, exact_match_hf_evaluate, mean and mean_stderr on the logged responses.
    const resultsText = readFileSync(files.results, 'utf8');
    const results = JSON.parse(resultsText);
    const recomputed = lmevalReference<{ tasks: Record<string, { figures: Record<string, number | string>; mismatches: unknown[]; task_hash: string; count: number }> }>(
      'recompute',
      undefined,
      [files.results, files.samples.kormedmcqa_doctor, files.samples.kormedmcqa_nurse],
    );
    for (const task of ['kormedmcqa_doctor', 'kormedmcqa_nurse']) {
      const reference = recomputed.tasks[task];
      assert.deepEqual(reference.mismatches, [], task);
      for (const [key, value] of Object.entries(reference.figures)) assert.equal(results.results[task][key], value, `${task} ${key}`);
      assert.equal(results.task_hashes[task], reference.task_hash);
      assert.deepEqual(results['n-samples'][task], { original: task === 'kormedmcqa_doctor' ? 7 : 4, effective: reference.count });
    }
    const doctorScores = Object.values(recomputed.tasks.kormedmcqa_doctor.figures);
    assert.ok(doctorScores.length === 2);

    // Layout: lm-eval's EvalResults and SampleResult keys (lm_eval/result_schema.py).
    for (const key of ['results', 'group_subtasks', 'configs', 'versions', 'n-shot', 'higher_is_better', 'n-samples', 'config', 'git_hash', 'date', 'task_hashes', 'model_source', 'model_name', 'model_name_sanitized', 'total_evaluation_time_seconds']) {
      assert.ok(Object.hasOwn(results, key), key);
    }
    assert.deepEqual(Object.keys(results.results.kormedmcqa_doctor), ['name', 'alias', 'sample_len', 'exact_match,extract_answer', 'exact_match_stderr,extract_answer']);
    assert.match(resultsText, /"kormedmcqa_doctor": 3\.0/, 'versions are written as Python floats');
    assert.deepEqual(results['n-shot'], { kormedmcqa_doctor: 2, kormedmcqa_nurse: 2 });
    assert.deepEqual(results.higher_is_better.kormedmcqa_doctor, { exact_match: true });
    assert.equal(results.configs.kormedmcqa_doctor.output_type, 'generate_until');
    assert.equal(results.configs.kormedmcqa_doctor.generation_kwargs.max_gen_toks, 1024);
    assert.equal(results.config.limit, 5);
    const line = readFileSync(files.samples.kormedmcqa_doctor, 'utf8').split('\n')[0];
    const sample = JSON.parse(line);
    assert.deepEqual(Object.keys(sample), ['doc_id', 'doc', 'target', 'arguments', 'resps', 'filtered_resps', 'filter', 'metrics', 'doc_hash', 'prompt_hash', 'target_hash', 'exact_match']);
    assert.equal(sample.filter, 'extract_answer');
    assert.deepEqual(sample.metrics, ['exact_match']);
    assert.match(line, /"exact_match": [01]\.0\}$/, 'per-sample scores are Python floats, with json.dumps separators');
    assert.match(line, /"temperature": 0\.0/);
    assert.equal(typeof sample.resps[0][0], 'string');
  });

  test('multiple_choice from a task YAML of ours: acc and acc_norm equal numpy argmax over the logged log-likelihoods', { skip: skipReference }, async () => {
    const tasks = path.join(dir, 'tasks');
    const model = new ScriptedModel({
      loglikelihood: (context, continuation) => -((createHash('sha256').update(context + continuation).digest()[0] % 50) / 7),
    });
    const out = path.join(dir, 'out-mc');
    const argv = ['--tasks', 'kormedmcqa_doctor_mc', '--include-path', tasks, '--model', 'm.gguf', '--data', data, '--output-path', out, '--log-samples'];
    const { result, output } = await quietly(() => runLmevalCommand(argv, async () => model));
    assert.equal(result, 0, output);
    assert.equal(model.pairs.length, 7 * 5);
    assert.deepEqual(model.pairs.slice(0, 5).map(([, continuation]) => continuation), [' A', ' B', ' C', ' D', ' E']);
    const files = outputFiles(out);
    const recomputed = lmevalReference<Record<string, { figures: Record<string, number>; mismatches: unknown[] }>>('recompute_mc', undefined, [files.results, files.samples.kormedmcqa_doctor_mc]);
    const results = JSON.parse(readFileSync(files.results, 'utf8'));
    assert.deepEqual(recomputed.kormedmcqa_doctor_mc.mismatches, []);
    for (const [key, value] of Object.entries(recomputed.kormedmcqa_doctor_mc.figures)) assert.equal(results.results.kormedmcqa_doctor_mc[key], value, key);
    const sample = JSON.parse(readFileSync(files.samples.kormedmcqa_doctor_mc, 'utf8').split('\n')[0]);
    assert.equal(sample.filter, 'none');
    assert.deepEqual(Object.keys(sample.arguments), ['gen_args_0', 'gen_args_1', 'gen_args_2', 'gen_args_3', 'gen_args_4']);
    assert.match(sample.resps[0][0][0], /^-?\d+\.\d+(e-\d+)?$/);
    assert.ok(['True', 'False'].includes(sample.resps[0][0][1]));
    assert.equal(sample.target, '0');
  });
});

describe('hanlab lmeval --tasks kormedmcqa (the group)', () => {
  test("runs the group's four tasks and writes lm-eval's size-weighted aggregate and pooled standard error", async () => {
    const groupData = path.join(dir, 'data-group');
    mkdirSync(groupData, { recursive: true });
    const sizes = { doctor: 5, nurse: 3, pharm: 4, dentist: 2 } as const;
    for (const [subset, count] of Object.entries(sizes)) writeMcqaCsv(path.join(groupData, `${subset}-test.csv`), rows(count, subset).map((row) => ({ ...row, subject: subset })));
    const model = new ScriptedModel({ complete: scriptedAnswer });
    const out = path.join(dir, 'out-group');
    const argv = ['--tasks', 'kormedmcqa', '--model', 'g.gguf', '--data', groupData, '--output-path', out, '--log-samples'];
    const { result, output } = await quietly(() => runLmevalCommand(argv, async () => model));
    assert.equal(result, 0, output);
    assert.equal(model.prompts.length, 14);
    assert.match(output, /\|Groups +\|Version\|Filter +\|n-shot\|Metric/);
    assert.match(output, /\|kormedmcqa\|3\.0 +\|extract_answer\|0 +\|exact_match\|↑/);
    const files = outputFiles(out);
    const results = JSON.parse(readFileSync(files.results, 'utf8'));
    const order = ['kormedmcqa_doctor', 'kormedmcqa_nurse', 'kormedmcqa_pharm', 'kormedmcqa_dentist'];
    assert.deepEqual(Object.keys(results.results), [...order, 'kormedmcqa'], 'the group follows its tasks');
    assert.deepEqual(results.group_subtasks, { kormedmcqa: order });
    assert.equal(results.versions.kormedmcqa, '3.0');
    assert.equal(results['n-shot'].kormedmcqa, 0);
    assert.deepEqual(results.higher_is_better.kormedmcqa, { exact_match: true });
    assert.equal(results['n-samples'].kormedmcqa, undefined, 'n-samples lists tasks only');
    const group = results.groups.kormedmcqa;
    assert.deepEqual(results.results.kormedmcqa, group);
    assert.deepEqual(Object.keys(group), ['alias', 'name', 'sample_len', 'exact_match,extract_answer', 'exact_match_stderr,extract_answer', 'sample_count']);
    assert.equal(group.sample_len, 14);
    assert.deepEqual(group.sample_count, { 'exact_match,extract_answer': 14 });
    // Independently of the aggregation code: the size-weighted mean is the mean over every logged
    // sample, and the pooled standard error is lm-eval's formula on the tasks' own standard errors.
    const scores = order.flatMap((task) => readFileSync(files.samples[task], 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).exact_match as number));
    assert.equal(scores.length, 14);
    assert.ok(Math.abs(group['exact_match,extract_answer'] - scores.reduce((a, b) => a + b, 0) / 14) < 1e-12);
    const n = order.map((task) => results.results[task].sample_len as number);
    const se = order.map((task) => results.results[task]['exact_match_stderr,extract_answer'] as number);
    const pooled = Math.sqrt(n.reduce((sum, size, i) => sum + (size - 1) * se[i] ** 2 * size, 0) / (14 - 4) / 14);
    assert.ok(Math.abs(group['exact_match_stderr,extract_answer'] - pooled) < 1e-12, `${group['exact_match_stderr,extract_answer']} vs ${pooled}`);
  });

  test('a subset of one question has no standard error, so neither has the group (lm-eval writes "N/A")', async () => {
    const groupData = path.join(dir, 'data-group-one');
    mkdirSync(groupData, { recursive: true });
    for (const [subset, count] of Object.entries({ doctor: 3, nurse: 1, pharm: 2, dentist: 2 })) writeMcqaCsv(path.join(groupData, `${subset}-test.csv`), rows(count, subset).map((row) => ({ ...row, subject: subset })));
    const out = path.join(dir, 'out-group-one');
    const argv = ['--tasks', 'kormedmcqa', '--model', 'g.gguf', '--data', groupData, '--output-path', out];
    const { result, output } = await quietly(() => runLmevalCommand(argv, async () => new ScriptedModel({ complete: scriptedAnswer })));
    assert.equal(result, 0, output);
    const results = JSON.parse(readFileSync(outputFiles(out).results, 'utf8'));
    assert.equal(results.results.kormedmcqa_nurse['exact_match_stderr,extract_answer'], 'N/A');
    assert.equal(results.groups.kormedmcqa['exact_match_stderr,extract_answer'], 'N/A');
    assert.equal(typeof results.groups.kormedmcqa['exact_match,extract_answer'], 'number');
  });
});

describe('hanlab lmeval: other task versions and samplers', () => {
  test('an earlier KorMedMCQA version (no filter, regexes_to_ignore: [" "]): filter "none", exact_match on the raw answer, as lm-eval', { skip: skipReference }, async () => {
    const tasks = path.join(dir, 'tasks-v2');
    mkdirSync(tasks, { recursive: true });
    const template = readFileSync(path.join(shippedTasksDir(), 'kormedmcqa', '_template_yaml'), 'utf8');
    // The 2.0 template: the same prompts, no filter_list, spaces ignored by exact_match.
    const v2 = template
      .replace(/filter_list:\n(?: {2}.*\n)+/, '')
      .replace(/regexes_to_ignore:\n(?: {6}- .*\n)+/, 'regexes_to_ignore:\n      - " "\n')
      .replace(/version: 3\.0/g, 'version: 2.0');
    assert.ok(!v2.includes('filter_list') && v2.includes('- " "\n') && !v2.includes('"\\n"'), v2);
    writeFileSync(path.join(tasks, '_template_v2_yaml'), v2);
    writeFileSync(path.join(tasks, 'doctor_v2.yaml'), 'include: _template_v2_yaml\ndataset_name: doctor\ntask: kormedmcqa_doctor_v2\n');
    const model = new ScriptedModel({ complete: scriptedAnswer });
    const out = path.join(dir, 'out-v2');
    const argv = ['--tasks', 'kormedmcqa_doctor_v2', '--include-path', tasks, '--model', 'm.gguf', '--data', data, '--output-path', out, '--log-samples'];
    const { result, output } = await quietly(() => runLmevalCommand(argv, async () => model));
    assert.equal(result, 0, output);
    const files = outputFiles(out);
    const results = JSON.parse(readFileSync(files.results, 'utf8'));
    assert.deepEqual(Object.keys(results.results.kormedmcqa_doctor_v2).slice(3), ['exact_match,none', 'exact_match_stderr,none']);
    assert.equal(results.versions.kormedmcqa_doctor_v2, 2);
    const recomputed = lmevalReference<{ tasks: Record<string, { figures: Record<string, number>; mismatches: unknown[] }> }>('recompute', undefined, [files.results, files.samples.kormedmcqa_doctor_v2]);
    assert.deepEqual(recomputed.tasks.kormedmcqa_doctor_v2.mismatches, []);
    for (const [key, value] of Object.entries(recomputed.tasks.kormedmcqa_doctor_v2.figures)) assert.equal(results.results.kormedmcqa_doctor_v2[key], value, key);
    const samples = readFileSync(files.samples.kormedmcqa_doctor_v2, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(samples.map((sample) => sample.filtered_resps[0]), samples.map((sample) => sample.resps[0][0]), 'no extraction: the raw answer is scored');
  });

  test("the default sampler draws the few-shot examples Python's Random(1234) draws, leaving the question out of its own prompt", { skip: skipReference }, async () => {
    const tasks = path.join(dir, 'tasks-random');
    mkdirSync(tasks, { recursive: true });
    const yaml = path.join(tasks, 'doctor_random.yaml');
    writeFileSync(
      yaml,
      [
        `include: ${JSON.stringify(path.join(shippedTasksDir(), 'kormedmcqa', '_template_yaml'))}`,
        'task: kormedmcqa_doctor_random',
        'dataset_name: doctor',
        'fewshot_split: test',
        'num_fewshot: 3',
        'fewshot_config:',
        '  sampler: default',
        `  doc_to_text: "{{question.strip()}}\\n정답： {{['A', 'B', 'C', 'D', 'E'][answer-1]}}\\n\\n"`,
        '  doc_to_target: ""',
        '',
      ].join('\n'),
    );
    const model = new ScriptedModel({ complete: scriptedAnswer });
    const out = path.join(dir, 'out-random');
    const argv = ['--tasks', yaml, '--model', 'm.gguf', '--data', data, '--limit', '6', '--output-path', out, '--log-samples'];
    const { result, output } = await quietly(() => runLmevalCommand(argv, async () => model));
    assert.equal(result, 0, output);
    const loaded = await loadKorMedMcqa(data, { subsets: ['doctor'] });
    const docs = loaded.questions.filter((q) => q.split === 'test').map(kormedmcqaDoc);
    const expected = lmevalReference<string[]>('prompts', { yaml, docs: docs.slice(0, 6), fewshot_docs: docs, num_fewshot: 3 });
    const samples = readFileSync(outputFiles(out).samples.kormedmcqa_doctor_random, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(samples.map((sample) => sample.arguments.gen_args_0.arg_0), expected);
    // three examples and the question, which appears once: never as its own example
    assert.ok(expected.every((prompt, i) => prompt.split('의사 문항').length === 5 && prompt.split(`의사 문항 ${i + 1}:`).length === 2));
  });
});

describe('hanlab lmeval: bad task files and options', () => {
  function taskFile(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }
  const base = ['dataset_path: sean0042/KorMedMCQA', 'dataset_name: doctor', 'test_split: test', 'doc_to_text: "{{question}}"', 'doc_to_target: "{{answer}}"'];

  for (const [name, lines, pattern] of [
    ['rolling.yaml', ['task: t_rolling', ...base, 'output_type: loglikelihood_rolling'], /rolling\.yaml, field "output_type": loglikelihood_rolling is not supported \(hanlab runs generate_until and multiple_choice\)/],
    ['typo.yaml', ['task: t_typo', ...base, 'num_fewshots: 3'], /typo\.yaml, field "num_fewshots": is not a task setting lm-eval knows/],
    ['code.yaml', ['task: t_code', ...base, 'process_results: !function utils.process'], /code\.yaml, field "process_results": is not supported/],
    ['filter.yaml', ['task: t_filter', ...base, 'filter_list:', '  - name: x', '    filter:', '      - function: majority_vote'], /filter\.yaml, field "filter_list\[0\]\.filter\[0\]\.function": string "majority_vote" is not a filter hanlab has/],
    ['broken.yaml', ['task: t_broken', 'doc_to_text: "{{question}}', 'x: [1'], /broken\.yaml:\d+: YAML does not parse/],
  ] as const) {
    test(`${name}: one line naming the file and field, exit 2`, async () => {
      const file = taskFile(name, [...lines]);
      const { result, output } = await quietly(() => main(['lmeval', '--tasks', file, '--model', 'none.gguf', '--data', data]));
      assert.equal(result, 2, output);
      assert.match(output, pattern);
      assert.equal(output.trim().split('\n').length, 1, output);
    });
  }

  test('an unknown task, a group named twice and --log-samples without --output-path are usage errors', async () => {
    for (const [argv, pattern] of [
      [['--tasks', 'kormedmcqa_surgeon'], /unknown task "kormedmcqa_surgeon"; known tasks: kormedmcqa_dentist, kormedmcqa_doctor, kormedmcqa_nurse, kormedmcqa_pharm; groups: kormedmcqa/],
      [['--tasks', 'kormedmcqa,kormedmcqa_doctor'], /task kormedmcqa_doctor is named twice/],
      [['--tasks', 'kormedmcqa_doctor', '--log-samples'], /--log-samples needs --output-path/],
    ] as const) {
      const { result, output } = await quietly(() => main(['lmeval', ...argv, '--model', 'none.gguf', '--data', data]));
      assert.equal(result, 2, output);
      assert.match(output, pattern);
    }
  });

  test('few-shot examples asked for but no few-shot file: the data path and the file name to use', async () => {
    const only = path.join(dir, 'only-test');
    mkdirSync(only, { recursive: true });
    writeMcqaCsv(path.join(only, 'doctor-test.csv'), rows(2, '단독'));
    const { result, output } = await quietly(() => main(['lmeval', '--tasks', 'kormedmcqa_doctor', '--num-fewshot', '1', '--model', 'none.gguf', '--data', only]));
    assert.equal(result, 2, output);
    assert.match(output, /only-test: has no doctor questions of the fewshot split for 1-shot prompts \(name the file doctor-fewshot\.csv\)/);
  });
});

describe('hanlab lmeval --model on the tiny random GGUF model (the local engine)', () => {
  // generate_until only: the engine's loglikelihood loses the logits of a multi-token continuation when
  // the context was just evaluated (reported to the engine's owner), so multiple_choice runs on the
  // scripted model above until that is fixed.
  test('KorMedMCQA generate_until: the same prompts, scores recomputed by lm-eval, files written', { skip: skipReference }, async () => {
    const modelFile = path.join(dir, 'tiny-llama.gguf');
    makeTinyGguf({ arch: 'llama', out: modelFile });
    const out = path.join(dir, 'out-tiny');
    const argv = ['lmeval', '--tasks', 'kormedmcqa_doctor', '--model', modelFile, '--data', data];
    argv.push('--num-fewshot', '1', '--limit', '3', '--gpu', 'off', '--threads', '1', '--output-path', out, '--log-samples');
    const { result, output } = await quietly(() => main(argv));
    assert.equal(result, 0, output);
    const files = outputFiles(out);
    assert.equal(path.basename(path.dirname(files.results)), sanitizedName(modelFile));
    const generated = lmevalReference<{ tasks: Record<string, { figures: Record<string, number>; mismatches: unknown[]; count: number }> }>('recompute', undefined, [files.results, files.samples.kormedmcqa_doctor]);
    assert.deepEqual(generated.tasks.kormedmcqa_doctor.mismatches, []);
    assert.equal(generated.tasks.kormedmcqa_doctor.count, 3);
    const results = JSON.parse(readFileSync(files.results, 'utf8'));
    assert.match(results.config.model_args, /^pretrained=.*tiny-llama\.gguf,architecture=llama,quantization=F16$/);
    assert.equal(results.config.device, 'node-llama-cpp 3.22.1 (cpu)');
    assert.deepEqual(results['n-shot'], { kormedmcqa_doctor: 1 });
    const loaded = await loadKorMedMcqa(data, { subsets: ['doctor'] });
    const docs = loaded.questions.filter((q) => q.split === 'test').map(kormedmcqaDoc).slice(0, 3);
    const fewshotDocs = loaded.questions.filter((q) => q.split === 'fewshot').map(kormedmcqaDoc);
    const expected = lmevalReference<string[]>('prompts', { yaml: path.join(shippedTasksDir(), 'kormedmcqa', 'doctor.yaml'), docs, fewshot_docs: fewshotDocs, num_fewshot: 1 });
    const samples = readFileSync(files.samples.kormedmcqa_doctor, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(samples.map((sample) => sample.arguments.gen_args_0.arg_0), expected);
  });
});

function sanitizedName(file: string): string {
  return file.replace(/["<>:/|\\?*[\]]+/g, '__');
}
