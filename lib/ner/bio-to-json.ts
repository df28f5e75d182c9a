/**
 * Tags → the JSON answer an LLM is taught to give (study 003's `bio_to_json`):
 * `{"PS": ["손흥민"], "LC": ["춘천"]}` — labels in order of first appearance, surfaces cut from the
 * tokens exactly as written (inner spaces kept). Chunking is seqeval's default mode, so the answer
 * holds exactly the entities the lenient metric counts (an `I-X` after `O` starts an entity).
 */
import { HanlabError } from '../errors.js';
import { defaultEntities } from './scheme.js';

/** `[label, surfaces]` pairs in order of first appearance — the order-exact form of `bioToJson`. */
export function bioToEntries(tokens: readonly string[], tags: readonly string[]): [string, string[]][] {
  if (tokens.length !== tags.length) {
    throw new HanlabError(`bioToJson: ${tokens.length} tokens but ${tags.length} tags`);
  }
  const byLabel = new Map<string, string[]>();
  for (const entity of defaultEntities(tags)) {
    let surfaces = byLabel.get(entity.type);
    if (!surfaces) {
      surfaces = [];
      byLabel.set(entity.type, surfaces);
    }
    surfaces.push(tokens.slice(entity.start, entity.end).join(''));
  }
  return [...byLabel];
}

/**
 * `{label: [surface, ...]}` as a prototype-free object (labels such as `__proto__` are plain keys).
 * JavaScript lists integer-like keys ("1") first; use `bioToEntries` / `bioToJsonText` when such
 * labels must keep their order of appearance.
 */
export function bioToJson(tokens: readonly string[], tags: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (const [label, surfaces] of bioToEntries(tokens, tags)) out[label] = surfaces;
  return out;
}

/**
 * The answer text exactly as study 003 writes it: Python's `json.dumps(entity_dict,
 * ensure_ascii=False)` — `{"LC": ["영동고속도로", "강릉"], "QT": ["5㎞"]}`, `{}` when there is none.
 */
export function bioToJsonText(tokens: readonly string[], tags: readonly string[]): string {
  const parts = bioToEntries(tokens, tags).map(
    ([label, surfaces]) => `${JSON.stringify(label)}: [${surfaces.map((s) => JSON.stringify(s)).join(', ')}]`,
  );
  return `{${parts.join(', ')}}`;
}
