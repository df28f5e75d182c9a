/**
 * The real hanlab kernel process (lib/kernel/main.ts over tslab), through KernelClient: kernel_info,
 * rich values (TensorFlow.js tensors, danfojs frames as tables), emit()'s HTML drawn by the report's
 * own code, plotly figures that load plotly.js once, clear_output, interrupts, and `hanlab-gpu` on a
 * machine without a GPU: it starts and refuses every cell, saying why.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gpuProblem } from '../../lib/backend/probe.js';
import { gpuDeviceNodes } from '../../lib/backend/vulkan.js';
import { KernelClient } from '../../lib/jupyter/kernel-client.js';
import type { ErrorOutput, Output } from '../../lib/notebook/nbformat.js';
import { resultHtml } from '../../lib/results/result-html.js';
import { classifyResult } from '../../lib/results/kinds.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const marker = newMarker();
const noGpu = gpuProblem() !== undefined && gpuDeviceNodes().length === 0;
let kernel: KernelClient;

before(async () => {
  kernel = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
});
after(async () => {
  await kernel?.shutdown();
  assert.deepEqual(await waitForNoProcesses(marker), [], 'no kernel process may outlive the tests');
});

function only(outputs: Output[], type: Output['output_type']): Output[] {
  return outputs.filter((output) => output.output_type === type);
}
const data = (output: Output | undefined) => (output as { data: Record<string, unknown> }).data;

describe('the hanlab kernel process', () => {
  test('kernel_info: status, the TypeScript version tslab compiles with, and a banner', async () => {
    const info = await kernel.kernelInfo();
    assert.equal(info.status, 'ok');
    assert.equal(info.protocol_version, '5.3');
    assert.equal(info.implementation, 'hanlab');
    const language = info.language_info as { name: string; version: string; file_extension: string };
    assert.deepEqual([language.name, language.version, language.file_extension], ['typescript', '5.0.4', '.ts']);
    assert.match(String(info.banner), /^hanlab \d+\.\d+\.\d+: TypeScript 5\.0\.4 \(tslab 1\.0\.22\) on Node\.js v\d+/);
  });

  test('a cell\'s last expression is an execute_result with its execution count; undefined shows nothing', async () => {
    const outcome = await kernel.execute("const answer: number = 6 * 7;\n'답: ' + answer");
    assert.deepEqual(outcome.outputs, [{ output_type: 'execute_result', execution_count: outcome.executionCount, data: { 'text/plain': "'답: 42'" }, metadata: {} }]);
    assert.deepEqual((await kernel.execute('undefined')).outputs, []);
  });

  test('a TensorFlow.js tensor and a danfojs DataFrame/Series as a cell\'s value display as tables', async () => {
    const tensor = await kernel.execute("import * as tf from '@tensorflow/tfjs';\ntf.tensor2d([[1, 2.5], [3, 4]])");
    assert.equal(tensor.status, 'ok', JSON.stringify(tensor.reply));
    const tensorData = data(only(tensor.outputs, 'execute_result')[0]);
    assert.match(String(tensorData['text/plain']), /^Tensor\n\s+\[\[1, 2\.5\],/);
    assert.match(String(tensorData['text/html']), /<caption>Tensor \[2, 2\] float32<\/caption>.*<tr><td>0<\/td><td>1<\/td><td>2\.5000<\/td><\/tr><tr><td>1<\/td><td>3<\/td><td>4<\/td><\/tr>/);

    const frame = await kernel.execute("import * as dfd from 'danfojs-node';\nconst df = new dfd.DataFrame({ label: ['PS', '<OG>'], f1: [0.8, 0.5] });\ndf");
    assert.equal(frame.status, 'ok', JSON.stringify(frame.reply));
    const frameData = data(only(frame.outputs, 'execute_result')[0]);
    assert.match(String(frameData['text/html']), /<caption>DataFrame \[2 × 2\]<\/caption><thead><tr><th>label<\/th><th>f1<\/th><\/tr><\/thead><tbody><tr><td>PS<\/td><td>0\.8000<\/td><\/tr><tr><td>&#60;OG&#62;<\/td>/);
    assert.match(String(frameData['text/plain']), /║ 0 +│ PS/, 'text/plain is danfo\'s own table');

    const series = await kernel.execute("df['f1']");
    assert.match(String(data(only(series.outputs, 'execute_result')[0])['text/html']), /<caption>Series \[2 × 1\]<\/caption><thead><tr><th>f1<\/th><\/tr>/);
  });

  test('showTable takes a real danfojs-node DataFrame (it type-checks under tslab)', async () => {
    const outcome = await kernel.execute("import { showTable } from './lib/notebook/display.js';\nshowTable(df, { caption: '라벨별 F1' });");
    assert.equal(outcome.status, 'ok', JSON.stringify(outcome.outputs));
    assert.match(String(data(outcome.outputs[0])['text/html']), /^<table class="hanlab-table"><caption>라벨별 F1<\/caption><thead><tr><th>label<\/th><th>f1<\/th>/);
  });

  test('emit() carries text/html drawn by the report\'s own code (its chart as the same SVG); plotly figures draw offline, plotly.js sent once', async () => {
    const value = { kind: 'confusion', title: '위험도', labels: ['높음', '낮음'], matrix: [[3, 1], [0, 4]] };
    const outcome = await kernel.execute(`import { emit } from './lib/notebook/display.js';\nemit('risk', ${JSON.stringify(value)});`);
    assert.equal(outcome.status, 'ok', JSON.stringify(outcome.outputs));
    const html = String(data(outcome.outputs[0])['text/html']);
    assert.equal(html, `<div class="hanlab-result">${resultHtml(classifyResult('risk', value))}</div>`, 'exactly the report\'s rendering of this result');
    assert.match(html, /<th align="center">정답: 높음<\/th>/);
    assert.match(html, /<figure class="chart"[^>]*><svg/);

    const plotCode = "import { showPlot } from './lib/notebook/display.js';\nshowPlot({ data: [{ type: 'bar', x: ['a'], y: [1] }], layout: { title: { text: '막대' } } });";
    const first = data((await kernel.execute(plotCode)).outputs[0]);
    assert.deepEqual(Object.keys(first).sort(), ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']);
    assert.match(String(first['text/html']), /^<script type="text\/javascript">if \(!window\.Plotly\) \{ \(function \(define, module, exports\) \{\n\/\*\*\n\* plotly\.js v/, 'the first figure of the session carries plotly.js');
    assert.match(String(first['text/html']), /window\.Plotly\.newPlot\(box, figure\.data, figure\.layout/);
    const second = data((await kernel.execute(plotCode)).outputs[0]);
    assert.doesNotMatch(String(second['text/html']), /plotly\.js v/, 'later figures do not carry the bundle again');
    assert.match(String(second['text/html']), /^<div class="hanlab-plot" data-figure="[0-9a-f]{16}"><\/div><script/);
  });

  test('clearOutput() from a notebook clears the cell\'s output', async () => {
    const outcome = await kernel.execute("import { clearOutput } from './lib/notebook/display.js';\nconsole.log('progress 1');\nclearOutput();\nconsole.log('progress 2');");
    assert.deepEqual(outcome.outputs, [{ output_type: 'stream', name: 'stdout', text: 'progress 2\n' }]);
  });

  test('interrupting a synchronous endless loop: the cell fails with InterruptError and the kernel lives on', async () => {
    const running = kernel.execute('let spins = 0;\nwhile (true) { spins++; }');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    kernel.interrupt();
    const outcome = await running;
    assert.equal(outcome.status, 'error');
    assert.deepEqual([(outcome.outputs[0] as ErrorOutput).ename, (outcome.outputs[0] as ErrorOutput).evalue], ['InterruptError', 'the cell was interrupted']);
    assert.equal((await kernel.execute("'still here'")).status, 'ok');
  });

  test('a traceback names the cell and lib/ lines, without tslab or kernel frames', async () => {
    const outcome = await kernel.execute("import { readNotebook } from './lib/notebook/nbformat.js';\n\nreadNotebook('/nonexistent/x.ipynb');");
    const error = outcome.outputs.at(-1) as ErrorOutput;
    assert.equal(error.ename, 'InputError');
    assert.match(error.evalue, /^\/nonexistent\/x\.ipynb: cannot read notebook \(ENOENT\)/);
    assert.ok(error.traceback.some((line) => /^\s+at readNotebook \(lib\/notebook\/nbformat\.ts:\d+:\d+\)$/.test(line)), error.traceback.join('\n'));
    assert.ok(error.traceback.some((line) => /^\s+at In\[\d+\]:3:\d+$/.test(line)), error.traceback.join('\n'));
    assert.ok(error.traceback.some((line) => /^----> 3 \| readNotebook\('\/nonexistent\/x\.ipynb'\);$/.test(line)), error.traceback.join('\n'));
    assert.ok(!error.traceback.some((line) => /tslab|node:internal|evalmachine|hanlab-cell/.test(line)), error.traceback.join('\n'));
  });
});

describe('a fresh kernel, interrupted while it still loads its compiler', () => {
  test('the waiting cell is cancelled (the interrupt is not lost), and the kernel runs the next one', async () => {
    const fresh = await KernelClient.start({ kernel: 'hanlab', env: { HANLAB_TEST_MARKER: marker } });
    try {
      const started = Date.now();
      // Interrupt as soon as the kernel has taken the request (execute_input), while it loads the compiler.
      let taken!: () => void;
      const received = new Promise<void>((resolve) => (taken = resolve));
      const busy = fresh.execute('const until = Date.now() + 60000;\nwhile (Date.now() < until) {}', {
        onMessage: (message) => {
          if (message.header.msg_type === 'execute_input') taken();
        },
      });
      await received;
      fresh.interrupt();
      const outcome = await busy;
      assert.ok(Date.now() - started < 30_000, 'the minute-long loop did not run to its end');
      assert.deepEqual(outcome.outputs.map((output) => (output as ErrorOutput).ename), ['InterruptError']);
      assert.equal((await fresh.execute('6 * 7')).status, 'ok');
    } finally {
      await fresh.shutdown();
    }
  });
});

describe('a fresh kernel and its V8 code cache for TypeScript', () => {
  test('compiling in the kernel\'s thread (the default), the first cell writes the cache; the next kernel loads TypeScript from it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hanlab-kernel-code-cache-'));
    const env = { HANLAB_TEST_MARKER: marker, HANLAB_CODE_CACHE_DIR: dir, HANLAB_COMPILER_THREAD: 'off' };
    const cacheFiles = () => readdirSync(dir).filter((name) => name.endsWith('.v8cache'));
    try {
      const first = await KernelClient.start({ kernel: 'hanlab', env });
      try {
        assert.equal((await first.execute('6 * 7')).status, 'ok');
        // Written just after the first cell's reply.
        for (let wait = 0; cacheFiles().length === 0 && wait < 100; wait++) await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        await first.shutdown();
      }
      const written = cacheFiles();
      assert.equal(written.length, 1, 'one cache file, for tslab\'s typescript.js');
      const writtenAt = statSync(path.join(dir, written[0])).mtimeMs;
      const second = await KernelClient.start({ kernel: 'hanlab', env });
      try {
        assert.equal((await second.execute('6 * 7')).status, 'ok');
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await second.shutdown();
      }
      assert.equal(statSync(path.join(dir, written[0])).mtimeMs, writtenAt, 'a cache that served the start is not written again');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the hanlab-gpu kernel without a GPU', { skip: !noGpu && 'this machine has a GPU' }, () => {
  test('starts, answers every cell with an error naming what is missing and the override, and says why in its banner', async () => {
    const gpu = await KernelClient.start({ kernel: 'hanlab-gpu', env: { HANLAB_TEST_MARKER: marker } });
    try {
      // The GPU check runs in the background after start (Dawn's adapter, in a child process); the first
      // cell waits for it, so the banner is asked for after the cells.
      for (const code of ["console.log('never')", '1 + 1']) {
        const outcome = await gpu.execute(code);
        assert.equal(outcome.status, 'error');
        const error = outcome.outputs[0] as ErrorOutput;
        assert.equal(outcome.outputs.length, 1, 'the cell did not run');
        assert.equal(error.ename, 'GpuUnavailableError');
        assert.match(error.evalue, /^the hanlab-gpu kernel has no usable GPU, so it runs no cells: .*webgpu: .+/);
        assert.ok(error.traceback.some((line) => line.includes('HANLAB_ALLOW_CPU_FALLBACK=1')));
      }
      const info = await gpu.kernelInfo();
      assert.match(String(info.banner), /hanlab-gpu REFUSES TO RUN CELLS: no usable GPU: .*webgpu: .+/);
      assert.match(String(info.banner), /HANLAB_ALLOW_CPU_FALLBACK=1/);
    } finally {
      await gpu.shutdown();
    }
  });
});
