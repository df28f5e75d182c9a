/**
 * nbformat outputs from a cell's iopub messages, as Jupyter's own clients build them: consecutive
 * stream text of the same name merged, display_data / execute_result / error kept, clear_output, and
 * update_display_data rewriting every earlier output with the same display_id (in any cell).
 *
 * Transport-neutral: the remote kernel (remote-kernel.ts) feeds it the messages @jupyterlab/services
 * delivers; kernel-client.ts builds the same outputs from ZeroMQ frames.
 */
import type { StreamChunk } from './cell-errors.js';
import type { MimeBundle, Output } from '../notebook/nbformat.js';

/** Outputs by display_id, shared by every cell of one kernel (an update may target an earlier cell). */
export type DisplayRegistry = Map<string, Output[]>;

/** Applies one iopub message (type and content) to a cell's outputs and stream chunks. */
export function applyIopubMessage(
  msgType: string,
  content: Record<string, unknown>,
  target: { outputs: Output[]; streams: StreamChunk[] },
  displays: DisplayRegistry,
): void {
  const outputs = target.outputs;
  const displayId = (content.transient as { display_id?: unknown } | undefined)?.display_id;
  switch (msgType) {
    case 'stream': {
      const name = content.name === 'stderr' ? 'stderr' : 'stdout';
      const text = String(content.text ?? '');
      target.streams.push({ name, text });
      const last = outputs[outputs.length - 1];
      if (last && last.output_type === 'stream' && last.name === name) last.text = String(last.text) + text;
      else outputs.push({ output_type: 'stream', name, text });
      return;
    }
    case 'display_data': {
      const output: Output = { output_type: 'display_data', data: (content.data ?? {}) as MimeBundle, metadata: (content.metadata ?? {}) as Record<string, unknown> };
      outputs.push(output);
      if (typeof displayId === 'string') displays.set(displayId, [...(displays.get(displayId) ?? []), output]);
      return;
    }
    case 'update_display_data': {
      if (typeof displayId !== 'string') return;
      for (const output of displays.get(displayId) ?? []) {
        if (output.output_type === 'display_data' || output.output_type === 'execute_result') {
          output.data = (content.data ?? {}) as MimeBundle;
          output.metadata = (content.metadata ?? {}) as Record<string, unknown>;
        }
      }
      return;
    }
    case 'execute_result':
      outputs.push({
        output_type: 'execute_result',
        execution_count: typeof content.execution_count === 'number' ? content.execution_count : null,
        data: (content.data ?? {}) as MimeBundle,
        metadata: (content.metadata ?? {}) as Record<string, unknown>,
      });
      return;
    case 'error':
      outputs.push({
        output_type: 'error',
        ename: String(content.ename ?? 'Error'),
        evalue: String(content.evalue ?? ''),
        traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [],
      });
      return;
    case 'clear_output':
      outputs.length = 0;
      return;
    default:
      return;
  }
}
