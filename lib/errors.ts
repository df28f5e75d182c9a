/**
 * Errors a user can hit. The CLI prints their message (no stack) and exits non-zero,
 * so every message must say what was wrong and where.
 */
export class HanlabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where in an input file a problem was found. */
export interface InputLocation {
  file?: string;
  /** 1-based line number. */
  line?: number;
  /** The field, column or key that was wrong. */
  field?: string;
}

/** Bad input data: names the file, line and field. Never thrown for data we silently skip (we don't). */
export class InputError extends HanlabError {
  readonly file?: string;
  readonly line?: number;
  readonly field?: string;
  readonly detail: string;

  constructor(detail: string, where: InputLocation = {}, options?: { cause?: unknown }) {
    super(formatLocation(where) + detail, options);
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
    this.detail = detail;
  }
}

/** Bad command-line usage or options. */
export class UsageError extends HanlabError {}

function formatLocation({ file, line, field }: InputLocation): string {
  const parts: string[] = [];
  if (file !== undefined) parts.push(line !== undefined ? `${file}:${line}` : file);
  else if (line !== undefined) parts.push(`line ${line}`);
  if (field !== undefined) parts.push(`field "${field}"`);
  return parts.length ? parts.join(', ') + ': ' : '';
}
