/**
 * Oracle round trip on all 5,000 KLUE dev sentences: answer = JSON.stringify(bioToJson(gold)),
 * tags = each converter, scored with seqeval's default mode (micro F1). This is the ceiling of the
 * JSON route itself: what a perfect model's answers lose in conversion alone.
 * Also answers aligned per second (single thread), with study 003's `seedJsonToBio` (the `units`
 * step) as the baseline measured in the same run. Last stdout line: one JSON object.
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
 * Median answers per second of each converter over PASSES timed passes after one warm-up pass.
 * The converters' passes alternate, so a busy machine slows both alike and the ratio stays fair.
 */
function throughput(converters: Array<(i: number) => unknown>): number[] {
  for (const convert of converters) for (let i = 0; i < sentences.length; i++) convert(i);
  const rates: number[][] = converters.map(() => []);
  for (let pass = 0; pass < PASSES; pass++) {
    converters.forEach((convert, c) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < sentences.length; i++) convert(i);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      rates[c].push(sentences.length / seconds);
    });
  }
  return rates.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]);
}

const oracleF1: Record<string, number> = {};
console.log(`oracle round trip, ${sentences.length} KLUE dev sentences (seqeval default mode, micro F1)`);
for (const step of CONVERTER_STEPS) {
  const pred = sentences.map((s, i) => step.convert(s.tokens, answers[i], labels));
  oracleF1[step.name] = f1Score(gold, pred, { zeroDivision: 0 });
  console.log(`  ${step.name.padEnd(11)} ${oracleF1[step.name].toFixed(5)}  ${step.title}`);
}

const [alignRate, seedRate] = throughput([
  (i) => alignAnswer(sentences[i].tokens, answers[i], labels),
  (i) => seedJsonToBio(sentences[i].tokens, answers[i]),
]);
console.log(`answers aligned per second (median of ${PASSES} passes, one thread):`);
console.log(`  alignAnswer    ${Math.round(alignRate)} /s  (goal >= 50000)`);
console.log(`  seedJsonToBio  ${Math.round(seedRate)} /s  (baseline, study 003's final json_to_bio)`);
console.log(`  ratio          ${(alignRate / seedRate).toFixed(2)}x  (load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);

console.log(
  JSON.stringify({
    sentences: sentences.length,
    oracle_f1: oracleF1,
    oracle_f1_align: oracleF1.align,
    oracle_f1_seed: oracleF1.units,
    oracle_goal_met: oracleF1.align >= 0.997,
    align_per_s: Math.round(alignRate),
    seed_per_s: Math.round(seedRate),
    align_vs_seed: Number((alignRate / seedRate).toFixed(3)),
    throughput_goal_met: alignRate >= 50000,
    load_average: Number(os.loadavg()[0].toFixed(2)),
  }),
);
