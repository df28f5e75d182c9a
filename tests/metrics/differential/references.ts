/**
 * Test helper: where the live references are (seqeval 1.2.2 with its tests, KLUE-baseline's
 * functional.py under `../shared/reference`, scikit-learn and NumPy in Debian's Python), and how to run
 * many cases through them in one Python process.
 *
 * Without them the differential tests skip and say why, unless HANLAB_REQUIRE_REFERENCES=1 (CI sets
 * it): then a missing piece fails the run loudly.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseMetricsJson, stringifyMetricsJson } from '../../../lib/metrics/json.js';

export const REQUIRED = process.env.HANLAB_REQUIRE_REFERENCES === '1';

/** HANLAB_REFERENCE_DIR, or ../shared/reference beside the checkout. */
export const REFERENCE_DIR = path.resolve(process.env.HANLAB_REFERENCE_DIR ?? path.join('..', 'shared', 'reference'));
export const SEQEVAL_DIR = path.join(REFERENCE_DIR, 'seqeval');
export const KLUE_FUNCTIONAL = path.join(REFERENCE_DIR, 'klue-baseline-metrics', 'functional.py');
export const ORACLE = path.resolve('tests/metrics/differential/oracle.py');

/** Debian's Python (HANLAB_PYTHON may name another); it must have NumPy, scikit-learn and SciPy. */
export const PYTHON = process.env.HANLAB_PYTHON ?? '/usr/bin/python3';

export interface ReferenceStatus {
  /** Why the references cannot run here; undefined when they can. */
  missing?: string;
  sklearnVersion?: string;
}

let status: ReferenceStatus | undefined;

/** Checks once that Python, its packages and the reference folders are there. */
export function referenceStatus(): ReferenceStatus {
  if (status) return status;
  if (!existsSync(path.join(SEQEVAL_DIR, 'seqeval', 'metrics', 'v1.py'))) {
    return (status = { missing: `seqeval is not at ${SEQEVAL_DIR} (set HANLAB_REFERENCE_DIR to the folder holding seqeval/ and klue-baseline-metrics/)` });
  }
  if (!existsSync(path.join(SEQEVAL_DIR, 'tests', 'test_v1.py'))) return (status = { missing: `seqeval's own tests are not at ${path.join(SEQEVAL_DIR, 'tests')}` });
  if (!existsSync(KLUE_FUNCTIONAL)) return (status = { missing: `KLUE-baseline's functional.py is not at ${KLUE_FUNCTIONAL}` });
  const probe = spawnSync(PYTHON, ['-B', '-c', 'import numpy, scipy, sklearn, pytest; print(sklearn.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    const why = probe.error ? probe.error.message : probe.stderr.trim().split('\n').pop();
    return (status = { missing: `${PYTHON} cannot import numpy, scipy, sklearn and pytest (${why}); apt install python3-numpy python3-scipy python3-sklearn python3-pytest` });
  }
  return (status = { sklearnVersion: probe.stdout.trim() });
}

/** The skip reason for node:test, or false; throws when HANLAB_REQUIRE_REFERENCES=1 and something is missing. */
export function skipUnlessReferences(): string | false {
  const { missing } = referenceStatus();
  if (!missing) return false;
  if (REQUIRED) throw new Error(`HANLAB_REQUIRE_REFERENCES=1 but the references cannot run: ${missing}`);
  return `${missing} (CI sets HANLAB_REQUIRE_REFERENCES=1 and fails here)`;
}

/** One call of a reference function on a case's gold and prediction. */
export interface OracleCall {
  fn: string;
  kw?: Record<string, unknown>;
}

export interface OracleCase {
  gold: unknown;
  pred: unknown;
  /** Gold / prediction as JSON text, when the way numbers are written matters (`1` vs `1.0`). */
  goldJson?: string;
  predJson?: string;
  calls: OracleCall[];
}

/** One input line: NaN / Infinity (a beta) written as Python's json reads them. */
function caseLine(c: OracleCase): string {
  const gold = c.goldJson ?? stringifyMetricsJson(c.gold);
  const pred = c.predJson ?? stringifyMetricsJson(c.pred);
  return `{"gold":${gold},"pred":${pred},"calls":${stringifyMetricsJson(c.calls)}}`;
}

/** What a reference call gave: a value (dicts as [key, value] pairs) or the exception, plus its warnings. */
export interface OracleOutcome {
  value?: unknown;
  error?: string;
  warnings: string[];
}

/** Runs every case through one Python process (stdin → stdout, JSON Lines); resolves to one outcome list per case. */
export function runOracle(cases: readonly OracleCase[]): Promise<OracleOutcome[][]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-B', ORACLE, REFERENCE_DIR], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`the reference oracle exited with ${code}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`));
        return;
      }
      const lines = Buffer.concat(out).toString('utf8').split('\n').filter((line) => line !== '');
      if (lines.length !== cases.length) {
        reject(new Error(`the reference oracle answered ${lines.length} cases of ${cases.length}`));
        return;
      }
      resolve(lines.map((line) => parseMetricsJson(line) as OracleOutcome[]));
    });
    child.stdin.on('error', reject);
    child.stdin.end(cases.map(caseLine).join('\n') + '\n');
  });
}
