/**
 * Table files for the tests of lib/data's tabular split (tabular, text-classification,
 * train-validation): the shipped NSMC files, and rows written as CSV, TSV or Parquet into a temporary
 * folder that is removed after the test file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';

export const NSMC_TEST = 'data/nsmc/ratings_test.txt';
export const NSMC_TEST_CP949 = 'data/nsmc/ratings_test.cp949.txt';
export const NSMC_TRAIN = 'data/nsmc/ratings_train.first14274.txt';

/** A writer of files into a new temporary folder, removed after the calling test file's tests. */
export function tableWriter(prefix = 'hanlab-tabular-'): (name: string, content: string | Uint8Array | ArrayBuffer) => string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return (name, content) => {
    const file = path.join(dir, name);
    writeFileSync(file, content instanceof ArrayBuffer ? new Uint8Array(content) : content);
    return file;
  };
}

/** RFC 4180 field: always quoted, quotes doubled (what pandas writes for fields that need it). */
function quoteField(field: string): string {
  return `"${field.replace(/"/g, '""')}"`;
}

/** Rows as a delimited table with a `text,label` header, every field quoted. */
export function toDelimited(rows: { text: string; label: string }[], delimiter: string): string {
  return [['text', 'label'], ...rows.map((r) => [r.text, r.label])].map((r) => r.map(quoteField).join(delimiter)).join('\n') + '\n';
}

/** Rows as a Parquet file: text a string column, label an INT64 one. */
export function parquetOf(rows: { text: string; label: string }[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'text', data: rows.map((r) => r.text), type: 'STRING' },
      { name: 'label', data: rows.map((r) => BigInt(r.label)), type: 'INT64' },
    ],
  });
}
