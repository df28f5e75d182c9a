/**
 * Training progress for people: a redrawn bar with ETA and loss in a terminal, compact lines
 * elsewhere (a notebook cell's output keeps every `\r` redraw as text, so it gets a line every tenth
 * of an epoch instead).
 */
export interface ProgressUpdate {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  learningRate: number;
  tokensPerSecond: number;
  /** Seconds since the epoch started. */
  elapsed: number;
}

export interface ProgressReporter {
  update(update: ProgressUpdate): void;
  /** One summary line at the end of an epoch (after validation). */
  epochEnd(line: string): void;
  message(line: string): void;
}

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export function createProgress(mode: ProgressMode = 'auto', stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, epochEnd() {}, message() {} };
  if (resolved === 'bar') return new BarProgress(stream);
  // Lines go through console.log: a notebook kernel (tslab) shows what console.log prints.
  return new LineProgress(stream === process.stderr ? (line) => console.log(line) : (line) => stream.write(line + '\n'));
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(rest).padStart(2, '0')}` : `${m}:${String(rest).padStart(2, '0')}`;
}

function eta(update: ProgressUpdate): number {
  return update.batch > 0 ? (update.elapsed / update.batch) * (update.batches - update.batch) : Number.NaN;
}

class BarProgress implements ProgressReporter {
  private lastDraw = 0;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(update: ProgressUpdate): void {
    const now = Date.now();
    if (now - this.lastDraw < 100 && update.batch < update.batches) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((update.batch / Math.max(1, update.batches)) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    this.stream.write(
      `\repoch ${update.epoch}/${update.epochs} ${bar} ${update.batch}/${update.batches} ` +
        `loss ${update.loss.toFixed(4)} lr ${update.learningRate.toExponential(2)} ` +
        `${Math.round(update.tokensPerSecond)} tok/s ETA ${formatDuration(eta(update))}\x1b[K`,
    );
  }

  epochEnd(line: string): void {
    this.stream.write(`\r${line}\x1b[K\n`);
  }

  message(line: string): void {
    this.stream.write(`\r${line}\x1b[K\n`);
  }
}

export class LineProgress implements ProgressReporter {
  private nextTenth = 1;
  constructor(private readonly write: (line: string) => void) {}

  update(update: ProgressUpdate): void {
    if (update.batch === 1) this.nextTenth = 1;
    const tenth = Math.floor((update.batch * 10) / Math.max(1, update.batches));
    if (tenth < this.nextTenth) return;
    this.nextTenth = tenth + 1;
    this.write(
      `epoch ${update.epoch}/${update.epochs} ${Math.round((update.batch / update.batches) * 100)}% ` +
        `loss ${update.loss.toFixed(4)} ${Math.round(update.tokensPerSecond)} tok/s ETA ${formatDuration(eta(update))}`,
    );
  }

  epochEnd(line: string): void {
    this.write(line);
  }

  message(line: string): void {
    this.write(line);
  }
}
