/**
 * The hanlab CLI: a thin dispatcher. Every command lives in `cli/commands/<name>.ts`, exports
 * `run(argv)` and calls only `lib/`; nothing is reachable from the CLI alone.
 */
import { HanlabError } from '../lib/errors.js';

export interface CommandModule {
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

interface CommandEntry {
  summary: string;
  load: () => Promise<CommandModule>;
}

// Lazy imports keep `hanlab --help` and each command's start-up fast (TensorFlow.js, plotly, ...
// load only for the commands that need them).
const COMMANDS: Record<string, CommandEntry> = {
  'eval ner': { summary: 'score NER tags against KLUE gold (seqeval / KLUE figures)', load: () => import('./commands/eval-ner.js') },
  'eval cls': { summary: 'classification report and confusion matrix (scikit-learn exact)', load: () => import('./commands/eval-cls.js') },
  'eval json': { summary: 'structured-JSON answers: validity tiers, field accuracy, confusion', load: () => import('./commands/eval-json.js') },
  'eval mcqa': { summary: 'multiple-choice answers: extraction, per-subset accuracy, CI', load: () => import('./commands/eval-mcqa.js') },
  'eval spans': { summary: 'span NER: exact-match TP/FP/FN, P/R/F1, base vs fine-tuned', load: () => import('./commands/eval-spans.js') },
  align: { summary: 'LLM answers -> syllable BIO tags, with the F1 = 0 diagnosis', load: () => import('./commands/align.js') },
  explain: { summary: 'explain one sentence (or the worst ones): where each entity went', load: () => import('./commands/explain.js') },
  kernels: { summary: 'install or list the hanlab Jupyter kernels', load: () => import('./commands/kernels.js') },
  run: { summary: 'execute a notebook headless over the Jupyter protocol', load: () => import('./commands/run.js') },
  report: { summary: 'render an executed notebook into Markdown and HTML reports', load: () => import('./commands/report.js') },
  reports: { summary: 'run every notebook and regenerate all reports (the main job)', load: () => import('./commands/reports.js') },
  generate: { summary: 'generate answers from an OpenAI-compatible server, resumably', load: () => import('./commands/generate.js') },
  'convert lora': { summary: 'PEFT LoRA adapter folder -> GGUF LoRA for llama.cpp', load: () => import('./commands/convert-lora.js') },
  lmeval: { summary: 'lm-evaluation-harness tasks (KorMedMCQA) on a local model, scored as lm-eval', load: () => import('./commands/lmeval.js') },
  train: { summary: 'train a tagger or classifier from a config.ini', load: () => import('./commands/train.js') },
  predict: { summary: 'predict with a saved model', load: () => import('./commands/predict.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return ['Usage: hanlab <command> [options]', '', 'Commands:', ...lines, '', 'Run `hanlab <command> --help` for its options.'].join('\n');
}

/** Resolves `argv` to a command: two-word names (`eval ner`) win over one-word ones. */
function findCommand(argv: string[]): { name: string; rest: string[] } | undefined {
  const two = argv.slice(0, 2).join(' ');
  if (argv.length >= 2 && COMMANDS[two]) return { name: two, rest: argv.slice(2) };
  if (argv.length >= 1 && Object.hasOwn(COMMANDS, argv[0])) return { name: argv[0], rest: argv.slice(1) };
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  if (!found) {
    console.error(`hanlab: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${usage()}`);
    return 2;
  }
  // The CLI owns its failures under every backend: tfjs-backend-wasm installs process handlers that
  // rethrow, so an error reaching them would end the process with exit 7 and a minified stack.
  const report = (error: unknown): number => {
    if (error instanceof HanlabError) {
      console.error(`hanlab ${found.name}: ${error.message}`);
      return 2;
    }
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.error(`hanlab ${found.name}: internal error: ${text.split('\n')[0]}${process.env.HANLAB_DEBUG ? '' : ' (HANLAB_DEBUG=1 shows the stack trace)'}`);
    if (process.env.HANLAB_DEBUG) console.error(error);
    return 1;
  };
  const stray = (error: unknown) => process.exit(report(error));
  process.prependListener('uncaughtException', stray);
  process.prependListener('unhandledRejection', stray);
  try {
    const command = await COMMANDS[found.name].load();
    return await command.run(found.rest);
  } catch (error) {
    return report(error);
  } finally {
    process.off('uncaughtException', stray);
    process.off('unhandledRejection', stray);
  }
}
