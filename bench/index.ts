/**
 * `npm run bench`: runs every `bench/*.bench.ts` except the training benches (`npm run bench:train`,
 * GLiNER2's included)
 * and the cold `reports --jobs` bench (`npm run bench:jobs`)
 * in its own process, one after another (never in parallel: they would measure each other), and ends
 * with one JSON line holding every bench's own closing JSON figures.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const benchDir = path.resolve('bench');
const only = process.argv.slice(2);
const files = readdirSync(benchDir)
  // The training benches and the cold `reports --jobs` bench take minutes: npm run bench:train, npm run bench:jobs.
  .filter((name) => name.endsWith('.bench.ts') && !['train.bench.ts', 'encoder.bench.ts', 'gliner2.bench.ts', 'jobs.bench.ts'].includes(name))
  .filter((name) => only.length === 0 || only.some((want) => name.includes(want)))
  .sort();

const figures: Record<string, unknown> = {};
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(benchDir, file)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(result.stdout);
  const lastLine = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    figures[file.replace(/\.bench\.ts$/, '')] = JSON.parse(lastLine);
  } catch {
    figures[file.replace(/\.bench\.ts$/, '')] = { error: `no JSON figures (exit ${result.status})` };
  }
  if (result.status !== 0) failed++;
}
console.log(JSON.stringify(figures));
process.exitCode = failed ? 1 : 0;
