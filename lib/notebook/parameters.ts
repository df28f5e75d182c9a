/**
 * Notebook parameters the papermill way, for TypeScript (papermill has no TypeScript translator).
 *
 * The cell tagged `parameters` holds defaults (`const epochs: number = 3;`). Values given for a run are
 * injected as a new cell tagged `injected-parameters` right after it, as `const` declarations that
 * re-declare the defaults (tslab allows re-declaring top-level names in a later cell). Where the
 * defaults cell gives a type, the injected declaration uses the same type, so a value of the wrong type
 * fails to compile in that cell instead of misbehaving later.
 */
import { HanlabError } from '../errors.js';
import { sourceText, toLines, type CodeCell, type Notebook } from './nbformat.js';

/** A malformed or impossible parameter (`-p name=value`). */
export class ParameterError extends HanlabError {}

export const PARAMETERS_TAG = 'parameters';
export const INJECTED_TAG = 'injected-parameters';

/** A default declared in the `parameters` cell. */
export interface DeclaredParameter {
  name: string;
  /** The type annotation's source text, when there is one (`number`, `'a' | 'b'`, `string[]`). */
  type?: string;
  /** The initializer's source text. */
  defaultSource?: string;
}

export interface InjectionResult {
  notebook: Notebook;
  /** Index of the injected cell in notebook.cells. */
  injectedIndex: number;
  /** Names given that the parameters cell does not declare (injected anyway, as papermill does). */
  unknownNames: string[];
  /** False when the notebook has no `parameters` cell (the injected cell then goes first, as in papermill). */
  hasParametersCell: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
// Words that cannot name a const (ES reserved words plus strict-mode ones).
const RESERVED = new Set(
  ('break case catch class const continue debugger default delete do else enum export extends false finally for function if import in ' +
    'instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package ' +
    'private protected public await arguments eval').split(' '),
);

export function hasTag(cell: { metadata?: { tags?: unknown } }, tag: string): boolean {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) && tags.includes(tag);
}

/** Index of the first `parameters`-tagged code cell, or -1. */
export function findParametersCell(notebook: Notebook): number {
  return notebook.cells.findIndex((cell) => cell.cell_type === 'code' && hasTag(cell, PARAMETERS_TAG));
}

/**
 * The names, types and defaults the `parameters` cell declares. Uses the TypeScript parser (the
 * project's own `typescript`), loaded only when needed because it takes a few hundred milliseconds.
 */
export async function declaredParameters(notebook: Notebook): Promise<Map<string, DeclaredParameter>> {
  const index = findParametersCell(notebook);
  const declared = new Map<string, DeclaredParameter>();
  if (index < 0) return declared;
  const ts = (await import('typescript')).default;
  const source = sourceText(notebook.cells[index].source);
  const file = ts.createSourceFile('parameters.ts', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name)) continue;
      const name = declaration.name.text;
      declared.set(name, { name, type: declaration.type?.getText(file), defaultSource: declaration.initializer?.getText(file) });
    }
  }
  return declared;
}

/**
 * Turns `-p name=value` text into a value: a declared `string` parameter takes the text as it is;
 * otherwise JSON (numbers, true/false, null, arrays, objects, "quoted strings"), and plain text when
 * it is not JSON. A declared number or boolean that does not parse as one is a ParameterError.
 */
export function parseParameterValue(name: string, raw: string, declared?: DeclaredParameter): unknown {
  const type = declared?.type?.replace(/\s+/g, '');
  if (type === 'string') return raw;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  if (type === 'number' && typeof value !== 'number') throw new ParameterError(`parameter "${name}" is declared as number, got "${raw}"`);
  if (type === 'boolean' && typeof value !== 'boolean') throw new ParameterError(`parameter "${name}" is declared as boolean, got "${raw}" (use true or false)`);
  return value;
}

/** Parses `name=value` pairs (from `-p`) against the notebook's declared parameters. */
export async function parseParameterArgs(pairs: readonly string[], notebook: Notebook): Promise<Record<string, unknown>> {
  const declared = pairs.length ? await declaredParameters(notebook) : new Map<string, DeclaredParameter>();
  const values = Object.create(null) as Record<string, unknown>;
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ParameterError(`-p expects name=value, got "${pair}"`);
    const name = pair.slice(0, at).trim();
    checkName(name);
    values[name] = parseParameterValue(name, pair.slice(at + 1), declared.get(name));
  }
  return values;
}

/** TypeScript source declaring the values: `const name: type = <JSON>;`, one a line. */
export function parametersSource(parameters: Record<string, unknown>, declared: Map<string, DeclaredParameter> = new Map()): string {
  const lines = ['// Parameters injected by hanlab run'];
  for (const [name, value] of Object.entries(parameters)) {
    checkName(name);
    const type = declared.get(name)?.type ?? inferType(value);
    lines.push(`const ${name}${type ? `: ${type}` : ''} = ${literal(name, value)};`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Returns a copy of the notebook with the `injected-parameters` cell (replacing any earlier one, as
 * papermill does) placed right after the `parameters` cell, or first when there is none.
 */
export async function injectParameters(notebook: Notebook, parameters: Record<string, unknown>): Promise<InjectionResult> {
  const copy = structuredClone(notebook);
  copy.cells = copy.cells.filter((cell) => !hasTag(cell, INJECTED_TAG));
  const declared = await declaredParameters(copy);
  const parametersIndex = findParametersCell(copy);
  const cell: CodeCell = {
    cell_type: 'code',
    execution_count: null,
    metadata: { tags: [INJECTED_TAG] },
    outputs: [],
    source: toLines(parametersSource(parameters, declared)),
  };
  if (copy.nbformat_minor >= 5) cell.id = `injected-parameters`;
  const injectedIndex = parametersIndex + 1;
  copy.cells.splice(injectedIndex, 0, cell);
  return {
    notebook: copy,
    injectedIndex,
    unknownNames: Object.keys(parameters).filter((name) => !declared.has(name)),
    hasParametersCell: parametersIndex >= 0,
  };
}

function checkName(name: string): void {
  if (!IDENTIFIER.test(name) || RESERVED.has(name)) {
    throw new ParameterError(`"${name}" cannot be a parameter name: use a TypeScript identifier (letters, digits, _ or $, not starting with a digit)`);
  }
}

function inferType(value: unknown): string | undefined {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  // Arrays, objects and null: let TypeScript infer from the literal.
  return undefined;
}

/** A TypeScript literal for a JSON value; anything JSON would change is refused. */
function literal(name: string, value: unknown): string {
  const check = (item: unknown, where: string): void => {
    if (item === null || typeof item === 'string' || typeof item === 'boolean') return;
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw new ParameterError(`parameter ${where} is ${item}; only finite numbers can be injected`);
      return;
    }
    if (Array.isArray(item)) return item.forEach((element, index) => check(element, `${where}[${index}]`));
    const proto = typeof item === 'object' ? Object.getPrototypeOf(item) : undefined;
    if (proto === Object.prototype || proto === null) {
      for (const [key, element] of Object.entries(item as object)) {
        // In an object literal "__proto__": x sets the prototype instead of a key.
        if (key === '__proto__') throw new ParameterError(`parameter ${where} has a "__proto__" key, which an object literal cannot hold`);
        check(element, `${where}.${key}`);
      }
      return;
    }
    throw new ParameterError(`parameter ${where} is ${item === undefined ? 'undefined' : `a ${typeof item}`}; only JSON values can be injected`);
  };
  check(value, name);
  // JSON text is a valid TypeScript expression; U+2028/2029 are legal in string literals since ES2019.
  return JSON.stringify(value);
}
