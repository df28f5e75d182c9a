/**
 * The same NSMC reviews in the three file formats study 004's config.ini allows for `train_file`
 * (CSV, JSON, Parquet), so notebook 03 can show the loaders reading each one to the same data set.
 * Deterministic: the first N reviews of data/nsmc/ratings_train.first14274.txt, written in file order.
 *
 *   node --import tsx scripts/make-nsmc-format-samples.ts [--check]
 *
 * writes data/nsmc/formats/ratings_train.first300.{csv,json,parquet}; `--check` compares instead of
 * writing and exits 1 on a difference (tests/studies/nsmc-formats.test.ts runs it that way).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { readTable } from '../lib/data/tabular.js';

export const SOURCE = 'data/nsmc/ratings_train.first14274.txt';
export const OUT_DIR = 'data/nsmc/formats';
export const COUNT = 300;

/** RFC 4180 CSV: a field with a comma, quote or line break is quoted and its quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export async function buildFormatSamples(root = process.cwd()): Promise<Map<string, Buffer>> {
  const table = await readTable(path.join(root, SOURCE));
  const rows = table.rows.slice(0, COUNT).map((row) => ({ id: String(row.values.id), document: String(row.values.document ?? ''), label: Number(row.values.label) }));
  const base = `ratings_train.first${COUNT}`;
  const files = new Map<string, Buffer>();
  const csv = ['id,document,label', ...rows.map((r) => [r.id, csvField(r.document), String(r.label)].join(','))].join('\n') + '\n';
  files.set(`${base}.csv`, Buffer.from(csv, 'utf8'));
  files.set(`${base}.json`, Buffer.from(JSON.stringify(rows, null, 1) + '\n', 'utf8'));
  const parquet = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: rows.map((r) => r.id), type: 'STRING' },
      { name: 'document', data: rows.map((r) => r.document), type: 'STRING' },
      { name: 'label', data: rows.map((r) => BigInt(r.label)), type: 'INT64' },
    ],
  });
  files.set(`${base}.parquet`, Buffer.from(parquet));
  return files;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const files = await buildFormatSamples();
  let different = 0;
  for (const [name, bytes] of files) {
    const file = path.join(OUT_DIR, name);
    if (check) {
      if (!existsSync(file) || !readFileSync(file).equals(bytes)) {
        console.error(`${file}: differs from what the script writes`);
        different++;
      }
      continue;
    }
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(file, bytes);
    console.log(`${file} (${bytes.length} bytes)`);
  }
  if (different) process.exit(1);
}

if (import.meta.url === `file://${path.resolve(process.argv[1] ?? '')}`) await main();
