/**
 * `hanlab reports`: runs every notebook in notebooks/ (or takes it from the freeze cache when its
 * content, parameters, kernel and input files did not change) and regenerates every report plus
 * reports/index.md and reports/index.html. A thin shell over lib/report/pipeline.ts.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../lib/errors.js';
import { killAllKernels } from '../../lib/jupyter/kernel-client.js';
import { remoteLauncher, shutdownRemoteKernels } from '../../lib/jupyter/remote-kernel.js';
import { parseServerAddress } from '../../lib/jupyter/remote-server.js';
import { checkReports, formatCheck } from '../../lib/report/check.js';
import { regenerateReports } from '../../lib/report/pipeline.js';

const USAGE = `Usage: hanlab reports [--force] [--jobs N] [--kernel NAME] [--server URL] [options]
       hanlab reports --check [--notebooks DIR] [--out DIR]

Runs every notebook in notebooks/ and renders all reports into reports/ (Markdown, self-contained
HTML, the executed notebook) plus reports/index.md and reports/index.html. Notebooks whose content,
parameters, kernel and declared input files (metadata.hanlab.report.inputs) did not change are taken
from .cache/reports/ instead of being run again.

  --force            run every notebook again, ignoring the cache
  --check            compare instead of write: run every notebook again (implies --force) into
                     a temporary folder, never touching --out or the cache, and compare with the
                     committed reports in --out. Markdown and HTML must be identical except the
                     closing 실행 정보 (run metadata) section, and the set of .md/.html/.svg files
                     must be the same. Prints per file "unchanged" or its first differing lines.
  --kernel NAME      kernel for every notebook: hanlab (CPU, default) or hanlab-gpu
  -j, --jobs N       notebooks run at once, each in its own kernel (default 2 where there are two
                     or more cores, else 1); a notebook whose inputs another notebook writes
                     (metadata.hanlab.report.outputs) waits for it
  --server URL       run the kernels on this Jupyter server / Kernel Gateway / Enterprise Gateway
                     (see hanlab run --help); the notebooks run in the server's checkout
  --token TOKEN      the server's token (default: ?token= in the URL, else $JUPYTER_TOKEN)
  --connect-timeout S  bound on reaching the server and each request (default 10)
  --timeout SECONDS  per-cell time limit
  --notebooks DIR    notebooks folder (default: notebooks)
  --out DIR          reports folder (default: reports)
  --templates DIR    templates folder (default: templates)
  -h, --help         show this help

Exit status: 0 when every notebook produced its report, 1 when any failed (the others are still written).
With --check: 0 when every notebook ran and nothing but run metadata changed, 1 otherwise.`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        force: { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        kernel: { type: 'string' },
        timeout: { type: 'string' },
        jobs: { type: 'string', short: 'j' },
        server: { type: 'string' },
        token: { type: 'string' },
        'connect-timeout': { type: 'string' },
        notebooks: { type: 'string', default: 'notebooks' },
        out: { type: 'string', default: 'reports' },
        templates: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let cellTimeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout must be a positive number of seconds, not "${values.timeout}"`);
    cellTimeoutMs = seconds * 1000;
  }
  // Two kernels at once shorten a cold run even on two cores (bench/jobs.bench.ts: 0.62x); more
  // barely help, since notebook 02 waits for 01.
  let jobs = availableParallelism() >= 2 ? 2 : 1;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!/^\d+$/.test(values.jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer, not "${values.jobs}"`);
  }
  if (values.token !== undefined && values.server === undefined) throw new UsageError('--token needs --server');
  let connectTimeoutMs = 10_000;
  if (values['connect-timeout'] !== undefined) {
    const seconds = Number(values['connect-timeout']);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--connect-timeout must be a positive number of seconds, not "${values['connect-timeout']}"`);
    connectTimeoutMs = seconds * 1000;
  }
  const launcher = values.server === undefined ? undefined : remoteLauncher(parseServerAddress(values.server, values.token), { connectTimeoutMs });
  // Ctrl-C / kill: stop every kernel (local ones at once, remote ones by a request to the server).
  const onSignal = (signal: NodeJS.Signals) => {
    killAllKernels();
    void shutdownRemoteKernels(connectTimeoutMs).finally(() => {
      console.error(`\nhanlab reports: stopped by ${signal}; the kernels were stopped`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await regenerateOrCheck(values, { jobs, launcher, cellTimeoutMs });
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

async function regenerateOrCheck(
  values: { check: boolean; force: boolean; notebooks: string; out: string; kernel?: string; templates?: string },
  common: { jobs: number; launcher?: ReturnType<typeof remoteLauncher>; cellTimeoutMs?: number },
): Promise<number> {
  const { jobs, launcher, cellTimeoutMs } = common;
  // What a check and a regeneration share: where, on which kernel, how many at once; progress to stderr.
  const shared = {
    notebooksDir: values.notebooks,
    outDir: values.out,
    kernel: values.kernel,
    cellTimeoutMs,
    templatesDir: values.templates,
    jobs,
    launcher,
    log: (line: string) => console.error(line),
  };
  if (values.check) {
    const checked = await checkReports(shared);
    console.log(formatCheck(checked, process.cwd()));
    return checked.ok ? 0 : 1;
  }
  const result = await regenerateReports({ ...shared, force: values.force });
  const ok = result.outcomes.length - result.failed.length;
  console.log(`${ok}/${result.outcomes.length} reports written; index: ${path.relative(process.cwd(), result.indexMarkdownPath)}, ${path.relative(process.cwd(), result.indexHtmlPath)}`);
  for (const failure of result.failed) console.log(`  failed: ${failure.notebook}: ${failure.error}`);
  return result.failed.length > 0 ? 1 : 0;
}

