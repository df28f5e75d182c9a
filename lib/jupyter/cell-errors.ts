/**
 * Proper nbformat `error` outputs for tslab.
 *
 * tslab reports a failing cell only by printing to stderr and answering `status: "error"` (no ename,
 * evalue or traceback, no `error` message on iopub). Its last stderr writes for the cell are the
 * error: either one `console.error(e)` of the thrown value (Node's inspect text, sometimes preceded
 * by the "file:line / source / ^" banner Node adds to errors thrown from vm code) or one line per
 * TypeScript diagnostic (`3:7 - Cannot find name 'x'.`). We turn those chunks into an error output
 * and take them out of the stderr stream, so the notebook shows the error once, as Jupyter does.
 */
import type { ErrorOutput, Output } from '../notebook/nbformat.js';

export interface StreamChunk {
  name: 'stdout' | 'stderr';
  text: string;
}

const DIAGNOSTIC = /^(?:\S.*? )?\d+:\d+ - /;
const STACK_LINE = /^\s+at /;
const ERROR_HEADER = /^([A-Za-z_$][\w$.]*)(?: \[([^\]]+)\])?(?:: ([\s\S]*))?$/;

/** Builds the error output from the cell's stderr chunks (in arrival order). */
export function errorFromStderr(chunks: readonly StreamChunk[]): { error: ErrorOutput; consumed: string } {
  const stderr = chunks.filter((chunk) => chunk.name === 'stderr');
  if (stderr.length === 0) {
    return { error: { output_type: 'error', ename: 'Error', evalue: 'the kernel reported an error without printing it', traceback: [] }, consumed: '' };
  }
  // Compile errors: every trailing chunk that is a diagnostic line.
  let first = stderr.length;
  while (first > 0 && DIAGNOSTIC.test(stderr[first - 1].text)) first--;
  if (first < stderr.length) {
    const text = stderr.slice(first).map((chunk) => chunk.text).join('');
    const lines = text.replace(/\n$/, '').split('\n');
    return { error: { output_type: 'error', ename: 'CompileError', evalue: lines.join('\n'), traceback: lines }, consumed: text };
  }
  const text = stderr[stderr.length - 1].text;
  return { error: parseThrown(text), consumed: text };
}

/** Parses Node's printed form of a thrown value into ename / evalue / traceback. */
export function parseThrown(text: string): ErrorOutput {
  // Frames inside tslab and node:vm say nothing about the notebook: leave them out.
  const traceback = text
    .replace(/\n$/, '')
    .split('\n')
    .filter((line) => !(STACK_LINE.test(line) && /node:vm|[\\/]tslab[\\/]dist[\\/]|sigintHandlersWrap/.test(line)));
  let body = traceback;
  // Node's banner for errors thrown from vm code: "evalmachine.<anonymous>:2", the source line, "^", "".
  const caret = traceback.findIndex((line) => /^\s*\^+\s*$/.test(line));
  if (caret >= 0 && caret <= 3 && traceback[caret + 1] === '') body = traceback.slice(caret + 2);
  const stackAt = body.findIndex((line) => STACK_LINE.test(line));
  const match = stackAt > 0 ? ERROR_HEADER.exec(body[0]) : null;
  if (match) {
    const message = [match[3] ?? '', ...body.slice(1, stackAt)].join('\n').replace(/\n+$/, '');
    return { output_type: 'error', ename: match[1], evalue: message, traceback };
  }
  // Not an Error object (`throw "text"`, `throw 42`): the printed value is the message.
  return { output_type: 'error', ename: 'Error', evalue: body.join('\n').trim() || text.trim(), traceback };
}

/**
 * Removes `consumed` from the end of the cell's stderr stream output (the error text now lives in the
 * error output). Leaves anything else the cell printed, in place.
 */
export function removeTrailingStderr(outputs: Output[], consumed: string): Output[] {
  if (!consumed) return outputs;
  for (let index = outputs.length - 1; index >= 0; index--) {
    const output = outputs[index];
    if (output.output_type !== 'stream' || output.name !== 'stderr') continue;
    const text = Array.isArray(output.text) ? output.text.join('') : output.text;
    if (!text.endsWith(consumed)) return outputs;
    const rest = text.slice(0, text.length - consumed.length);
    const copy = outputs.slice();
    if (rest === '') copy.splice(index, 1);
    else copy[index] = { ...output, text: rest };
    return copy;
  }
  return outputs;
}
