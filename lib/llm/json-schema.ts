/**
 * The JSON Schema subset that constrained generation enforces: what node-llama-cpp turns into a
 * grammar (its `GbnfJsonSchema`). A schema is checked before any model loads, so that a file that is
 * not JSON Schema, or asks for something the grammar cannot guarantee (`pattern`, `minimum`, …), is one
 * line naming the file and the keyword's place, instead of answers that silently do not validate.
 *
 * Supported: `type` (string, number, integer, boolean, null, object, array, or a list of them), `enum`,
 * `const`, `oneOf`, `properties`, `required`, `additionalProperties`, `minProperties`, `maxProperties`,
 * `items`, `prefixItems`, `minItems`, `maxItems`, `minLength`, `maxLength`, `format` (date-time, date,
 * time), `$defs` with local `$ref`s, and the annotations `title`, `description`, `$schema`, `$id`,
 * `$comment`, `default`, `examples`.
 */
import { readFileSync } from 'node:fs';
import { decodeText } from '../data/encoding.js';
import { InputError } from '../errors.js';

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
const ANNOTATIONS = new Set(['title', 'description', '$schema', '$id', '$comment', 'default', 'examples']);
const UNSUPPORTED = new Set([
  'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'allOf', 'anyOf', 'not',
  'if', 'then', 'else', 'patternProperties', 'propertyNames', 'dependentRequired', 'dependentSchemas', 'uniqueItems',
  'contains', 'minContains', 'maxContains', 'unevaluatedProperties', 'unevaluatedItems', 'contentEncoding',
  'contentMediaType', 'definitions',
]);
const FORMATS = new Set(['date-time', 'date', 'time']);

/** Throws an InputError naming `file` and the JSON pointer of the first problem. */
export function checkJsonSchema(schema: unknown, file: string): void {
  const root = schema as Record<string, unknown>;
  const defs = isObject(root) && isObject(root.$defs) ? (root.$defs as Record<string, unknown>) : {};
  check(schema, '', { file, defs });
}

/** Reads and checks a JSON Schema file. */
export function readJsonSchema(file: string): object {
  let text: string;
  try {
    text = decodeText(readFileSync(file), { file }).text;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file });
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message);
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new InputError(`is not JSON: ${(error as Error).message}`, { file, line });
  }
  checkJsonSchema(schema, file);
  return schema as object;
}

interface Where {
  file: string;
  defs: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function check(schema: unknown, pointer: string, where: Where): void {
  const fail = (detail: string, at = pointer): never => {
    throw new InputError(`is not a JSON Schema that constrained generation supports: ${detail}`, { file: where.file, field: at || '/' });
  };
  if (!isObject(schema)) fail(`a schema must be an object, not ${Array.isArray(schema) ? 'an array' : JSON.stringify(schema)}`);
  const s = schema as Record<string, unknown>;
  let constrained = false;
  for (const key of Object.keys(s)) {
    const at = `${pointer}/${key}`;
    const value = s[key];
    const nonNegativeInteger = () => {
      if (!Number.isInteger(value) || (value as number) < 0) fail(`${key} must be an integer >= 0`, at);
    };
    if (ANNOTATIONS.has(key)) continue;
    if (UNSUPPORTED.has(key)) {
      fail(`"${key}" cannot be enforced by the grammar, so answers could break it${key === 'anyOf' ? ' (oneOf is supported)' : ''}`, at);
    }
    constrained = true;
    switch (key) {
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        if (types.length === 0 || !types.every((t) => typeof t === 'string' && TYPES.has(t))) {
          fail(`type must be one of ${[...TYPES].join(', ')} (or a list of them), not ${JSON.stringify(value)}`, at);
        }
        break;
      }
      case 'enum':
        if (!Array.isArray(value) || value.length === 0) fail('enum must be a non-empty array', at);
        (value as unknown[]).forEach((item, i) => {
          if (typeof item === 'object' && item !== null) fail('enum items must be strings, numbers, booleans or null', `${at}/${i}`);
        });
        break;
      case 'const':
        if (typeof value === 'object' && value !== null) fail('const must be a string, number, boolean or null', at);
        break;
      case 'oneOf':
        if (!Array.isArray(value) || value.length === 0) fail('oneOf must be a non-empty array of schemas', at);
        (value as unknown[]).forEach((sub, i) => check(sub, `${at}/${i}`, where));
        break;
      case 'properties':
        if (!isObject(value)) fail('properties must be an object of schemas', at);
        for (const name of Object.keys(value as object)) check((value as Record<string, unknown>)[name], `${at}/${escapePointer(name)}`, where);
        break;
      case 'required':
        if (!Array.isArray(value) || !value.every((name) => typeof name === 'string')) fail('required must be an array of property names', at);
        break;
      case 'additionalProperties':
        if (typeof value !== 'boolean') check(value, at, where);
        break;
      case 'items':
        if (typeof value !== 'boolean') check(value, at, where);
        break;
      case 'prefixItems':
        if (!Array.isArray(value)) fail('prefixItems must be an array of schemas', at);
        (value as unknown[]).forEach((sub, i) => check(sub, `${at}/${i}`, where));
        break;
      case 'minItems': case 'maxItems': case 'minLength': case 'maxLength': case 'minProperties': case 'maxProperties':
        nonNegativeInteger();
        break;
      case 'format':
        if (typeof value !== 'string' || !FORMATS.has(value)) fail(`format must be one of ${[...FORMATS].join(', ')}`, at);
        break;
      case '$defs':
        if (pointer !== '') fail('$defs belongs at the top of the schema', at);
        if (!isObject(value)) fail('$defs must be an object of schemas', at);
        for (const name of Object.keys(value as object)) check((value as Record<string, unknown>)[name], `${at}/${escapePointer(name)}`, where);
        break;
      case '$ref': {
        const match = typeof value === 'string' ? /^#\/\$defs\/(.+)$/.exec(value) : null;
        if (!match || !Object.prototype.hasOwnProperty.call(where.defs, match[1]!)) {
          fail(`$ref must point into this schema's $defs ("#/$defs/NAME"), not ${JSON.stringify(value)}`, at);
        }
        break;
      }
      default:
        fail(`unknown keyword "${key}"`, at);
    }
  }
  if (!constrained && pointer === '') fail('the schema constrains nothing (give it a type, enum, const or oneOf)');
}

function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}
