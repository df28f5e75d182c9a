/**
 * `hanlab explain`: one sentence's way from the model answer to the tags (`--id`), or the worst
 * sentences first. A thin shell over `explainSentence` / `diagnose` in lib/ner.
 */
import { UsageError } from '../../lib/errors.js';
import { stringifyMetricsJson } from '../../lib/metrics/json.js';
import { formatExplanation, formatWorstSentences } from '../../lib/diagnosis/format.js';
import { parseNumberOption, parseOptions } from '../options.js';
import { COMMON_OPTIONS, COMMON_OPTIONS_HELP, loadDiagnosis } from './align.js';

const USAGE = `Usage: hanlab explain --gold <KLUE tsv> --answers <answers.jsonl> [--id <id>] [options]

Explains, step by step, where each entity of a model answer went: parse steps, the listed entities
and their status, gold vs predicted entities and tags side by side.

${COMMON_OPTIONS_HELP}
  --id ID                the sentence id or 0-based index to explain; without it, the worst
                         sentences (most errors) come first
  --limit N              how many sentences without --id (default: 5)
  --json                 print the explanation(s) as JSON
  -h, --help             show this help`;

export async function run(argv: string[]): Promise<number> {
  const values = parseOptions(argv, USAGE, { ...COMMON_OPTIONS, id: { type: 'string' }, limit: { type: 'string' } });
  if (!values) return 0;
  const limit = parseNumberOption(values.limit, '--limit', 5, (n) => Number.isInteger(n) && n >= 1, 'a positive whole number');
  const { sentences, diagnosis } = loadDiagnosis(values, USAGE);

  if (values.id !== undefined) {
    let id = values.id;
    if (!sentences.some((sentence) => sentence.id === id) && /^\d+$/.test(id) && Number(id) < sentences.length) id = sentences[Number(id)].id;
    const explanation = diagnosis.explanations.find((ex) => ex.id === id);
    if (!explanation) {
      throw new UsageError(`--id ${values.id}: no ${values['answered-only'] ? 'answered ' : ''}sentence has this id, and it is not an index from 0 to ${sentences.length - 1}`);
    }
    console.log(values.json ? stringifyMetricsJson(explanation) : formatExplanation(explanation));
    return 0;
  }
  if (values.json) {
    console.log(stringifyMetricsJson(diagnosis.worst.slice(0, limit).map((i) => diagnosis.explanations[i])));
  } else {
    console.log(formatWorstSentences(diagnosis, limit));
  }
  return 0;
}
