/**
 * Thrown values → Jupyter's `ename`, `evalue` and `traceback`, with the stack rewritten to point at what
 * the user wrote: `In[3]:2:7` for a cell, `lib/data/klue-ner.ts:45:11` for the library, and without the
 * kernel's own frames (tslab, node:vm, Node internals, lib/kernel). The innermost cell line is shown
 * with its neighbours, as IPython does.
 */
import { inspect } from 'node:util';
import type { CellFailure } from './engine.js';

/** Where a stack frame's file:line:column really is. */
export interface FrameLocation {
  /** What to print instead of file:line:column, e.g. `In[3]:2:7`. */
  label: string;
  /** Set for cells: the cell's source and the 1-based line, for the excerpt. */
  cell?: { name: string; source: string; line: number; column: number };
}

/**
 * Resolves a frame's file, line and column (as V8 printed them). Returns the rewritten location,
 * `null` to drop the frame (kernel internals), or undefined to keep it as it was.
 */
export type FrameResolver = (file: string, line: number, column: number) => FrameLocation | null | undefined;

const FRAME = /^(\s*at (?:async )?(?:new )?)(?:(.*?) \()?(.+?):(\d+):(\d+)(\)?)$/;
const MAX_CAUSES = 5;

export function describeThrown(thrown: unknown, resolve: FrameResolver): CellFailure {
  const { ename, evalue } = nameAndMessage(thrown);
  const traceback = [`${ename}: ${evalue}`.split('\n')[0]];
  // Multi-line messages go on following lines, as Node prints them.
  traceback.push(...evalue.split('\n').slice(1));
  let innermostCell: FrameLocation['cell'];
  const frames = stackFrames(thrown);
  for (const frame of frames) {
    const match = FRAME.exec(frame);
    if (!match) {
      // `at new Promise (<anonymous>)`, `at Array.map (native)`: no place in anyone's code.
      if (!/\((<anonymous>|native)\)$/.test(frame)) traceback.push(frame);
      continue;
    }
    const [, prefix, fn, file, line, column, close] = match;
    const where = resolve(file, Number(line), Number(column));
    if (where === null) continue;
    if (where === undefined) {
      traceback.push(frame);
      continue;
    }
    innermostCell ??= where.cell;
    traceback.push(fn !== undefined ? `${prefix}${fn} (${where.label}${close}` : `${prefix}${where.label}`);
  }
  if (innermostCell) traceback.push('', ...excerpt(innermostCell));
  let cause = (thrown as { cause?: unknown } | null)?.cause;
  for (let depth = 0; cause !== undefined && depth < MAX_CAUSES; depth++) {
    const inner = nameAndMessage(cause);
    traceback.push('', `Caused by ${inner.ename}: ${inner.evalue}`.split('\n')[0]);
    cause = (cause as { cause?: unknown } | null)?.cause;
  }
  return { ename, evalue, traceback };
}

/** The error's name and message; for thrown non-errors (`throw 'text'`), `Error` and the value's text. */
export function nameAndMessage(thrown: unknown): { ename: string; evalue: string } {
  if (thrown instanceof Error || (typeof thrown === 'object' && thrown !== null && typeof (thrown as Error).message === 'string' && typeof (thrown as Error).name === 'string')) {
    const error = thrown as Error;
    // A subclass that does not set `name` still says what it is through its constructor.
    const constructorName = (error.constructor as { name?: unknown } | undefined)?.name;
    const ename = error.name === 'Error' && typeof constructorName === 'string' && constructorName !== '' && constructorName !== 'Object' ? constructorName : error.name;
    return { ename: ename || 'Error', evalue: error.message };
  }
  return { ename: 'Error', evalue: typeof thrown === 'string' ? thrown : `thrown value: ${inspect(thrown, { depth: 2 })}` };
}

function stackFrames(thrown: unknown): string[] {
  const stack = typeof thrown === 'object' && thrown !== null ? (thrown as { stack?: unknown }).stack : undefined;
  if (typeof stack !== 'string') return [];
  const lines = stack.split('\n');
  const first = lines.findIndex((line) => /^\s+at /.test(line));
  return first < 0 ? [] : lines.slice(first).filter((line) => /^\s+at /.test(line));
}

/** The failing cell line with two lines before and one after, IPython style. */
export function excerpt(cell: NonNullable<FrameLocation['cell']>): string[] {
  const lines = cell.source.split('\n');
  const from = Math.max(1, cell.line - 2);
  const to = Math.min(lines.length, cell.line + 1);
  const width = String(to).length;
  const out = [`${cell.name}, line ${cell.line}:`];
  for (let number = from; number <= to; number++) {
    const marker = number === cell.line ? '---->' : '     ';
    out.push(`${marker} ${String(number).padStart(width)} | ${lines[number - 1]}`);
  }
  return out;
}
