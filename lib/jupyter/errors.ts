/**
 * Errors a notebook run can end with. Each says which cell (1-based, as Jupyter shows them) and what
 * to do; the runner also records them as nbformat `error` outputs in the saved notebook.
 */
import { HanlabError } from '../errors.js';

/** Where in the notebook something happened. */
export interface CellLocation {
  /** 0-based index in notebook.cells. */
  index: number;
  /** The cell's id when the notebook has ids (nbformat 4.5). */
  id?: string;
  /** The first line of the cell's source, for people. */
  firstLine?: string;
}

function describeCell(cell: CellLocation): string {
  const line = cell.firstLine ? ` ("${cell.firstLine.slice(0, 60)}")` : '';
  return `cell ${cell.index + 1}${line}`;
}

/** A cell raised: `ename: evalue` as the kernel printed it. */
export class CellError extends HanlabError {
  readonly cell: CellLocation;
  readonly ename: string;
  readonly evalue: string;
  readonly traceback: string[];
  constructor(cell: CellLocation, ename: string, evalue: string, traceback: string[] = []) {
    super(`${describeCell(cell)} failed: ${ename}: ${evalue}`);
    this.cell = cell;
    this.ename = ename;
    this.evalue = evalue;
    this.traceback = traceback;
  }
}

/** A cell ran longer than the per-cell limit; the kernel was stopped. */
export class CellTimeoutError extends HanlabError {
  readonly cell: CellLocation;
  readonly timeoutMs: number;
  constructor(cell: CellLocation, timeoutMs: number) {
    super(`${describeCell(cell)} did not finish within ${formatSeconds(timeoutMs)} (the per-cell timeout); the kernel was stopped. Raise it with --timeout <seconds> (0: no limit).`);
    this.cell = cell;
    this.timeoutMs = timeoutMs;
  }
}

/** The kernel process exited while we were talking to it (crash, out of memory, killed). */
export class KernelDiedError extends HanlabError {
  readonly cell?: CellLocation;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last lines the kernel wrote to its own stderr (start-up failures are explained there). */
  readonly stderrTail: string;
  constructor(options: { cell?: CellLocation; exitCode: number | null; signal: string | null; stderrTail: string; during?: string }) {
    const how = options.signal ? `was killed by ${options.signal}` : `exited with code ${options.exitCode}`;
    const where = options.cell ? ` while running ${describeCell(options.cell)}` : options.during ? ` ${options.during}` : '';
    const tail = options.stderrTail.trim() ? `\nkernel stderr:\n${options.stderrTail.trim()}` : '';
    super(`the kernel ${how}${where}${tail}`);
    this.cell = options.cell;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.stderrTail = options.stderrTail;
  }
}

/** The run was stopped from outside (SIGINT, SIGTERM) while a cell ran or the kernel started. */
export class RunStoppedError extends HanlabError {
  readonly reason: string;
  readonly cell?: CellLocation;
  constructor(reason: string, cell?: CellLocation) {
    super(`the run was stopped by ${reason}${cell ? ` while ${describeCell(cell)} was running` : ''}; the notebook holds what ran before`);
    this.reason = reason;
    this.cell = cell;
  }
}

/** The kernel did not answer in time while starting. */
export class KernelStartError extends HanlabError {}

/** A ZeroMQ channel to the kernel failed mid-run (no answer can come any more). */
export class KernelConnectionError extends HanlabError {}

/** A kernel name that has no kernelspec, or a kernelspec that cannot be used. */
export class KernelSpecError extends HanlabError {}

export function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}
