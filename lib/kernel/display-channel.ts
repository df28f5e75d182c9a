/**
 * The channel notebook code displays through. lib/notebook/display.ts finds it on globalThis (under
 * Symbol.for(KERNEL_DISPLAY_KEY)); tslab's own `display` API (`tslab.display.html(...)`) is pointed at
 * it too. On the way to the front end it:
 *
 * - decides an emitted result's kind, once (lib/results/kinds.ts `classifyResult`), and stamps it into
 *   the result bundle with the kind contract's version, so that the report reads the kind instead of
 *   deciding it again (a result whose fields its kind's macro cannot read gets no stamp: the report
 *   then names the wrong field, as it does for bundles of other kernels);
 * - adds `text/html` to hanlab's own mime types: an emitted result is drawn by the report's own code
 *   (lib/results/result-html.ts: its tables, and its charts as the same static SVG), so it reads the same
 *   in Jupyter and in reports/; a plotly figure (`showPlot`) gets HTML that draws it offline
 *   (plotly-html.ts; plotly.js rides in the session's first figure);
 * - refuses a second result of the same name from the same cell run, or from another cell, unless the
 *   later emit says `{ replace: true }` (lib/results/one-value-per-name.ts, the rule the report reads by).
 */
import { HanlabError } from '../errors.js';
import { KERNEL_DISPLAY_KEY, PLOTLY_MIME, RESULT_MIME, type DisplayContent, type KernelDisplayChannel, type ResultBundle } from '../results/mime.js';
import { escapeHtml } from '../notebook/display.js';
import { isSecondValue } from '../results/one-value-per-name.js';
import { classifyResult, RESULT_KINDS_VERSION, type NamedResult } from '../results/kinds.js';
import type { CurrentExecution } from './kernel.js';
import { plotlyFigureHtml, plotlyLoaderHtml, type PlotlyFigureSpec } from './plotly-html.js';

export class DuplicateResultError extends HanlabError {}

/** What the channel needs from the kernel. */
export interface DisplayHost {
  readonly current: CurrentExecution | undefined;
  display(content: DisplayContent, update: boolean): void;
  clearOutput(wait: boolean): void;
}

type ResultHtmlModule = typeof import('../results/result-html.js');

interface EmittedAt {
  serial: number;
  executionCount: number | null;
  cellId?: string;
}

export class DisplayChannel implements KernelDisplayChannel {
  private report?: ResultHtmlModule;
  private plotlyLoaded = false;
  private readonly results = new Map<string, EmittedAt>();

  constructor(
    private readonly host: DisplayHost,
    private readonly root: string,
    private readonly log: (text: string) => void = () => undefined,
  ) {}

  /** Loads the report's renderers (nunjucks, marked): done while the kernel warms, not at start. */
  async load(): Promise<void> {
    this.report ??= await import('../results/result-html.js');
  }

  /** Makes this the channel notebook code finds, and tslab's `display` API's sender. */
  install(tslabJupyterModule?: { lastWriteDisplayData: unknown }): void {
    (globalThis as Record<symbol, unknown>)[Symbol.for(KERNEL_DISPLAY_KEY)] = this;
    if (tslabJupyterModule) tslabJupyterModule.lastWriteDisplayData = (content: DisplayContent, update: boolean) => this.display(content, update);
  }

  display(content: DisplayContent, update: boolean): void {
    const data = this.enrich(content.data ?? {});
    this.host.display({ data, metadata: content.metadata ?? {}, transient: content.transient }, update);
  }

  clearOutput(wait: boolean): void {
    this.host.clearOutput(wait === true);
  }

  private enrich(data: Record<string, unknown>): Record<string, unknown> {
    if (Object.hasOwn(data, RESULT_MIME)) {
      const bundle = data[RESULT_MIME] as ResultBundle;
      this.checkResultName(bundle);
      let decided: NamedResult | Error;
      try {
        decided = classifyResult(bundle.name, bundle.value);
      } catch (error) {
        decided = error instanceof Error ? error : new Error(String(error));
      }
      // A bundle sent as JSON text (tslab's display.raw) is left as it came: the report decides its kind.
      const isObject = typeof bundle === 'object' && bundle !== null && !Array.isArray(bundle);
      const stamped = decided instanceof Error || !isObject ? bundle : { ...bundle, kind: decided.kind, kindVersion: RESULT_KINDS_VERSION };
      return { ...data, [RESULT_MIME]: stamped, 'text/html': Object.hasOwn(data, 'text/html') ? data['text/html'] : this.resultHtml(bundle.name, decided) };
    }
    if (Object.hasOwn(data, PLOTLY_MIME) && !Object.hasOwn(data, 'text/html')) {
      return { ...data, 'text/html': this.figureHtml(data[PLOTLY_MIME] as PlotlyFigureSpec) };
    }
    return data;
  }

  private checkResultName(bundle: ResultBundle): void {
    const current = this.host.current;
    const here: EmittedAt = { serial: current?.serial ?? -1, executionCount: current?.executionCount ?? null, cellId: current?.cellId };
    const before = this.results.get(bundle.name);
    if (before && isSecondValue({ run: before.serial, cell: before.cellId }, { run: here.serial, cell: here.cellId }, bundle.replace === true)) {
      const where = before.serial === here.serial ? 'earlier in this cell' : `by ${before.executionCount !== null ? `In[${before.executionCount}]` : 'another cell'}`;
      throw new DuplicateResultError(
        `emit("${bundle.name}"): a result of that name was already emitted ${where}, and a report keeps one value per name. ` +
          `Give this result another name, or call emit("${bundle.name}", value, { replace: true }) to replace the earlier one.`,
      );
    }
    this.results.set(bundle.name, here);
  }

  private resultHtml(name: string, decided: NamedResult | Error): string {
    try {
      if (decided instanceof Error) throw decided;
      if (!this.report) throw new Error('the report renderer is not loaded yet');
      return `<div class="hanlab-result">${this.report.resultHtml(decided, { cwd: this.root })}</div>`;
    } catch (error) {
      // The result is still emitted (the report reads the JSON); the notebook shows why it has no table.
      const message = error instanceof Error ? error.message : String(error);
      this.log(`[hanlab kernel] could not render result "${name}": ${message}\n`);
      return `<div class="hanlab-result"><p><strong>${escapeHtml(name)}</strong>: the report could not draw this result: ${escapeHtml(message)}</p></div>`;
    }
  }

  private figureHtml(figure: PlotlyFigureSpec): string {
    let loader = '';
    if (!this.plotlyLoaded) {
      loader = plotlyLoaderHtml(this.root);
      this.plotlyLoaded = true;
    }
    return loader + plotlyFigureHtml(figure);
  }
}
