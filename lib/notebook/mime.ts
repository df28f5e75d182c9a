/**
 * The mime types hanlab puts in notebook outputs. A module of its own so that notebooks importing
 * display.ts (compiled by tslab at every kernel start) pull in nothing else.
 */

/** Results for the report: data `{ name, value }` (ResultBundle). */
export const RESULT_MIME = 'application/vnd.hanlab.result+json';

/** Plotly figures: data `{ data, layout, config? }`, drawn by JupyterLab and the report renderer. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** The data under RESULT_MIME. `value` is plain JSON (emit() checks that). */
export interface ResultBundle {
  name: string;
  value: unknown;
}
