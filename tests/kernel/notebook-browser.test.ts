/**
 * The notebook experience as a person gets it: Debian's Jupyter Notebook 6.4 server (random port and
 * token, kernelspecs in a temporary JUPYTER_PATH) in headless Debian Chromium. Study notebook 02 runs
 * cell by cell with the `hanlab` kernel, and its results appear as the report draws them: HTML tables
 * and the report's chart SVGs. A notebook of plotly figures (`showPlot`) draws them offline with
 * plotly.js (plotly's SVG in the page), and a notebook on the `hanlab-gpu` kernel shows, on this GPU-less
 * machine, why it runs nothing, right under the cell. Where the software GPU is (SwiftShader, CI), the
 * server's kernels see it: `hanlab-gpu` refuses it as "only a software adapter", and the same kernel with
 * HANLAB_ALLOW_SOFTWARE_GPU=1 in its kernel.json runs the device cell on webgpu. Screenshots go to
 * .screenshots/ (git-ignored).
 * Skips, saying why, only without chromium / jupyter-notebook and HANLAB_REQUIRE_BROWSER unset.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from '../report/chromium.js';
import { gpuProblem } from '../../lib/backend/probe.js';
import { gpuDeviceNodes } from '../../lib/backend/vulkan.js';
import { softwareGpuEnv, softwareGpuSkip } from '../backend/software-gpu.js';
import { findJupyterNotebook, startJupyterServer, type JupyterServer } from '../remote/jupyter-server.js';

// Callbacks run inside the page; the project compiles without the DOM lib, so they are typed here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const Jupyter: any;

const SCREENSHOTS = path.join(process.cwd(), '.screenshots');
const missing = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing` : !findJupyterNotebook() ? 'jupyter-notebook is not installed' : undefined;
const skip = missing && !process.env.HANLAB_REQUIRE_BROWSER ? `${missing} (apt install chromium jupyter-notebook; CI sets HANLAB_REQUIRE_BROWSER=1)` : false;
const noGpu = gpuProblem() !== undefined && gpuDeviceNodes().length === 0;
/** The hanlab-gpu kernelspec with HANLAB_ALLOW_SOFTWARE_GPU=1: the same launcher, told to take the software adapter. */
const SOFTWARE_KERNEL = 'hanlab-gpu-software';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-notebook-ui-'));
let server: JupyterServer | undefined;
let base = '';
let token = '';
let context: BrowserContext | undefined;

before(async () => {
  if (skip) return;
  assert.equal(missing, undefined, missing);
  const notebooks = path.join(work, 'notebooks');
  mkdirSync(notebooks, { recursive: true });
  copyFileSync('notebooks/02-klue-ner-llm.ipynb', path.join(notebooks, '02-klue-ner-llm.ipynb'));
  // A small notebook on the GPU kernel: the device cell a training notebook starts with.
  const device = JSON.parse(readFileSync('tests/fixtures/notebooks/device.ipynb', 'utf8'));
  device.metadata.kernelspec = { name: 'hanlab-gpu', display_name: 'hanlab GPU (TypeScript, WebGPU)', language: 'typescript' };
  writeFileSync(path.join(notebooks, 'gpu.ipynb'), JSON.stringify(device));
  device.metadata.kernelspec = { name: SOFTWARE_KERNEL, display_name: 'hanlab GPU (software adapter, tests)', language: 'typescript' };
  writeFileSync(path.join(notebooks, 'gpu-software.ipynb'), JSON.stringify(device));
  // Plotly figures: the first carries plotly.js, the second reuses it.
  const plots = JSON.parse(readFileSync('tests/fixtures/notebooks/ten-cells.ipynb', 'utf8'));
  const plotCell = (title: string) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: `import { showPlot } from './lib/notebook/display.js';\nshowPlot({ data: [{ type: 'bar', x: ['PS', 'LC', 'OG'], y: [0.8, 0.6, 0.4] }], layout: { title: { text: '${title}' }, height: 300 } });` });
  plots.cells = [plotCell('유형별 F1'), plotCell('다시 그린 F1')];
  writeFileSync(path.join(notebooks, 'plots.ipynb'), JSON.stringify(plots));

  // Debian's jupyter-notebook, random port and token, kernelspecs installed into a private JUPYTER_PATH.
  server = await startJupyterServer({
    notebookDir: notebooks,
    // Every kernel of this server sees the software GPU, which only the variant below may take.
    env: softwareGpuSkip ? {} : softwareGpuEnv(false),
    addKernelSpecs: (kernels) => {
      const spec = JSON.parse(readFileSync(path.join(kernels, 'hanlab-gpu', 'kernel.json'), 'utf8'));
      spec.display_name = 'hanlab GPU (software adapter, tests)';
      spec.env = { ...spec.env, HANLAB_ALLOW_SOFTWARE_GPU: '1' };
      mkdirSync(path.join(kernels, SOFTWARE_KERNEL));
      writeFileSync(path.join(kernels, SOFTWARE_KERNEL, 'kernel.json'), JSON.stringify(spec, null, 1));
    },
  });
  base = server.url.replace(/\/$/, '');
  token = server.token;
  const profile = path.join(work, 'chromium-profile');
  context = await launchChromium(profile, { width: 1200, height: 900 });
});

after(async () => {
  await context?.close();
  // SIGTERM: the server shuts its kernels down; then nothing of it may be left.
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

/**
 * Opens a notebook, waits for its kernel, runs every cell ("Run All"), and waits until every code cell
 * has run, or, with `untilError`, until a cell failed (Run All then aborts the rest, as with ipykernel).
 */
async function runAll(page: Page, notebook: string, kernel: string, timeoutMs: number, untilError = false): Promise<void> {
  const requests: string[] = [];
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) requests.push(url);
  });
  await page.route((url) => !url.href.startsWith(base), (route) => route.abort());
  await page.goto(`${base}/notebooks/${notebook}?token=${token}`, { waitUntil: 'load' });
  await page.waitForFunction((name) => typeof Jupyter !== 'undefined' && Jupyter.notebook?.kernel?.name === name && Jupyter.notebook.kernel.is_connected(), kernel, { timeout: 60_000 });
  await page.evaluate(() => {
    Jupyter.notebook.clear_all_output();
    Jupyter.notebook.execute_all_cells();
  });
  await page.waitForFunction(
    (stopAtError) =>
      (stopAtError
        ? document.querySelector('.output_error') !== null
        : Jupyter.notebook.get_cells().every((cell: any) => cell.cell_type !== 'code' || typeof cell.input_prompt_number === 'number')) &&
      document.querySelector('#kernel_indicator_icon')?.classList.contains('kernel_idle_icon'),
    untilError,
    { timeout: timeoutMs, polling: 500 },
  );
  assert.deepEqual(requests, [], `${notebook}: nothing was fetched from the network`);
}

describe('Jupyter Notebook 6 in Chromium', { skip }, () => {
  test('study notebook 02 on the hanlab kernel: results as the report draws them, HTML tables and chart SVGs', { timeout: 420_000 }, async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await runAll(page, '02-klue-ner-llm.ipynb', 'hanlab', 360_000);
    const state = await page.evaluate(() => ({
      errors: [...document.querySelectorAll('.output_error')].map((node: any) => node.textContent.slice(0, 300)),
      prompts: Jupyter.notebook.get_cells().filter((cell: any) => cell.cell_type === 'code').map((cell: any) => cell.input_prompt_number),
      tables: document.querySelectorAll('.output_html .hanlab-result table').length,
      headers: [...document.querySelectorAll('.output_html .hanlab-result h4')].map((node: any) => node.textContent),
      charts: document.querySelectorAll('.output_html .hanlab-result figure.chart svg').length,
      textOnly: [...document.querySelectorAll('.output_text pre')].filter((node: any) => node.textContent.includes('{"kind"')).length,
    }));
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'notebook-02-in-jupyter.png') });
    if (state.charts > 0) await page.locator('.output_html .hanlab-result figure.chart').first().screenshot({ path: path.join(SCREENSHOTS, 'notebook-02-chart-in-jupyter.png') });
    assert.deepEqual(state.errors, [], 'no cell failed');
    assert.ok(state.prompts.every((count: unknown) => typeof count === 'number'), `every cell ran: ${JSON.stringify(state.prompts)}`);
    assert.ok(state.tables >= 8, `the emitted tables show as HTML tables (found ${state.tables}; titles: ${state.headers.join(' | ')})`);
    assert.ok(state.charts >= 1, 'the per-label F1 charts show as the report\'s SVG');
    assert.equal(state.textOnly, 0, 'no result shows as raw JSON text');
    assert.deepEqual(problems, [], 'no script error in the page');
    await page.close();
  });

  test('plotly figures draw offline in Notebook 6: plotly.js comes with the first figure, the second reuses it', { timeout: 180_000 }, async () => {
    const page = await context!.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await runAll(page, 'plots.ipynb', 'hanlab', 120_000);
    await page.waitForFunction(() => document.querySelectorAll('div.hanlab-plot[data-state="drawn"] svg.main-svg').length >= 2, undefined, { timeout: 60_000 });
    const state = await page.evaluate(() => ({
      drawn: [...document.querySelectorAll('div.hanlab-plot')].map((box: any) => box.getAttribute('data-state')),
      titles: [...document.querySelectorAll('div.hanlab-plot .gtitle')].map((node: any) => node.textContent),
      bars: document.querySelectorAll('div.hanlab-plot g.point').length,
    }));
    await page.locator('div.hanlab-plot').first().screenshot({ path: path.join(SCREENSHOTS, 'plotly-in-jupyter.png') });
    assert.deepEqual(state.drawn, ['drawn', 'drawn']);
    assert.deepEqual(state.titles, ['유형별 F1', '다시 그린 F1']);
    assert.equal(state.bars, 6);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a notebook on hanlab-gpu without a GPU shows the refusal reason under the cell, and the kernel stays up', { skip: !noGpu && 'this machine has a GPU', timeout: 180_000 }, async () => {
    const page = await context!.newPage();
    await runAll(page, 'gpu.ipynb', 'hanlab-gpu', 120_000, true);
    const state = await page.evaluate(() => ({
      errors: [...document.querySelectorAll('.output_error')].map((node: any) => node.textContent),
      connected: Jupyter.notebook.kernel.is_connected(),
      status: document.querySelector('#notification_kernel')?.textContent ?? '',
    }));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'hanlab-gpu-refusal-in-jupyter.png'), fullPage: true });
    assert.ok(state.errors.length >= 1, 'the refusal is shown under the cell');
    assert.match(state.errors[0], /GpuUnavailableError: the hanlab-gpu kernel has no usable GPU, so it runs no cells: .*webgpu: .*tensorflow-gpu.*missing CUDA libraries: .*libcudart\.so\.11\.0/);
    // With the software GPU in sight (CI), the refusal says that is all there is.
    if (!softwareGpuSkip) assert.match(state.errors[0], /webgpu: only a software adapter was found \(google swiftshader/);
    assert.match(state.errors[0], /HANLAB_ALLOW_CPU_FALLBACK=1/);
    assert.equal(state.connected, true, 'the kernel is up, not restarting');
    assert.doesNotMatch(server!.log(), /restarting kernel|KernelRestarter: restarting/i, 'the server never restarted the kernel');
    await page.close();
  });

  test('the hanlab-gpu kernel with HANLAB_ALLOW_SOFTWARE_GPU=1 runs the device cell on the software adapter (webgpu)', { skip: (!noGpu && 'this machine has a GPU') || softwareGpuSkip, timeout: 180_000 }, async () => {
    const page = await context!.newPage();
    await runAll(page, 'gpu-software.ipynb', SOFTWARE_KERNEL, 150_000);
    const state = await page.evaluate(() => ({
      errors: [...document.querySelectorAll('.output_error')].map((node: any) => node.textContent),
      outputs: [...document.querySelectorAll('.output_area')].map((node: any) => node.textContent).join('\n'),
    }));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'hanlab-gpu-software-adapter-in-jupyter.png'), fullPage: true });
    assert.deepEqual(state.errors, [], 'the device cell ran');
    assert.match(state.outputs, /"backend": "webgpu"/);
    assert.match(state.outputs, /"architecture": "swiftshader"/);
    await page.close();
  });
});
