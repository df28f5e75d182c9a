import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DisplayChannel, DuplicateResultError } from '../../lib/kernel/display-channel.js';
import type { CurrentExecution } from '../../lib/kernel/kernel.js';
import { KERNEL_DISPLAY_KEY, PLOTLY_MIME, RESULT_MIME, type DisplayContent } from '../../lib/results/mime.js';
import type { Message } from '../../lib/jupyter/protocol.js';
import { resultHtml } from '../../lib/results/result-html.js';
import { RESULT_KINDS_VERSION, classifyResult } from '../../lib/results/kinds.js';
import { readNamedResults } from '../../lib/results/read.js';

function setup() {
  const shown: Array<{ content: DisplayContent; update: boolean }> = [];
  const cleared: boolean[] = [];
  const logged: string[] = [];
  const host = {
    current: undefined as CurrentExecution | undefined,
    display: (content: DisplayContent, update: boolean) => shown.push({ content, update }),
    clearOutput: (wait: boolean) => cleared.push(wait),
  };
  const channel = new DisplayChannel(host, process.cwd(), (text) => logged.push(text));
  const run = (serial: number, executionCount: number, cellId?: string) => {
    host.current = { parent: {} as Message<object>, serial, executionCount, cellId };
  };
  const emit = (name: string, value: unknown, replace = false) => channel.display({ data: { [RESULT_MIME]: replace ? { name, value, replace: true } : { name, value }, 'text/plain': name }, metadata: {} }, false);
  return { channel, host, shown, cleared, logged, run, emit };
}

describe('DisplayChannel', () => {
  test('a result gets the report\'s own HTML of it; other bundles pass unchanged; clear_output passes through', async () => {
    const { channel, shown, cleared, emit, run } = setup();
    await channel.load();
    run(1, 1);
    const value = { kind: 'metrics', title: '평가 결과 요약', rows: [{ label: 'accuracy', value: 0.9 }] };
    emit('summary', value);
    assert.equal(shown[0].content.data['text/html'], `<div class="hanlab-result">${resultHtml(classifyResult('summary', value))}</div>`);
    channel.display({ data: { 'text/html': '<b>x</b>' }, metadata: {}, transient: { display_id: 'd1' } }, true);
    assert.deepEqual(shown[1], { content: { data: { 'text/html': '<b>x</b>' }, metadata: {}, transient: { display_id: 'd1' } }, update: true });
    channel.clearOutput(true);
    assert.deepEqual(cleared, [true]);
  });

  test('an emitted result\'s bundle carries the kind the kernel decided, which the report reads as it is', async () => {
    const { channel, shown, emit, run } = setup();
    await channel.load();
    run(1, 1);
    const table = { kind: 'table', title: '표', columns: ['a'], rows: [[1]] };
    emit('table', table);
    emit('f1', 0.5);
    emit('broken', { kind: 'confusion', labels: ['a'], matrix: 'not a matrix' });
    const bundles = shown.map((entry) => entry.content.data[RESULT_MIME]);
    assert.deepEqual(bundles[0], { name: 'table', value: table, kind: 'table', kindVersion: RESULT_KINDS_VERSION });
    assert.deepEqual(bundles[1], { name: 'f1', value: 0.5, kind: 'value', kindVersion: RESULT_KINDS_VERSION });
    // A result whose kind's macro cannot read it gets no stamp: the report names its wrong field.
    assert.deepEqual(bundles[2], { name: 'broken', value: { kind: 'confusion', labels: ['a'], matrix: 'not a matrix' } });
    // Through the executed notebook into the report's reader: the stamped kinds, as classifying would give.
    const outputs = shown.slice(0, 2).map((entry) => ({ output_type: 'display_data', data: entry.content.data, metadata: {} }));
    const notebook = { cells: [{ cell_type: 'code', source: 'emit()', outputs }] };
    assert.deepEqual(readNamedResults(notebook), [classifyResult('table', table), classifyResult('f1', 0.5)]);
  });

  test('a name emitted twice in one run, or by two cells, is refused unless replaced; a re-run cell may emit it again', async () => {
    const { channel, emit, run } = setup();
    await channel.load();
    run(1, 1, 'cell-a');
    emit('f1', 0.5);
    assert.throws(() => emit('f1', 0.6), (error: unknown) => error instanceof DuplicateResultError && /already emitted earlier in this cell/.test(error.message));
    run(2, 2, 'cell-b');
    assert.throws(() => emit('f1', 0.6), /emit\("f1"\): a result of that name was already emitted by In\[1\].*\{ replace: true \}/);
    emit('f1', 0.6, true);
    run(3, 3, 'cell-b');
    emit('f1', 0.7);
    // Front ends that send no cell id (Notebook 6): a later run of some cell may emit it again.
    run(4, 4);
    emit('f1', 0.8);
  });

  test('plotly figures get HTML that draws offline; the plotly.js bundle rides only in the first one', async () => {
    const { channel, shown, run } = setup();
    await channel.load();
    run(1, 1);
    const figure = { data: [{ type: 'bar', x: ['a'], y: [1] }], layout: {} };
    channel.display({ data: { [PLOTLY_MIME]: figure, 'text/plain': 'fig' }, metadata: {} }, false);
    channel.display({ data: { [PLOTLY_MIME]: figure, 'text/plain': 'fig' }, metadata: {} }, false);
    const [first, second] = shown.map((entry) => String(entry.content.data['text/html']));
    assert.match(first, /^<script type="text\/javascript">if \(!window\.Plotly\)/);
    assert.ok(first.length > 1_000_000, 'the first carries plotly.js');
    assert.ok(second.length < 2_000, 'the second does not');
    assert.equal(first.slice(first.indexOf('<div class="hanlab-plot"')), second, 'the same figure gives the same HTML');
  });

  test('a result the report cannot draw is still shown, with the reason', async () => {
    const { channel, shown, logged, emit, run } = setup();
    await channel.load();
    run(1, 1);
    emit('broken', { kind: 'confusion', labels: ['a'], matrix: 'not a matrix' });
    assert.match(String(shown[0].content.data['text/html']), /^<div class="hanlab-result"><p><strong>broken<\/strong>: the report could not draw this result: /);
    assert.equal(shown[0].content.data[RESULT_MIME] !== undefined, true);
    assert.equal(logged.length, 1);
  });

  test('install() publishes the channel for notebook code and points tslab\'s display API at it', () => {
    const { channel, shown } = setup();
    const tslabJupyter = { lastWriteDisplayData: null as unknown };
    const key = Symbol.for(KERNEL_DISPLAY_KEY);
    const before = (globalThis as Record<symbol, unknown>)[key];
    try {
      channel.install(tslabJupyter);
      assert.equal((globalThis as Record<symbol, unknown>)[key], channel);
      (tslabJupyter.lastWriteDisplayData as (content: DisplayContent, update: boolean) => void)({ data: { 'text/html': '<b>t</b>' }, metadata: {} }, false);
      assert.deepEqual(shown[0].content.data, { 'text/html': '<b>t</b>' });
    } finally {
      (globalThis as Record<symbol, unknown>)[key] = before;
    }
  });
});
