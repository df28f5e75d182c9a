/**
 * What every `hanlab` command does with its arguments: node:util `parseArgs` in strict mode, `-h` /
 * `--help` printing the command's usage, parse errors turned into `UsageError` (exit 2, with the
 * usage), and the option values several commands share (--digits, --zero-division, lists, counts,
 * --records vs --base/--tuned) checked with the same messages.
 *
 * Used by eval ner / cls / json / mcqa / spans, generate, align, explain, kernels, run, train and predict.
 * report and reports still parse by hand (they catch parse errors themselves) and could move onto
 * `parseCommandLine` / `parseOptions` and these value parsers too.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { TableRow } from '../lib/data/tabular.js';
import { UsageError } from '../lib/errors.js';
import { parseZeroDivision, type ZeroDivision } from '../lib/metrics/prf.js';
import { parseBackendChoice } from '../lib/backend/index.js';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Added to every command's options; `run` returns 0 after printing the usage. */
const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;

type CommandLineConfig<O extends OptionSpecs, Positionals extends boolean> = {
  args: string[];
  strict: true;
  allowPositionals: Positionals;
  options: O & typeof HELP_OPTION;
};

/** `parseArgs`'s own result type for these options, so each command keeps its precise value types. */
export type CommandLine<O extends OptionSpecs, Positionals extends boolean = true> = ReturnType<typeof parseArgs<CommandLineConfig<O, Positionals>>>;

/** A UsageError whose message ends with the command's usage, for missing or conflicting options. */
export function usageError(message: string, usage: string): UsageError {
  return new UsageError(`${message}\n\n${usage}`);
}

/**
 * Parses a command's arguments (positionals allowed). Returns undefined when `--help` was given: the
 * usage is printed then, and the command should return 0. Unknown options, missing values and the
 * like throw a UsageError carrying parseArgs' message and the usage.
 */
export function parseCommandLine<O extends OptionSpecs>(argv: string[], usage: string, options: O): CommandLine<O> | undefined {
  return parse(argv, usage, options, true);
}

/** `parseCommandLine` for commands without positionals; returns the option values only. */
export function parseOptions<O extends OptionSpecs>(argv: string[], usage: string, options: O): CommandLine<O, false>['values'] | undefined {
  return parse(argv, usage, options, false)?.values;
}

function parse<O extends OptionSpecs, Positionals extends boolean>(
  argv: string[],
  usage: string,
  options: O,
  allowPositionals: Positionals,
): CommandLine<O, Positionals> | undefined {
  const config: CommandLineConfig<O, Positionals> = { args: argv, strict: true, allowPositionals, options: { ...options, ...HELP_OPTION } };
  let parsed: CommandLine<O, Positionals>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw usageError((error as Error).message, usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    return undefined;
  }
  return parsed;
}

/**
 * Exactly one input mode: `--records FILE`, or `--base FILE --tuned FILE` for a base vs fine-tuned
 * comparison (eval mcqa, eval spans).
 */
export function parseRecordsOrPair(
  values: { records?: string; base?: string; tuned?: string },
  usage: string,
): { records: string } | { base: string; tuned: string } {
  const { records, base, tuned } = values;
  if (base === undefined && tuned === undefined) {
    if (records === undefined) throw usageError('--records (or --base and --tuned) is required', usage);
    return { records };
  }
  if (records !== undefined) throw new UsageError('give either --records, or --base and --tuned');
  if (base === undefined || tuned === undefined) throw new UsageError('--base and --tuned go together');
  return { base, tuned };
}

/** Comma-separated list option, e.g. `--labels 긍정,부정,중립`; empty names are an error. */
export function parseList(text: string, option: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new UsageError(`${option} has an empty name in "${text}"`);
  return items;
}

/**
 * A whole number written as plain digits (no sign, exponent or spaces) within `min`..`max`. The
 * message names the option and, unless `rule` words it otherwise, the range.
 */
export function parseIntegerOption(
  text: string | undefined,
  option: string,
  fallback: number,
  { min, max = Infinity, rule }: { min: number; max?: number; rule?: string },
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    const expected = rule ?? (max === Infinity ? `an integer >= ${min}` : `an integer from ${min} to ${max}`);
    throw new UsageError(`${option} must be ${expected}, not "${text}"`);
  }
  return value;
}

/** Any number JavaScript reads (`0.7`, `1e3`) that passes `check`; `rule` says what `check` wants. */
export function parseNumberOption(text: string | undefined, option: string, fallback: number, check: (value: number) => boolean, rule: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) throw new UsageError(`${option} must be ${rule}, not "${text}"`);
  return value;
}

/** `--lora FILE[:SCALE]`: a path may itself hold colons, so only a trailing number is a scale (default 1). */
export function parseLoraSpec(spec: string): { file: string; scale: number } {
  const scaled = /^(.*):([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(spec);
  const file = scaled ? scaled[1] : spec;
  if (file === '') throw new UsageError(`--lora ${spec}: expected FILE.gguf or FILE.gguf:SCALE`);
  return { file, scale: scaled ? Number(scaled[2]) : 1 };
}

/** `--digits N`: decimals in a text report. */
export function parseDigits(text: string | undefined, fallback: number): number {
  return parseIntegerOption(text, '--digits', fallback, { min: 0, max: 20 });
}

/** `--zero-division V`: what a 0/0 precision or recall becomes (scikit-learn's zero_division). */
export function parseZeroDivisionOption(text: string | undefined, fallback: ZeroDivision): ZeroDivision {
  if (text === undefined) return fallback;
  const parsed = parseZeroDivision(text);
  if (parsed === undefined) throw new UsageError(`--zero-division must be 0, 1 or warn, not "${text}"`);
  return parsed;
}

/** Where a table row is, as InputError wants it: `file:line`, or `file (row N)` for Parquet rows, which have no line. */
export function rowLocation(file: string, row: TableRow, field?: string): { file: string; line?: number; field?: string } {
  return row.line !== null ? { file, line: row.line, field } : { file: `${file} (row ${row.row})`, field };
}

/**
 * `--backend NAME` of train and predict: the backend to compute on, parsed by lib/backend's
 * `parseBackendChoice`. It stands for HANLAB_BACKEND (and wins over it), so the gradient workers and
 * everything else that reads the variable agree; undefined leaves the choice as it was.
 */
export function backendOption(value: string | undefined): void {
  if (value === undefined) return;
  try {
    process.env.HANLAB_BACKEND = parseBackendChoice(value, '--backend');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
