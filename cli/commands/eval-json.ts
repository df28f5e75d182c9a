/**
 * `hanlab eval json`: structured-JSON answers (study 001) — validity tiers, per-field and per-item
 * accuracy with both denominators, confusion matrices, per-class precision / recall and the error
 * cases. A thin shell over lib/metrics/structured-json.ts.
 */
import { readTable, rowValue } from '../../lib/data/tabular.js';
import { InputError, UsageError } from '../../lib/errors.js';
import { previewJson, stringifyMetricsJson } from '../../lib/metrics/json.js';
import { formatStructuredJsonReport, scoreStructuredJson, type FieldSpec, type ListFieldSpec, type StructuredRecord } from '../../lib/metrics/structured-json.js';
import { parseIntegerOption, parseList, parseOptions, rowLocation, usageError } from '../options.js';

const USAGE = `Usage: hanlab eval json --records FILE --field SPEC [--list SPEC] [options]

Scores LLM answers that must be JSON against gold JSON (study 001).

  --records FILE     JSON Lines, one sample per line:
                       {"id": "7", "query": "<input shown to the model>",
                        "answer": "<raw model output>", "gold": {<expected JSON>}}
                     "id" and "query" are optional; "gold" may also be JSON text.
  --gold-field NAME  field holding the gold JSON (default gold; \`reference\` for hanlab generate output)
  --field SPEC       a scalar field to score, repeatable. SPEC = PATH[=LABEL,LABEL,...], e.g.
                       --field 'risk_level=높음,애매,낮음'   (labels fix the class order; default sorted)
                     PATH may be nested: result.risk_level
  --list SPEC        a field of the items of a list, repeatable. SPEC = LIST[].ITEM[@KEY][=LABELS], e.g.
                       --list 'components[].match@component=대응,판단불가,미대응'
                     @KEY pairs gold and predicted items by that item field; without it, by position.
  --excerpt N        characters of the query in the error table (default 30)
  --max-errors N     error rows printed (default 50; --json always has all)
  --json             print the whole result object as JSON
  -h, --help         show this help

Validity tiers: strict (parsed as answered) / valid after repair (from a \`\`\` fence, or fixed by
jsonrepair) / unrecoverable. Accuracy is shown over all samples (parse failures, missing fields and
missing items count as wrong) and over parsed samples (paired items for lists). Confusion matrices
print rows = prediction, columns = gold, as study 001 does; --json gives rows = gold.`;

function splitLabels(spec: string, option: string): { head: string; labels?: string[] } {
  const eq = spec.indexOf('=');
  if (eq < 0) return { head: spec.trim() };
  return { head: spec.slice(0, eq).trim(), labels: parseList(spec.slice(eq + 1), option) };
}

export function parseFieldSpec(spec: string): FieldSpec {
  const { head, labels } = splitLabels(spec, '--field');
  if (!/^[^.\s=]+(\.[^.\s=]+)*$/.test(head)) throw new UsageError(`--field "${spec}": expected PATH[=LABEL,...], e.g. risk_level=높음,애매,낮음`);
  return { field: head, labels };
}

export function parseListSpec(spec: string): ListFieldSpec {
  const { head, labels } = splitLabels(spec, '--list');
  const match = /^([^\s=@[\]]+)\[\]\.([^\s=@.[\]]+)(?:@([^\s=@.[\]]+))?$/.exec(head);
  if (!match) throw new UsageError(`--list "${spec}": expected LIST[].ITEM[@KEY][=LABEL,...], e.g. components[].match@component`);
  return { list: match[1], item: match[2], key: match[3], labels };
}

async function readRecords(file: string, goldField: string): Promise<StructuredRecord[]> {
  const table = await readTable(file);
  if (table.rows.length === 0) throw new InputError('has no records', { file });
  return table.rows.map((row) => {
    const get = (field: string) => rowValue(row, field);
    const answer = get('answer');
    if (typeof answer !== 'string') throw new InputError(`expected the raw model answer as a string, got ${previewJson(answer ?? null)}`, rowLocation(file, row, 'answer'));
    let gold = get(goldField);
    if (typeof gold === 'string') {
      try {
        gold = JSON.parse(gold);
      } catch (error) {
        throw new InputError(`gold is text but not JSON (${(error as Error).message})`, rowLocation(file, row, goldField));
      }
    }
    if (typeof gold !== 'object' || gold === null || Array.isArray(gold)) throw new InputError('expected the gold JSON object', rowLocation(file, row, goldField));
    const id = get('id');
    if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
      throw new InputError(`expected a string or number, got ${previewJson(id)}`, rowLocation(file, row, 'id'));
    }
    const query = get('query');
    if (query !== undefined && typeof query !== 'string') throw new InputError('expected a string', rowLocation(file, row, 'query'));
    return {
      id: id === undefined || id === null ? undefined : String(id),
      query: query as string | undefined,
      answer,
      gold,
      line: row.line ?? undefined,
    };
  });
}

export async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv, USAGE, {
    records: { type: 'string' },
    field: { type: 'string', multiple: true },
    'gold-field': { type: 'string', default: 'gold' },
    list: { type: 'string', multiple: true },
    excerpt: { type: 'string' },
    'max-errors': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!options) return 0;
  if (!options.records) throw usageError('--records is required', USAGE);
  const fields = (options.field ?? []).map(parseFieldSpec);
  const lists = (options.list ?? []).map(parseListSpec);
  if (fields.length === 0 && lists.length === 0) throw usageError('name at least one --field or --list', USAGE);
  const positive = { min: 1, rule: 'a positive integer' };
  const excerptLength = parseIntegerOption(options.excerpt, '--excerpt', 30, positive);
  const maxErrors = parseIntegerOption(options['max-errors'], '--max-errors', 50, positive);

  const records = await readRecords(options.records, options['gold-field']);
  const result = scoreStructuredJson(records, { fields, lists, excerptLength, file: options.records });
  if (options.json) {
    console.log(stringifyMetricsJson(result));
    return 0;
  }
  process.stdout.write(formatStructuredJsonReport(result, { maxErrors }));
  return 0;
}
