/**
 * `confusion_matrix` with `labels` none of which occurs in gold (issue 26, item 16): scikit-learn raises
 * "At least one label specified must be in y_true"; hanlab's `confusionMatrix()` throws the same error in
 * its own words, and `scoreClassification` gives no matrix (null) rather than an all-zero one that
 * would read as a real matrix. Checked against the live scikit-learn on random cases, half of them with
 * labels drawn outside gold; without the references the test skips and says why (CI requires them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { confusionMatrix, scoreClassification } from '../../lib/metrics/classification.js';
import { UsageError } from '../../lib/errors.js';
import type { DiffCase } from './differential/cases.js';
import { compare, hanlabCall } from './differential/hanlab.js';
import { runOracle, skipUnlessReferences } from './differential/references.js';

const GOLD_LABELS = ['a', 'b', '10', '2'];
const OTHER_LABELS = ['x', 'y', '1', 'B'];
const CASES = 600;

/** Random cases; odd ones take every label from outside gold's alphabet. */
function cases(): DiffCase[] {
  const label = (from: string[]) => fc.constantFrom(...from);
  const sample = fc.array(fc.tuple(label(GOLD_LABELS), label([...GOLD_LABELS, ...OTHER_LABELS])), { minLength: 1, maxLength: 8 });
  const drawn = fc.sample(fc.tuple(sample, fc.uniqueArray(label(OTHER_LABELS), { minLength: 1, maxLength: 3 }), fc.uniqueArray(label([...GOLD_LABELS, ...OTHER_LABELS]), { minLength: 1, maxLength: 4 })), { numRuns: CASES, seed: 26 });
  return drawn.map(([samples, outside, any], i) => ({
    area: 'classification',
    gold: samples.map(([g]) => g),
    pred: samples.map(([, p]) => p),
    calls: [{ fn: 'sk.confusion_matrix', kw: { labels: i % 2 ? outside : any } }],
  }));
}

test('confusion_matrix with labels none of which is in gold: the scikit-learn error, in hanlab\'s form; otherwise the same matrix', { skip: skipUnlessReferences() }, async () => {
  const all = cases();
  const outcomes = await runOracle(all);
  let raised = 0;
  let equal = 0;
  all.forEach((c, i) => {
    const call = c.calls[0];
    const reference = outcomes[i][0];
    const ours = hanlabCall(c, call);
    const verdict = compare(c, call, reference, ours);
    assert.ok(verdict.verdict === 'match' || verdict.verdict === 'both-error', `${JSON.stringify(c)}: ${verdict.note}`);
    const labels = call.kw!.labels as string[];
    const result = scoreClassification(c.gold as string[], c.pred as string[], { labels, zeroDivision: 0 });
    if (reference.error !== undefined) {
      raised++;
      assert.match(reference.error, /At least one label specified must be in y_true/);
      assert.equal(result.confusionMatrix, null);
      assert.throws(() => confusionMatrix(c.gold as string[], c.pred as string[], labels), (e: unknown) => e instanceof UsageError && /"At least one label specified must be in y_true"/.test(e.message));
    } else {
      equal++;
      assert.deepEqual(result.confusionMatrix, reference.value);
    }
  });
  // Both paths ran many times, or the test could pass by never raising.
  assert.ok(raised >= CASES / 2 && equal >= CASES / 4, `${raised} raised, ${equal} equal`);
});
