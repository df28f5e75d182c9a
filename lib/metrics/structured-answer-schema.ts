/**
 * The JSON Schema of a structured answer, built from the same field specs that score it
 * (lib/metrics/structured-json.ts): every scored field is required and takes one of its labels, every
 * scored list is an array of objects with the pairing key (a string) and the judged item (a label).
 * Constrained generation with it (lib/llm/local-engine.ts `jsonSchema`) makes every answer parse, so
 * what the evaluation then measures is the judgement, not the format.
 */
import type { ListFieldSpec, FieldSpec } from './structured-json.js';

type Schema = Record<string, unknown>;

function objectSchema(): Schema {
  return { type: 'object', properties: Object.create(null) as Schema, required: [] as string[], additionalProperties: false };
}

/** Places `leaf` at a dot path, creating the objects along it. */
function place(root: Schema, dotPath: string, leaf: Schema): void {
  const parts = dotPath.split('.');
  let node = root;
  for (const [i, part] of parts.entries()) {
    const properties = node.properties as Schema;
    const required = node.required as string[];
    if (!required.includes(part)) required.push(part);
    if (i === parts.length - 1) {
      properties[part] = leaf;
      return;
    }
    if (!properties[part]) properties[part] = objectSchema();
    node = properties[part] as Schema;
  }
}

function labelSchema(labels: readonly string[] | undefined): Schema {
  return labels && labels.length > 0 ? { type: 'string', enum: [...labels] } : { type: 'string' };
}

export function structuredAnswerSchema(spec: { fields?: readonly FieldSpec[]; lists?: readonly ListFieldSpec[] }): Schema {
  const root = objectSchema();
  for (const field of spec.fields ?? []) place(root, field.field, labelSchema(field.labels));
  for (const list of spec.lists ?? []) {
    const item = objectSchema();
    if (list.key) place(item, list.key, { type: 'string' });
    place(item, list.item, labelSchema(list.labels));
    place(root, list.list, { type: 'array', items: item });
  }
  return root;
}
