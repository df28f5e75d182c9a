/**
 * Texts to extract entities from: a plain text file (one text per line) or JSON Lines with a "text"
 * field (an "id" is kept, so the predictions line up with gold records by id).
 */
import { InputError } from '../errors.js';
import { readTextFile } from './encoding.js';

export interface EntityText {
  id?: string;
  text: string;
  /** 1-based line in the file. */
  line: number;
}

export function readEntityTexts(file: string): EntityText[] {
  const lines = readTextFile(file).text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const jsonl = lines.length > 0 && lines[0].trimStart().startsWith('{');
  const texts = lines.map((line, i): EntityText => {
    const at = { file, line: i + 1 };
    if (!jsonl) {
      if (line.trim() === '') throw new InputError('empty line (one text per line expected)', at);
      return { text: line, line: i + 1 };
    }
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new InputError(`is not valid JSON: ${(error as Error).message}`, at, { cause: error });
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new InputError('expected a JSON object with "text"', at);
    const { text, id } = record as Record<string, unknown>;
    if (typeof text !== 'string') throw new InputError('"text" must be a string', { ...at, field: 'text' });
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') throw new InputError('"id" must be a string or a number', { ...at, field: 'id' });
    return id === undefined ? { text, line: i + 1 } : { id: String(id), text, line: i + 1 };
  });
  if (texts.length === 0) throw new InputError('has no texts', { file });
  return texts;
}
