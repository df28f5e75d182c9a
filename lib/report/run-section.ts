/**
 * The closing 실행 정보 (run metadata) section of a report: run times, dates, the git commit, the
 * machine. `hanlab reports --check` compares reports without it, and `hanlab reports` keeps a report
 * whose new version differs only there (so an unchanged tree stays clean in git).
 */
/**
 * Where the run-metadata section starts. `_base.njk` closes every report with a thematic break and
 * the heading `## 실행 정보`; marked turns that into `<hr>` + `<h2>실행 정보</h2>`. The last match is
 * taken: the section is the end of the document, and a data value cannot start a line of its own
 * there (table cells are escaped). tests/report/check.test.ts renders through the real templates and
 * fails if the templates stop writing this heading.
 */
export const RUN_METADATA_MARKDOWN = '\n---\n\n## 실행 정보\n';
export const RUN_METADATA_HTML = '<hr>\n<h2>실행 정보</h2>\n';
/** In HTML the section ends with the report body; the chart scripts after it are compared. */
const HTML_BODY_END = '</main>';

export type DocumentKind = 'markdown' | 'html';

/** The text without its run-metadata section; text without one is returned unchanged. */
export function stripRunMetadata(text: string, kind: DocumentKind): { text: string; found: boolean } {
  if (kind === 'markdown') {
    const start = text.lastIndexOf(RUN_METADATA_MARKDOWN);
    if (start < 0) return { text, found: false };
    return { text: text.slice(0, start + 1), found: true };
  }
  const start = text.lastIndexOf(RUN_METADATA_HTML);
  if (start < 0) return { text, found: false };
  const end = text.indexOf(HTML_BODY_END, start);
  if (end < 0) return { text, found: false };
  return { text: text.slice(0, start) + text.slice(end), found: true };
}

