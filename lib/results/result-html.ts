/**
 * One emitted result as HTML, for the notebook display: the report's own rendering of it
 * (render.ts `renderResult`, through `templates/_macros.njk` and html.ts, charts as the same inline
 * SVG), so a table, headline or confusion matrix reads the same in Jupyter as in reports/.
 */
import { renderResult } from './render.js';
import type { NamedResult } from './kinds.js';

/** Renders a result whose kind is decided (kinds.ts `classifyResult`) as the report does. */
export function resultHtml(result: NamedResult, options: { cwd?: string } = {}): string {
  // The report shows headline figures and the environment outside the per-result sections.
  const call = result.kind === 'headline' ? 'm.headlineList(views.headlineFigures([r]))' : result.kind === 'environment' ? 'm.infoTable(views.environmentRows(r.value))' : 'm.result(r)';
  return renderResult(result, { cwd: options.cwd }, call).html;
}
