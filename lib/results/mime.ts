/**
 * The mime types hanlab puts in notebook outputs. A module of its own so that notebooks importing
 * display.ts (compiled by tslab at every kernel start) pull in nothing else.
 */

/** Results for the report: data `{ name, value }` (ResultBundle). */
export const RESULT_MIME = 'application/vnd.hanlab.result+json';

/**
 * Plotly figures (`showPlot`): data `{ data, layout, config? }`, drawn in Jupyter (JupyterLab's plotly
 * renderer, or the HTML the hanlab kernel adds). Reports do not draw them: a report's charts are SVG
 * drawn from result kinds (lib/results/charts.ts).
 */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** The data under RESULT_MIME. `value` is plain JSON (emit() checks that). */
export interface ResultBundle {
  name: string;
  value: unknown;
  /** Set by `emit(name, value, { replace: true })`: this result replaces an earlier one of the same name. */
  replace?: true;
  /**
   * The value's kind (a result kind, or 'value'), stamped by the hanlab kernel, which decides it once
   * (lib/results/kinds.ts `kindOf`) for its HTML; the report reads it (`resultOfBundle`) instead of
   * deciding again. Absent from bundles of a stock tslab kernel and of notebooks run before the stamp.
   */
  kind?: string;
  /** The version of the kind contract the stamp was decided under (kinds.ts `RESULT_KINDS_VERSION`). */
  kindVersion?: number;
}

/**
 * The hanlab kernel publishes its display channel on globalThis under Symbol.for(KERNEL_DISPLAY_KEY):
 * notebook code (display.ts) finds the running kernel there without importing any kernel module.
 */
export const KERNEL_DISPLAY_KEY = 'hanlab.kernel.display';

/** What a display call sends: the mime bundle, its metadata, and Jupyter's transient (display_id). */
export interface DisplayContent {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

/** The hanlab kernel's display channel (lib/kernel/display-channel.ts implements it). */
export interface KernelDisplayChannel {
  /** Sends display_data, or update_display_data when `update` (needs transient.display_id). */
  display(content: DisplayContent, update: boolean): void;
  /** Clears the cell's output; with `wait`, only when the next output arrives (no flicker). */
  clearOutput(wait: boolean): void;
}
