/**
 * Differential test against the live references (issue 15): seqeval 1.2.2 with its own test suite,
 * scikit-learn 1.2 and KLUE-baseline's functional.py, run beside hanlab in Debian's Python.
 *
 * - seqeval's own tests run unchanged under pytest; every call they make into seqeval is made on
 *   hanlab too (tests/metrics/differential/seqeval-suite.ts).
 * - Per area, HANLAB_PARITY_CASES (default 5,000) seeded random cases: NER default mode, NER strict
 *   (the six schemes in turn, and auto-detection), suffix tags (both modes), classification against
 *   scikit-learn (string labels with label lists, typed labels), KLUE's two official figures. Each area's
 *   cases go through one Python process; the five run side by side.
 *
 * Every value both sides return must be equal bit for bit, keys in order, report texts byte for byte,
 * warnings as sets; where one side raises, the other must raise for the same reason, except the
 * documented graceful cases (seqeval raises, hanlab answers; see lib/metrics/seqeval.ts).
 *
 * Skips, saying why, when Python or the references are missing; fails then if HANLAB_REQUIRE_REFERENCES=1.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Area, type DiffCase, casesFor } from './differential/cases.js';
import { type Comparison, compare, hanlabCall } from './differential/hanlab.js';
import { type OracleOutcome, runOracle, skipUnlessReferences } from './differential/references.js';
import { compareRecords, runSeqevalSuite } from './differential/seqeval-suite.js';

const skip = skipUnlessReferences();
const CASES = Number(process.env.HANLAB_PARITY_CASES ?? 5000);
const AREAS: Array<{ area: Area; seed: number; title: string }> = [
  { area: 'ner-default', seed: 1501, title: 'NER, default (conlleval) mode' },
  { area: 'ner-strict', seed: 1502, title: 'NER, strict mode: IOB1, IOB2, IOE1, IOE2, IOBES, BILOU and auto-detection' },
  { area: 'ner-suffix', seed: 1503, title: 'NER, suffix tags (PER-B), both modes' },
  { area: 'classification', seed: 1504, title: 'classification vs scikit-learn' },
  { area: 'klue', seed: 1505, title: "KLUE-baseline's entity and character macro F1" },
];

interface AreaTally {
  cases: number;
  calls: number;
  match: number;
  bothError: number;
  graceful: Record<string, number>;
  floats: number;
  differences: string[];
  pythonSeconds: number;
}

function tallyArea(cases: DiffCase[], outcomes: OracleOutcome[][], pythonSeconds: number): AreaTally {
  const tally: AreaTally = { cases: cases.length, calls: 0, match: 0, bothError: 0, graceful: {}, floats: 0, differences: [], pythonSeconds };
  cases.forEach((c, i) => {
    c.calls.forEach((call, j) => {
      const result: Comparison = compare(c, call, outcomes[i][j], hanlabCall(c, call));
      tally.calls++;
      tally.floats += result.floats;
      if (result.verdict === 'match') tally.match++;
      else if (result.verdict === 'both-error') tally.bothError++;
      else if (result.verdict === 'graceful') tally.graceful[result.note!] = (tally.graceful[result.note!] ?? 0) + 1;
      else {
        const input = c.goldJson !== undefined ? `${c.goldJson} / ${c.predJson}` : `${JSON.stringify(c.gold)} / ${JSON.stringify(c.pred)}`;
        tally.differences.push(`case ${i} ${call.fn}(${JSON.stringify(call.kw ?? {})}) on ${input.slice(0, 300)}: ${result.note}`);
      }
    });
  });
  return tally;
}

describe('parity with the live references', { skip }, () => {
  const results = new Map<Area, Promise<AreaTally>>();
  const started = Date.now();

  before(() => {
    // All five Python processes start at once; each test awaits its own.
    for (const { area, seed } of AREAS) {
      const cases = casesFor(area, CASES, seed);
      const t0 = Date.now();
      results.set(area, runOracle(cases).then((outcomes) => tallyArea(cases, outcomes, (Date.now() - t0) / 1000)));
    }
  });

  test("seqeval's own test suite, call by call", (t) => {
    const run = runSeqevalSuite();
    const tally = compareRecords(run.records);
    t.diagnostic(`seqeval suite: ${run.summary}; ${run.records.length} calls recorded, ${tally.replayed} replayed on hanlab (${tally.match} equal, ${tally.bothError} raising on both sides, ${tally.floats} floats), ${tally.notRepresentable} not representable in JavaScript, ${Object.values(tally.noCounterpart).reduce((a, b) => a + b, 0)} without a hanlab counterpart (${Object.keys(tally.noCounterpart).join(', ')}), ${tally.differences.length} differences`);
    assert.equal(run.failed, 0, `seqeval's own suite failed here: ${run.summary}`);
    assert.ok(run.passed >= 490, `seqeval's own suite ran only ${run.passed} tests: ${run.summary}`);
    assert.ok(tally.replayed >= 900, `only ${tally.replayed} of ${run.records.length} recorded calls were replayed`);
    assert.deepEqual(tally.differences, []);
  });

  for (const { area, title } of AREAS) {
    test(`${title}: ${CASES} random cases, zero differences`, async (t) => {
      const tally = await results.get(area)!;
      const graceful = Object.entries(tally.graceful).map(([what, n]) => `${n} × ${what}`).join('; ') || 'none';
      t.diagnostic(
        `${area}: ${tally.cases} cases, ${tally.calls} calls: ${tally.match} equal (${tally.floats} floats bit for bit), ` +
          `${tally.bothError} raising on both sides for the same reason, graceful: ${graceful}; ${tally.differences.length} differences; reference ${tally.pythonSeconds.toFixed(1)} s`,
      );
      assert.equal(tally.cases, CASES);
      // Most calls must give values (not errors on both sides), or the test could pass by failing everywhere.
      assert.ok(tally.match >= tally.calls * 0.8, `only ${tally.match} of ${tally.calls} calls gave values on both sides`);
      assert.deepEqual(tally.differences.slice(0, 20), [], `${tally.differences.length} differences`);
    });
  }

  test('summary', async (t) => {
    const tallies = await Promise.all(AREAS.map(({ area }) => results.get(area)!));
    const figures = Object.fromEntries(
      AREAS.map(({ area }, i) => [area, { cases: tallies[i].cases, calls: tallies[i].calls, floats: tallies[i].floats, differences: tallies[i].differences.length, graceful: Object.values(tallies[i].graceful).reduce((a, b) => a + b, 0) }]),
    );
    t.diagnostic(JSON.stringify({ parity: figures, seconds: (Date.now() - started) / 1000 }));
    assert.ok(tallies.every((tally) => tally.differences.length === 0));
  });
});
