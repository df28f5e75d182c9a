/**
 * Oracle round trip on all 5,000 KLUE dev sentences: answer = JSON.stringify(bioToJson(gold)),
 * tags = each converter, scored with seqeval's default mode (micro F1). This is the ceiling of the
 * JSON route itself: what a perfect model's answers lose in conversion alone.
 * Also answers aligned per second (single thread, per CPU second and per wall second), with study
 * 003's `seedJsonToBio` (the `units` step) as the baseline measured in the same run.
 * Last stdout line: one JSON object.
 */
import os from 'node:os';
import path from 'node:path';
import { readKlueNer } from '../lib/data/klue-ner.js';
import { KLUE_NER_TAGS } from '../lib/metrics/klue.js';
import { f1Score } from '../lib/metrics/seqeval.js';
import { bioToJson } from '../lib/ner/bio-to-json.js';
import { CONVERTER_STEPS, seedJsonToBio } from '../lib/ner/seed-converter.js';
import { alignAnswer } from '../lib/ner/align.js';

const PASSES = 5;
const sentences = readKlueNer(path.resolve('data/klue-ner/klue-ner-v1.1_dev.tsv'));
const labels = KLUE_NER_TAGS as readonly string[];
const gold = sentences.map((s) => s.tags);
const answers = sentences.map((s) => JSON.stringify(bioToJson(s.tokens, s.tags)));

/**
 * Median answers per second of each converter over PASSES timed passes after one warm-up pass, by
 * wall clock and by this process's CPU time (user + system). On a shared, busy machine the wall
 * figure mostly measures the other jobs; CPU seconds are what one core spends, which is the goal's
 * unit. The converters' passes alternate, so load drifts hit both alike and the ratio stays fair.
 */
function throughput(converters: Array<(i: number) => unknown>): Array<{ wall: number; cpu: number }> {
  for (const convert of converters) for (let i = 0; i < sentences.length; i++) convert(i);
  const wall: number[][] = converters.map(() => []);
  const cpu: number[][] = converters.map(() => []);
  for (let pass = 0; pass < PASSES; pass++) {
    converters.forEach((convert, c) => {
      const cpuStart = process.cpuUsage();
      const start = process.hrtime.bigint();
      for (let i = 0; i < sentences.length; i++) convert(i);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const used = process.cpuUsage(cpuStart);
      wall[c].push(sentences.length / seconds);
      cpu[c].push(sentences.length / ((used.user + used.system) / 1e6));
    });
  }
  const median = (list: number[]) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)];
  return converters.map((_, c) => ({ wall: median(wall[c]), cpu: median(cpu[c]) }));
}

const oracleF1: Record<string, number> = {};
console.log(`oracle round trip, ${sentences.length} KLUE dev sentences (seqeval default mode, micro F1)`);
for (const step of CONVERTER_STEPS) {
  const pred = sentences.map((s, i) => step.convert(s.tokens, answers[i], labels));
  oracleF1[step.name] = f1Score(gold, pred, { zeroDivision: 0 });
  console.log(`  ${step.name.padEnd(11)} ${oracleF1[step.name].toFixed(5)}  ${step.title}`);
}

const [align, seed] = throughput([
  (i) => alignAnswer(sentences[i].tokens, answers[i], labels),
  (i) => seedJsonToBio(sentences[i].tokens, answers[i]),
]);
const load = os.loadavg()[0];
console.log(`answers aligned per second (median of ${PASSES} passes, one thread; load average ${load.toFixed(1)} on ${os.cpus().length} cores):`);
console.log('                 per CPU second   per wall second');
console.log(`  alignAnswer    ${String(Math.round(align.cpu)).padStart(14)}   ${String(Math.round(align.wall)).padStart(15)}   (goal >= 50000 per core)`);
console.log(`  seedJsonToBio  ${String(Math.round(seed.cpu)).padStart(14)}   ${String(Math.round(seed.wall)).padStart(15)}   (baseline: study 003's final json_to_bio)`);
console.log(`  ratio          ${(align.cpu / seed.cpu).toFixed(2).padStart(13)}x   ${(align.wall / seed.wall).toFixed(2).padStart(14)}x`);

console.log(
  JSON.stringify({
    sentences: sentences.length,
    oracle_f1: oracleF1,
    oracle_f1_align: oracleF1.align,
    oracle_f1_seed: oracleF1.units,
    oracle_goal_met: oracleF1.align >= 0.997,
    align_per_cpu_s: Math.round(align.cpu),
    seed_per_cpu_s: Math.round(seed.cpu),
    align_per_wall_s: Math.round(align.wall),
    seed_per_wall_s: Math.round(seed.wall),
    align_vs_seed: Number((align.cpu / seed.cpu).toFixed(3)),
    throughput_goal_met: align.cpu >= 50000,
    load_average: Number(load.toFixed(2)),
  }),
);
