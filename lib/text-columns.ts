/**
 * Plain-text tables that line up in a terminal and in a notebook's text/plain output. Hangul and other
 * East Asian wide characters take two columns; string-width knows the Unicode width tables, so we
 * don't keep our own ranges.
 */
import stringWidth from 'string-width';

/** Columns the text takes in a monospace terminal. */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** Pads `text` with spaces to `width` display columns (never truncates). */
export function padEndToWidth(text: string, width: number): string {
  const pad = width - displayWidth(text);
  return pad > 0 ? text + ' '.repeat(pad) : text;
}

/** Column widths (in display columns) that fit every row; missing cells count as empty. */
export function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const count = Math.max(0, ...rows.map((row) => row.length));
  return Array.from({ length: count }, (_, c) => Math.max(0, ...rows.map((row) => displayWidth(row[c] ?? ''))));
}

/** One table line: cells padded to `widths`, two spaces apart, no trailing spaces. */
export function formatTextRow(row: readonly string[], widths: readonly number[]): string {
  return row.map((cell, c) => padEndToWidth(cell, widths[c] ?? 0)).join('  ').trimEnd();
}
