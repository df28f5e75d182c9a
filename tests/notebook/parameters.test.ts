import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParameterError } from '../../lib/notebook/parameters.js';
import { readNotebook, sourceText, type Notebook } from '../../lib/notebook/nbformat.js';
import { INJECTED_TAG, declaredParameters, hasTag, injectParameters, parametersSource, parseParameterArgs, parseParameterValue } from '../../lib/notebook/parameters.js';

const fixture = () => readNotebook('tests/fixtures/notebooks/parameters.ipynb');

describe('parameters', () => {
  test('declared defaults come from the cell tagged "parameters", with their types', async () => {
    const declared = await declaredParameters(fixture());
    assert.deepEqual([...declared.keys()], ['epochs', 'model', 'labels', 'verbose', 'mode']);
    assert.deepEqual(declared.get('mode'), { name: 'mode', type: "'fast' | 'full'", defaultSource: "'fast'" });
    assert.equal(declared.get('labels')?.type, 'string[]');
  });

  test('-p values: strings stay text, numbers/booleans/JSON parse, declared types are enforced', async () => {
    const values = await parseParameterArgs(['epochs=5', 'model=007', 'labels=["PS"]', 'verbose=true', 'mode=full', 'extra={"a":1}', 'note=hello world'], fixture());
    assert.deepEqual({ ...values }, { epochs: 5, model: '007', labels: ['PS'], verbose: true, mode: 'full', extra: { a: 1 }, note: 'hello world' });
    await assert.rejects(parseParameterArgs(['epochs=many'], fixture()), /"epochs" is declared as number, got "many"/);
    await assert.rejects(parseParameterArgs(['verbose=yes'], fixture()), /declared as boolean/);
    await assert.rejects(parseParameterArgs(['novalue'], fixture()), /-p expects name=value/);
    await assert.rejects(parseParameterArgs(['1st=3'], fixture()), ParameterError);
    await assert.rejects(parseParameterArgs(['class=3'], fixture()), /cannot be a parameter name/);
    assert.equal(parseParameterValue('x', 'a=b'), 'a=b');
  });

  test('the injected cell goes right after the parameters cell, typed like the defaults', async () => {
    const { notebook, injectedIndex, unknownNames, hasParametersCell } = await injectParameters(fixture(), { epochs: 7, mode: 'full', extra: [1, 2], flag: null });
    assert.equal(hasParametersCell, true);
    assert.equal(injectedIndex, 2);
    const cell = notebook.cells[injectedIndex];
    assert.ok(hasTag(cell, INJECTED_TAG));
    assert.equal(
      sourceText(cell.source),
      ['// Parameters injected by hanlab run', 'const epochs: number = 7;', `const mode: 'fast' | 'full' = "full";`, 'const extra = [1,2];', 'const flag = null;', ''].join('\n'),
    );
    assert.deepEqual(unknownNames, ['extra', 'flag']);
    assert.equal(notebook.cells.length, fixture().cells.length + 1);
  });

  test('injecting again replaces the earlier injected cell; the input notebook is not changed', async () => {
    const original = fixture();
    const first = await injectParameters(original, { epochs: 1 });
    const second = await injectParameters(first.notebook, { epochs: 2 });
    assert.equal(second.notebook.cells.filter((cell) => hasTag(cell, INJECTED_TAG)).length, 1);
    assert.match(sourceText(second.notebook.cells[2].source), /epochs: number = 2;/);
    assert.deepEqual(original, fixture());
  });

  test('without a parameters cell the injected cell goes first (papermill)', async () => {
    const notebook: Notebook = { nbformat: 4, nbformat_minor: 4, metadata: {}, cells: [{ cell_type: 'code', source: 'x', metadata: {}, outputs: [], execution_count: null }] };
    const result = await injectParameters(notebook, { lr: 0.001, name: '한국어 "따옴표"' });
    assert.equal(result.hasParametersCell, false);
    assert.equal(result.injectedIndex, 0);
    assert.equal(result.notebook.cells[0].id, undefined, 'nbformat 4.4 cells have no id');
    assert.match(sourceText(result.notebook.cells[0].source), /const lr: number = 0\.001;\nconst name: string = "한국어 \\"따옴표\\"";/);
  });

  test('values JSON cannot hold, and "__proto__" keys, are refused', () => {
    assert.throws(() => parametersSource({ x: Number.POSITIVE_INFINITY }), /only finite numbers/);
    assert.throws(() => parametersSource({ x: undefined }), /only JSON values/);
    assert.throws(() => parametersSource({ x: new Date() }), /only JSON values/);
    assert.throws(() => parametersSource({ x: JSON.parse('{"__proto__": {"a": 1}}') }), /"__proto__" key/);
  });

  test('every injected JSON value reads back as the same value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const canonical = JSON.parse(JSON.stringify(value));
        if (JSON.stringify(canonical).includes('"__proto__"')) return;
        const source = parametersSource({ v: canonical });
        const literal = /^const v(?:: \w+)? = ([\s\S]*);\n$/m.exec(source.split('\n').slice(1).join('\n') + '')!;
        assert.deepEqual(JSON.parse(literal[1]), canonical);
      }),
      { numRuns: 200 },
    );
  });
});
