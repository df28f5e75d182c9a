/**
 * The kernel's input history for `history_request` (consoles recall it with the up arrow): tail, range
 * and glob search, as IPython's HistoryManager answers them. Kept in memory for the kernel's life; a
 * restarted kernel starts a new, empty session.
 */

export interface HistoryEntry {
  session: number;
  line: number;
  input: string;
  output?: string;
}

/** One history reply item: [session, line, input] or, with output, [session, line, [input, output]]. */
export type HistoryItem = [number, number, string] | [number, number, [string, string | null]];

export interface HistoryQuery {
  hist_access_type?: string;
  output?: boolean;
  /** range: session number (0 or negative = the current session); start/stop are line numbers. */
  session?: number;
  start?: number;
  stop?: number;
  /** tail and search: how many (the last n). */
  n?: number;
  /** search: a glob (`*`, `?`) matched against the whole input. */
  pattern?: string;
  unique?: boolean;
}

export class History {
  private readonly entries: HistoryEntry[] = [];

  constructor(readonly session = 1) {}

  add(line: number, input: string): void {
    this.entries.push({ session: this.session, line, input });
  }

  /** Records the text/plain of a cell's result (IPython's "Out" history). */
  setOutput(line: number, output: string): void {
    for (let index = this.entries.length - 1; index >= 0; index--) {
      if (this.entries[index].line !== line) continue;
      this.entries[index].output = output;
      return;
    }
  }

  query(query: HistoryQuery): HistoryItem[] {
    const item = (entry: HistoryEntry): HistoryItem =>
      query.output ? [entry.session, entry.line, [entry.input, entry.output ?? null]] : [entry.session, entry.line, entry.input];
    const last = (list: HistoryEntry[]) => (query.n !== undefined && query.n !== null && query.n >= 0 ? list.slice(Math.max(0, list.length - query.n)) : list);
    switch (query.hist_access_type) {
      case 'tail':
        return last(this.entries).map(item);
      case 'range': {
        // Only the current session is kept; IPython numbers it 0 (or by its own number) in requests.
        if (query.session !== undefined && query.session > 0 && query.session !== this.session) return [];
        const start = query.start ?? 1;
        const stop = query.stop ?? Number.POSITIVE_INFINITY;
        return this.entries.filter((entry) => entry.line >= start && entry.line < stop).map(item);
      }
      case 'search': {
        const pattern = globToRegExp(query.pattern ?? '*');
        let found = this.entries.filter((entry) => pattern.test(entry.input));
        if (query.unique) {
          // Keep the latest of each input, in the order of those latest occurrences.
          const latest = new Map<string, HistoryEntry>();
          for (const entry of found) {
            latest.delete(entry.input);
            latest.set(entry.input, entry);
          }
          found = [...latest.values()];
        }
        return last(found).map(item);
      }
      default:
        return [];
    }
  }
}

/** A glob (`*` any text, `?` one character) as an anchored regular expression, like IPython's search. */
export function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((char) => (char === '*' ? '[\\s\\S]*' : char === '?' ? '[\\s\\S]' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}
