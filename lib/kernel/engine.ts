/**
 * The language side of the hanlab kernel (xeus's `xinterpreter`, ipykernel's shell): what the protocol
 * layer (kernel.ts) asks of a language, and nothing about sockets or messages. The real engine is
 * tslab's TypeScript converter and executor (tslab-engine.ts); tests drive the protocol with a fake.
 */

/** A failed cell, as Jupyter's `error` message carries it. Every traceback line is one string without "\n". */
export interface CellFailure {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** What a Jupyter `execute_reply` payload item holds (only `page` is used: `expr?` help). */
export interface PagePayload {
  source: 'page';
  data: Record<string, string>;
  start: number;
}

export type ExecuteOutcome =
  | {
      status: 'ok';
      /** The cell's last expression, when it has one whose value is not null/undefined. */
      result?: { value: unknown };
      payload?: PagePayload[];
    }
  | { status: 'error'; failure: CellFailure };

export interface ExecuteContext {
  /** The In[n] number of this execution (null for silent executions, which get none). */
  executionCount: number | null;
}

export interface Completion {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export interface Inspection {
  found: boolean;
  /** text/plain help for the name under the cursor. */
  text?: string;
}

export interface CompletenessAnswer {
  status: 'complete' | 'incomplete' | 'invalid' | 'unknown';
  indent?: string;
}

export interface LanguageInfo {
  name: string;
  version: string;
  mimetype: string;
  file_extension: string;
  pygments_lexer?: string;
  codemirror_mode?: unknown;
  [key: string]: unknown;
}

export interface Engine {
  readonly languageInfo: LanguageInfo;
  readonly implementation: string;
  readonly implementationVersion: string;
  /** Shown by consoles and in kernel_info; says what runs and anything a user must know first. */
  banner(): string;
  /**
   * Loads the compiler. The kernel calls this after it has answered its first request, so that the
   * front end sees the kernel idle at once; requests that need the compiler wait for it.
   */
  warm(): Promise<void>;
  execute(code: string, context: ExecuteContext): Promise<ExecuteOutcome>;
  complete(code: string, cursorPos: number): Promise<Completion>;
  inspect(code: string, cursorPos: number, detailLevel: number): Promise<Inspection>;
  isComplete(code: string): Promise<CompletenessAnswer>;
  /** Stops the running cell (asynchronous waits; synchronous loops stop on the SIGINT itself). */
  interrupt(): void;
  /**
   * An exception nobody caught (a callback, a rejected promise nobody awaited). Returns true when it
   * became the running cell's error, false when no cell is running.
   */
  failRunningCell(error: unknown): boolean;
  close(): void;
}
