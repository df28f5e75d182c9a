/**
 * `hanlab report <executed.ipynb>`: renders one executed notebook into `<out>/<name>.md` and
 * `<out>/<name>.html` with the template the notebook names (metadata.hanlab.report.template).
 * A thin shell over lib/report/pipeline.ts.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../lib/errors.js';
import { renderReport } from '../../lib/report/pipeline.js';

const USAGE = `Usage: hanlab report <executed.ipynb> [--out reports/] [--templates templates/]

Renders an executed notebook's results (application/vnd.hanlab.result+json) into a Korean Markdown
report and a self-contained HTML report, using the template named in metadata.hanlab.report.

  --out DIR          where to write <name>.md and <name>.html (default: reports)
  --templates DIR    the templates folder (default: templates)
  -h, --help         show this help`;

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', default: 'reports' },
        templates: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`give exactly one executed notebook\n\n${USAGE}`);
  const written = renderReport(positionals[0], values.out, { templatesDir: values.templates });
  console.log(`${path.relative(process.cwd(), written.markdownPath)}\n${path.relative(process.cwd(), written.htmlPath)}`);
  for (const finding of written.findings) console.log(`  ${finding.title}: ${finding.text}`);
  return 0;
}
