/**
 * A reviewer's read of a rendered Markdown report, as code (issue 25): the defect classes that made
 * reports read as unfinished or claim what their tables do not say.
 *
 * - `internal-name`: an internal identifier (a diagnoser code, a trainer event, a runner key, an
 *   English working name) in the text a reader reads. Code spans and fenced blocks are skipped: a code
 *   name may stand where the reader types it, in code formatting beside its Korean name.
 * - `key-heading`: a heading that is an internal result key (`report-title`, `data-note`) or the
 *   catch-all "기타 결과" that lists them.
 * - `run-time-rows`: more than one table row labelled 실행 시간 (two different durations under one name).
 * - `count-mismatch`: a count in prose that disagrees with the table it describes: "전체 N건 중 M건을
 *   보입니다" above a table of another length, or "<명사> N개" in a section whose table has a 합계 row
 *   with another value in the column "<명사> 수".
 */

export type ReportDefectKind = 'internal-name' | 'key-heading' | 'run-time-rows' | 'count-mismatch';

export interface ReportDefect {
  kind: ReportDefectKind;
  /** 1-based line in the Markdown. */
  line: number;
  message: string;
}

/**
 * Internal names that must not reach a reader outside code formatting: the JSON extractor's statuses,
 * the diagnoser's fates and causes, the trainer's event kinds, runner keys, result keys and English
 * working names that have Korean ones in the reports.
 */
export const INTERNAL_NAMES: readonly string[] = [
  'strict', 'fenced', 'repaired', 'no_json', 'unparseable', 'unsupported_shape',
  'not_parsed', 'not_placed', 'not_predicted', 'wrong_boundary', 'wrong_type', 'placed_elsewhere',
  'best-restored', 'early-stop', 'micro-batch', 'checkpoint-fallback',
  'cellTimeoutMs', 'durationMs', 'kernelStartMs', 'inputHashes', 'contentStamp', 'injectedParameters',
  'report-title', 'data-note', 'published-notes', 'replay-note',
  'oracle', 'round trip', 'bilstm', 'classification report',
];

/** The text with fenced code blocks blanked (line numbers kept) and inline code spans removed. */
function proseOnly(markdown: string): string[] {
  const lines = markdown.split('\n');
  let fence: string | null = null;
  return lines.map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence !== null) {
      if (marker && marker[1][0] === fence[0] && marker[1].length >= fence.length && line.trim() === marker[1]) fence = null;
      return '';
    }
    if (marker) {
      fence = marker[1];
      return '';
    }
    // Inline code spans of any backtick run length (```` ```json ````).
    return line.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, ' ');
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function internalNames(prose: string[], names: readonly string[]): ReportDefect[] {
  const defects: ReportDefect[] = [];
  const patterns = names.map((name) => ({ name, re: new RegExp(`(?<![A-Za-z0-9_-])${escapeRegExp(name).replace(/_/g, '\\\\?_')}(?![A-Za-z0-9_-])`) }));
  prose.forEach((line, i) => {
    for (const { name, re } of patterns) {
      if (re.test(line)) defects.push({ kind: 'internal-name', line: i + 1, message: `internal name "${name}" outside code formatting` });
    }
  });
  return defects;
}

function headingText(line: string): string | null {
  const match = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
  return match ? match[1].replace(/\\(.)/g, '$1') : null;
}

function keyHeadings(prose: string[]): ReportDefect[] {
  const defects: ReportDefect[] = [];
  prose.forEach((line, i) => {
    const text = headingText(line);
    if (text === null) return;
    if (/^[a-z][a-z0-9]*([-_][a-z0-9]+)+$/.test(text)) defects.push({ kind: 'key-heading', line: i + 1, message: `heading "${text}" is an internal result key` });
    else if (text === '기타 결과') defects.push({ kind: 'key-heading', line: i + 1, message: 'a "기타 결과" section lists results no template placed' });
  });
  return defects;
}

/** Cells of a Markdown table row (`| a | b |`), unescaped; null for a non-row or the delimiter row. */
function cells(line: string): string[] | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith('|') || !trimmed.endsWith('|')) return null;
  const parts = trimmed.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\(.)/g, '$1'));
  if (parts.every((cell) => /^:?-+:?$/.test(cell))) return null;
  return parts;
}

function runTimeRows(prose: string[]): ReportDefect[] {
  const rows = prose.map((line, i) => ({ row: cells(line), line: i + 1 })).filter(({ row }) => row !== null && row[0] === '실행 시간');
  return rows.length > 1
    ? [{ kind: 'run-time-rows', line: rows[1].line, message: `${rows.length} rows are labelled 실행 시간 (lines ${rows.map((r) => r.line).join(', ')})` }]
    : [];
}

interface Table {
  header: string[];
  rows: string[][];
  line: number;
}

interface Section {
  prose: { text: string; line: number }[];
  tables: Table[];
}

/** The document cut at its headings: each part's prose lines and tables. */
function sections(prose: string[]): Section[] {
  const out: Section[] = [{ prose: [], tables: [] }];
  let table: Table | null = null;
  prose.forEach((line, i) => {
    if (headingText(line) !== null) {
      out.push({ prose: [], tables: [] });
      table = null;
      return;
    }
    const row = cells(line);
    const current = out[out.length - 1];
    if (row === null && /^\s*\|/.test(line)) return; // the delimiter row
    if (row) {
      if (table === null) {
        table = { header: row, rows: [], line: i + 1 };
        current.tables.push(table);
      } else {
        table.rows.push(row);
      }
      return;
    }
    table = null;
    if (line.trim() !== '') current.prose.push({ text: line, line: i + 1 });
  });
  return out;
}

const number = (text: string) => Number(text.replace(/,/g, ''));

function countMismatches(prose: string[]): ReportDefect[] {
  const defects: ReportDefect[] = [];
  for (const section of sections(prose)) {
    for (const { text, line } of section.prose) {
      // "전체 15건 중 10건을 보입니다." above an error table.
      const shown = /전체 ([\d,]+)건 중 ([\d,]+)건을 보입니다/.exec(text);
      const next = section.tables.find((t) => t.line > line);
      if (shown && next && next.rows.length !== number(shown[2])) {
        defects.push({ kind: 'count-mismatch', line, message: `says ${shown[2]} rows are shown, the table below has ${next.rows.length}` });
      }
      // "답변 22개" beside a table whose 합계 row has 22 in its "답변 수" column.
      for (const match of text.matchAll(/(?<![가-힣A-Za-z])([가-힣]+) ([\d,]+)개(?!월)/g)) {
        const [, noun, count] = match;
        for (const table of section.tables) {
          const column = table.header.indexOf(`${noun} 수`);
          const total = table.rows.find((row) => row[0] === '합계');
          if (column < 0 || !total || total[column] === undefined || total[column] === '') continue;
          if (number(total[column]) !== number(count)) {
            defects.push({ kind: 'count-mismatch', line, message: `prose says ${noun} ${count}개, the table's 합계 row says ${total[column]} (line ${table.line})` });
          }
        }
      }
    }
  }
  return defects;
}

/** Every defect of a rendered Markdown report, in line order within each kind. */
export function scanReport(markdown: string, options: { internalNames?: readonly string[] } = {}): ReportDefect[] {
  const prose = proseOnly(markdown);
  return [...internalNames(prose, options.internalNames ?? INTERNAL_NAMES), ...keyHeadings(prose), ...runTimeRows(prose), ...countMismatches(prose)];
}
