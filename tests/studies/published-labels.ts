/**
 * Where a published figure may stand in a report: only where the report says it is the published
 * report's. A line is "labelled" when it, its table's header row, its blockquote's first line, the line
 * before its code block, or one of its enclosing headings says 공개 (공개 보고서, 공개 보고서 인용).
 */
import { readFileSync } from 'node:fs';

/**
 * Every number in a published.json that is distinctive enough to be recognised in a report: decimals
 * with three or more significant digits (0.0833, 91.8) and integers from 100 (147, 611). Smaller integers
 * (cells of a confusion matrix, epochs) occur in any data set; a study's key small counts are passed in
 * `keyIntegers` (study 000's 37 training sentences), and the synthetic data avoids them.
 */
export function publishedFigures(file: string, keyIntegers: number[] = []): number[] {
  const figures = new Set<number>();
  const add = (token: string) => {
    const text = token.replace(/,/g, '');
    const value = Number(text);
    if (!Number.isFinite(value)) return;
    const integer = /^\d+$/.test(text);
    // Small integers (1 epoch, 3 classes) and round decimals (0.5) occur in any data; leave them out.
    // Significant digits of a decimal: "0.0833" → 833, "3.0" → 3 (round, left out).
    const significant = text.replace(/0+$/, '').replace('.', '').replace(/^0+/, '');
    // Two-digit scores (0.67, 0.53) turn up in any small data set; three digits and more are the study's own.
    if (integer ? value >= 100 || keyIntegers.includes(value) : significant.length >= 3) figures.add(value);
  };
  const walk = (value: unknown): void => {
    if (typeof value === 'number') add(String(value));
    else if (typeof value === 'string') for (const m of value.matchAll(/\d[\d,]*(?:\.\d+)?/g)) add(m[0]);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      // Where the figures come from (seed file, section names such as "3.1 정량적 결과") are not figures.
      for (const [key, entry] of Object.entries(value)) if (key !== 'source' && key !== 'sections') walk(entry);
    }
  };
  walk(JSON.parse(readFileSync(file, 'utf8')));
  return [...figures].sort((a, b) => a - b);
}

/** The numbers a line of Markdown shows (thousands separators removed). */
export function numbersIn(line: string): number[] {
  return [...line.matchAll(/(?<![\w.-])\d[\d,]*(?:\.\d+)?(?![\w])/g)].map((m) => Number(m[0].replace(/,/g, ''))).filter(Number.isFinite);
}

export interface UnlabelledFigure {
  line: number;
  text: string;
  figures: number[];
}

/** Lines that show a published figure without saying it is the published report's. */
export function unlabelledPublishedFigures(markdown: string, figures: number[]): UnlabelledFigure[] {
  const lines = markdown.split('\n');
  const headings: string[] = [];
  const found: UnlabelledFigure[] = [];
  let tableHeader: string | undefined;
  let quoteStart: string | undefined;
  let fence: { marker: string; before: string } | undefined;
  let previous = '';
  const labelled = (text: string) => text.includes('공개');
  let runMetadata = false;
  lines.forEach((line, index) => {
    // The closing run-metadata section holds package versions, hashes and times, never study figures.
    if (line === '## 실행 정보') runMetadata = true;
    if (runMetadata) return;
    const fenceMatch = /^(`{3,}|~{3,})/.exec(line);
    let context = '';
    if (fence) {
      if (fenceMatch && line.trim() === fence.marker) fence = undefined;
      else context = fence.before;
    } else if (fenceMatch) {
      fence = { marker: fenceMatch[1], before: previous };
    } else {
      const heading = /^(#{1,6}) (.*)$/.exec(line);
      if (heading) {
        headings.length = heading[1].length - 1;
        headings[heading[1].length - 1] = heading[2];
      }
      if (line.startsWith('|')) tableHeader ??= line;
      else tableHeader = undefined;
      if (line.startsWith('>')) quoteStart ??= line;
      else quoteStart = undefined;
      context = `${tableHeader ?? ''} ${quoteStart ?? ''}`;
    }
    if (line.trim() !== '') previous = line;
    if (labelled(line) || labelled(context) || headings.some((h) => h !== undefined && labelled(h))) return;
    const shown = numbersIn(line).filter((n) => figures.includes(n));
    if (shown.length) found.push({ line: index + 1, text: line, figures: shown });
  });
  return found;
}
