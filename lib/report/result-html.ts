/**
 * One emitted result as HTML, for the notebook display: the Markdown the report templates write for it
 * (`templates/_macros.njk` through render.ts) turned into HTML by the report's own renderer (html.ts),
 * so a table, headline or confusion matrix reads the same in Jupyter as in reports/. Each chart the
 * result asks for comes back as a plotly figure beside the box it goes into.
 */
import type { Figure } from './charts.js';
import { markdownToHtml } from './html.js';
import { renderMacroMarkdown } from './render.js';
import { classifyResult } from './result-kinds.js';

export interface ResultHtml {
  /** The HTML; chart `i` goes into the element with id `hanlab-chart-<i>`. */
  html: string;
  charts: Figure[];
}

/** Renders `emit(name, value)`'s result as the report does (throws the report's InputError for a malformed one). */
export function resultHtml(name: string, value: unknown, options: { cwd?: string } = {}): ResultHtml {
  const result = classifyResult(name, value);
  // The report shows headline figures and the environment outside the per-result sections.
  const call =
    result.kind === 'headline' ? 'm.headlineList(views.headlineFigures([r]))' : result.kind === 'environment' ? 'm.infoTable(views.environmentRows(r.value))' : 'm.result(r, 4)';
  const { markdown, charts } = renderMacroMarkdown(call, { r: result }, { cwd: options.cwd });
  return { html: markdownToHtml(markdown), charts };
}

/** Replaces chart box `i` of `html` with `draw(charts[i])` (an element that draws the figure). */
export function fillChartBoxes(rendered: ResultHtml, draw: (figure: Figure) => string): string {
  return rendered.html.replace(/<div class="chart-plot" id="hanlab-chart-(\d+)"><\/div>/g, (box, index: string) => {
    const figure = rendered.charts[Number(index)];
    return figure ? draw(figure) : box;
  });
}
