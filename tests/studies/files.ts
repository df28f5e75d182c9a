/** Writing the synthetic data sets of the study-notebook tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A writer of files under the folder `folder()` returns (read at each call: it may be set in a hook); each call returns the full path. */
export function fileWriter(folder: () => string): (name: string, text: string) => string {
  return (name, text) => {
    const full = path.join(folder(), name);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, text);
    return full;
  };
}

/** JSON Lines text of `rows`. */
export const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
