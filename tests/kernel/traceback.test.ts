import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeThrown, excerpt, nameAndMessage, type FrameResolver } from '../../lib/kernel/traceback.js';

const SOURCE = "const x = 1;\nfunction f() {\n  throw new Error('bad');\n}\nf();";
const resolve: FrameResolver = (file, line, column) => {
  if (file === 'hanlab-cell-1') return { label: `In[4]:${line}:${column}`, cell: { name: 'In[4]', source: SOURCE, line, column } };
  if (file.includes('/node_modules/tslab/') || file.startsWith('node:')) return null;
  return undefined;
};

function thrown(stack: string, name = 'Error', message = 'bad'): Error {
  const error = new Error(message);
  error.name = name;
  error.stack = stack;
  return error;
}

describe('describeThrown', () => {
  test('frames point at the cell and the kernel\'s frames are gone; the failing line is shown with its neighbours', () => {
    const error = thrown(['Error: bad', '    at f (hanlab-cell-1:3:9)', '    at hanlab-cell-1:5:1', '    at execute (/p/node_modules/tslab/dist/executor.js:120:23)', '    at new Promise (<anonymous>)', '    at node:internal/process/task_queues:95:5'].join('\n'));
    assert.deepEqual(describeThrown(error, resolve), {
      ename: 'Error',
      evalue: 'bad',
      traceback: ['Error: bad', '    at f (In[4]:3:9)', '    at In[4]:5:1', '', 'In[4], line 3:', '      1 | const x = 1;', '      2 | function f() {', "----> 3 |   throw new Error('bad');", '      4 | }'],
    });
  });

  test('a subclass that does not set its name is named by its constructor; multi-line messages and causes are kept', () => {
    class DataError extends Error {}
    const error = new DataError('line 1\nline 2', { cause: new TypeError('inner') });
    error.stack = 'Error: line 1\nline 2\n    at somewhere (/elsewhere/x.js:1:1)';
    const failure = describeThrown(error, resolve);
    assert.equal(failure.ename, 'DataError');
    assert.deepEqual(failure.traceback, ['DataError: line 1', 'line 2', '    at somewhere (/elsewhere/x.js:1:1)', '', 'Caused by TypeError: inner']);
  });

  test('thrown non-errors: strings as they are, other values inspected', () => {
    assert.deepEqual(nameAndMessage('plain text'), { ename: 'Error', evalue: 'plain text' });
    assert.deepEqual(nameAndMessage({ code: 42 }), { ename: 'Error', evalue: 'thrown value: { code: 42 }' });
    assert.deepEqual(describeThrown(undefined, resolve).traceback, ['Error: thrown value: undefined']);
  });

  test('excerpt at the first and last lines', () => {
    assert.deepEqual(excerpt({ name: 'In[1]', source: 'a\nb', line: 1, column: 1 }), ['In[1], line 1:', '----> 1 | a', '      2 | b']);
    assert.deepEqual(excerpt({ name: 'In[1]', source: 'a\nb', line: 2, column: 1 }), ['In[1], line 2:', '      1 | a', '----> 2 | b']);
  });
});
