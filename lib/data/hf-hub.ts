/**
 * Data sets from the Hugging Face Hub, as the Parquet files the Hub's dataset viewer publishes on the
 * `refs/convert/parquet` branch (one folder per config and split: `{config}/{split}/0000.parquet`, …).
 *
 * The Hub API used (documented in the dataset viewer's "List Parquet files" guide):
 *   GET {endpoint}/api/datasets/{repo}/parquet                  → { config: { split: [url, …] } }
 *   GET {endpoint}/api/datasets/{repo}/parquet/{config}         → { split: [url, …] }
 *   GET {endpoint}/api/datasets/{repo}/parquet/{config}/{split} → [url, …]
 * Each url (`…/parquet/{config}/{split}/{n}.parquet`) redirects to the file itself,
 * `{endpoint}/datasets/{repo}/resolve/refs%2Fconvert%2Fparquet/{config}/{split}/{nnnn}.parquet`.
 *
 * `endpoint` defaults to `HF_ENDPOINT` (a mirror, or the local server the tests start), then to
 * https://huggingface.co; the token to `HF_TOKEN` (sent as a Bearer token, needed for gated or private
 * sets). Files are cached under `cacheDir` in the same layout, with the listing beside them, so a second
 * call makes no request. A download is written to a temporary file and renamed into place only after
 * its length and Parquet magic bytes check out: an interrupted download never looks like a cached file.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { writeFileAtomically } from '../atomic-file.js';
import { open } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { HanlabError, UsageError } from '../errors.js';
import { readTextFile } from './encoding.js';
import { readTable, type Table, type TableRow } from './tabular.js';

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

/** A request to the Hub failed; `status` is the HTTP status when there was a response. */
export class HubRequestError extends HanlabError {
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HubOptions {
  /** Hub base URL; default `HF_ENDPOINT`, then https://huggingface.co. */
  endpoint?: string;
  /** Access token; default `HF_TOKEN`. Pass null to send none. */
  token?: string | null;
  /** Cache folder; default `HANLAB_HF_CACHE`, then ~/.cache/hanlab/hf. */
  cacheDir?: string;
  /** Milliseconds to wait for a response, and between chunks of a download (default 60,000). */
  timeoutMs?: number;
  /** Retries after a 429, a 5xx or a dropped connection (default 2), with doubling delays. */
  retries?: number;
  /** First retry delay in milliseconds (default 1,000). */
  retryDelayMs?: number;
  /** List and download again even when cached. */
  refresh?: boolean;
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
}

export interface HubParquetSelection {
  /** Config (subset) name; all configs when absent. */
  config?: string;
  /** Split name; all splits of the config(s) when absent. */
  split?: string;
}

export interface HubParquetFile {
  repo: string;
  config: string;
  split: string;
  /** Shard index within the split. */
  shard: number;
  url: string;
  /** The cached file. */
  localPath: string;
  /** True when no download was needed. */
  fromCache: boolean;
  bytes: number;
}

interface ResolvedOptions {
  endpoint: string;
  token: string | null;
  cacheDir: string;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  refresh: boolean;
  fetch: typeof fetch;
}

function resolveOptions(options: HubOptions): ResolvedOptions {
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
  if (!/^https?:\/\//.test(endpoint)) throw new UsageError(`Hub endpoint must be an http(s) URL, got '${endpoint}'`);
  return {
    endpoint,
    token: options.token === undefined ? process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || null : options.token,
    cacheDir: options.cacheDir ?? process.env.HANLAB_HF_CACHE ?? path.join(os.homedir(), '.cache', 'hanlab', 'hf'),
    timeoutMs: options.timeoutMs ?? 60_000,
    retries: options.retries ?? 2,
    retryDelayMs: options.retryDelayMs ?? 1_000,
    refresh: options.refresh ?? false,
    fetch: options.fetch ?? globalThis.fetch,
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Repo ids, configs and splits become folder names: allow only plain names (no `..`, no slashes). */
function checkName(kind: string, value: string): void {
  if (!NAME.test(value) || value.includes('..')) throw new UsageError(`${kind} '${value}' is not a valid Hub name`);
}

function checkRepo(repo: string): void {
  const parts = repo.split('/');
  if (parts.length > 2) throw new UsageError(`dataset '${repo}' must be 'name' or 'owner/name'`);
  for (const part of parts) checkName('dataset', part);
}

function repoPath(repo: string): string {
  return repo.split('/').map(encodeURIComponent).join('/');
}

/** Folder of a repo's `refs/convert/parquet` copy in the cache. */
export function hubCacheFolder(repo: string, options: HubOptions = {}): string {
  checkRepo(repo);
  const { cacheDir } = resolveOptions(options);
  return path.join(cacheDir, 'datasets', ...repo.split('/'), 'refs-convert-parquet');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function authHeaders(o: ResolvedOptions): Record<string, string> {
  return o.token ? { authorization: `Bearer ${o.token}` } : {};
}

function describeStatus(status: number, what: string, o: ResolvedOptions): string {
  if (status === 401 || status === 403) {
    return `${what}: access denied (HTTP ${status}); for a gated or private data set set HF_TOKEN${o.token ? ' to a token with access' : ''}`;
  }
  if (status === 404) return `${what}: not found (HTTP 404) on ${o.endpoint}; check the name, config and split (and HF_ENDPOINT)`;
  return `${what}: HTTP ${status}`;
}

/**
 * fetch with a timeout for the response headers, retrying 429, 5xx and network errors. Returns the
 * response (any status) and the abort controller, so a download can keep using its timeout.
 */
async function request(url: string, what: string, o: ResolvedOptions): Promise<{ response: Response; controller: AbortController }> {
  let lastError: unknown = null;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) await sleep(o.retryDelayMs * 2 ** (attempt - 1));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no response in ${o.timeoutMs} ms`)), o.timeoutMs);
    try {
      const response = await o.fetch(url, { headers: authHeaders(o), redirect: 'follow', signal: controller.signal });
      clearTimeout(timer);
      if ((response.status === 429 || response.status >= 500) && attempt < o.retries) {
        await response.body?.cancel();
        lastError = new HubRequestError(describeStatus(response.status, what, o), url, response.status);
        continue;
      }
      return { response, controller };
    } catch (error) {
      clearTimeout(timer);
      lastError = error;
    }
  }
  if (lastError instanceof HubRequestError) throw lastError;
  const reason = lastError instanceof Error ? ((lastError.cause as Error | undefined)?.message ?? lastError.message) : String(lastError);
  throw new HubRequestError(`${what}: request failed after ${o.retries + 1} tries (${reason})`, url, null, { cause: lastError });
}

async function getJson(url: string, what: string, o: ResolvedOptions): Promise<unknown> {
  const { response } = await request(url, what, o);
  if (!response.ok) {
    await response.body?.cancel();
    throw new HubRequestError(describeStatus(response.status, what, o), url, response.status);
  }
  try {
    return await response.json();
  } catch (error) {
    throw new HubRequestError(`${what}: the answer is not JSON`, url, response.status, { cause: error });
  }
}

function urlList(value: unknown, url: string, what: string): string[] {
  if (!Array.isArray(value) || !value.every((u) => typeof u === 'string')) {
    throw new HubRequestError(`${what}: expected a list of Parquet URLs`, url, 200);
  }
  return value as string[];
}

function urlMap(value: unknown, url: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HubRequestError(`${what}: expected an object keyed by config or split`, url, 200);
  }
  return value as Record<string, unknown>;
}

/** Shard number from `…/{n}.parquet` (the API's form) or `…/{nnnn}.parquet`. */
function shardOf(url: string, fallback: number): number {
  const match = /\/(\d+)\.parquet(?:\?.*)?$/.exec(url);
  return match ? Number(match[1]) : fallback;
}

interface ListedShard {
  config: string;
  split: string;
  shard: number;
  url: string;
}

/** Ask the Hub which Parquet files a data set (or one config / split of it) has. */
export async function listHubParquet(repo: string, selection: HubParquetSelection = {}, options: HubOptions = {}): Promise<ListedShard[]> {
  checkRepo(repo);
  const { config, split } = selection;
  if (split !== undefined && config === undefined) throw new UsageError('a split needs its config');
  if (config !== undefined) checkName('config', config);
  if (split !== undefined) checkName('split', split);
  const o = resolveOptions(options);
  const parts = [config, split].filter((p): p is string => p !== undefined).map(encodeURIComponent);
  const url = [`${o.endpoint}/api/datasets/${repoPath(repo)}/parquet`, ...parts].join('/');
  const what = `Hugging Face dataset '${repo}'${config ? ` config '${config}'` : ''}${split ? ` split '${split}'` : ''}`;
  const body = await getJson(url, what, o);
  const shards: ListedShard[] = [];
  const add = (c: string, s: string, urls: string[]): void => {
    checkName('config', c);
    checkName('split', s);
    urls.forEach((u, i) => shards.push({ config: c, split: s, shard: shardOf(u, i), url: new URL(u, `${o.endpoint}/`).href }));
  };
  if (config !== undefined && split !== undefined) add(config, split, urlList(body, url, what));
  else if (config !== undefined) for (const [s, urls] of Object.entries(urlMap(body, url, what))) add(config, s, urlList(urls, url, what));
  else {
    for (const [c, splits] of Object.entries(urlMap(body, url, what))) {
      for (const [s, urls] of Object.entries(urlMap(splits, url, what))) add(c, s, urlList(urls, url, what));
    }
  }
  shards.sort((a, b) => (a.config < b.config ? -1 : a.config > b.config ? 1 : a.split < b.split ? -1 : a.split > b.split ? 1 : a.shard - b.shard));
  if (shards.length === 0) throw new HubRequestError(`${what}: the Hub lists no Parquet files`, url, 200);
  return shards;
}

function shardPath(folder: string, shard: ListedShard): string {
  return path.join(folder, shard.config, shard.split, `${String(shard.shard).padStart(4, '0')}.parquet`);
}

function listingPath(folder: string, selection: HubParquetSelection): string {
  const name = ['listing', selection.config ?? '_all', selection.split ?? '_all'].join('.') + '.json';
  return path.join(folder, name);
}

function looksLikeParquet(head: Uint8Array, tail: Uint8Array): boolean {
  const magic = (b: Uint8Array) => b.length === 4 && b[0] === 0x50 && b[1] === 0x41 && b[2] === 0x52 && b[3] === 0x31;
  return magic(head) && magic(tail);
}

/** Download one file to `target` through a temporary file; returns the byte count. */
async function download(url: string, target: string, what: string, o: ResolvedOptions): Promise<number> {
  const { response, controller } = await request(url, what, o);
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new HubRequestError(describeStatus(response.status, what, o), url, response.status);
  }
  const expected = response.headers.get('content-encoding') ? null : Number(response.headers.get('content-length') ?? Number.NaN);
  mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${randomUUID()}.part`;
  const handle = await open(temp, 'w');
  let written = 0;
  let head = new Uint8Array(0);
  let tail = new Uint8Array(0);
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${o.timeoutMs} ms`)), o.timeoutMs);
  };
  try {
    const reader = response.body.getReader();
    arm();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arm();
      await handle.write(value);
      if (head.length < 4) head = Uint8Array.from([...head, ...value.subarray(0, 4 - head.length)]);
      tail = Uint8Array.from([...tail, ...value.subarray(Math.max(0, value.length - 4))]).slice(-4);
      written += value.length;
    }
    clearTimeout(timer);
    await handle.close();
    if (expected !== null && Number.isFinite(expected) && written !== expected) {
      throw new Error(`got ${written} of ${expected} bytes`);
    }
    if (!looksLikeParquet(head, tail)) throw new Error('the file is not Parquet (no PAR1 magic at both ends)');
    renameSync(temp, target);
    return written;
  } catch (error) {
    clearTimeout(timer);
    await handle.close().catch(() => undefined);
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    if (error instanceof HubRequestError) throw error;
    const cause = (error as Error).cause as Error | undefined;
    const reason = [(error as Error).message || String(error), cause?.message].filter(Boolean).join(': ');
    throw new HubRequestError(`${what}: download failed, nothing cached (${reason})`, url, response.status, { cause: error });
  }
}

/**
 * Make sure a data set's Parquet files (all, one config, or one split) are in the cache, downloading
 * what is missing; returns them in config, split, shard order.
 */
export async function downloadHubParquet(repo: string, selection: HubParquetSelection = {}, options: HubOptions = {}): Promise<HubParquetFile[]> {
  const o = resolveOptions(options);
  const folder = hubCacheFolder(repo, { cacheDir: o.cacheDir });
  const listing = listingPath(folder, selection);
  let shards: ListedShard[] | null = null;
  if (!o.refresh && existsSync(listing)) {
    try {
      shards = JSON.parse(readTextFile(listing).text) as ListedShard[];
    } catch {
      shards = null; // a damaged listing is simply fetched again
    }
  }
  if (shards === null) {
    shards = await listHubParquet(repo, selection, options);
    mkdirSync(folder, { recursive: true });
    writeFileAtomically(listing, (fd) => writeSync(fd, JSON.stringify(shards, null, 1)), { temporary: `${listing}.${process.pid}.${randomUUID()}.part` });
  }
  const files: HubParquetFile[] = [];
  for (const shard of shards) {
    const localPath = shardPath(folder, shard);
    const cached = !o.refresh && existsSync(localPath);
    const what = `Hugging Face dataset '${repo}' ${shard.config}/${shard.split} shard ${shard.shard}`;
    const bytes = cached ? statSync(localPath).size : await download(shard.url, localPath, what, o);
    files.push({ repo, config: shard.config, split: shard.split, shard: shard.shard, url: shard.url, localPath, fromCache: cached, bytes });
  }
  return files;
}

/**
 * One config/split of a Hub data set as a single table (its shards in order), ready for
 * `textClassificationFromTable` and the other loaders. `file` reads `hf://datasets/{repo}/{config}/{split}`.
 */
export async function readHubTable(repo: string, selection: Required<HubParquetSelection>, options: HubOptions = {}): Promise<Table & { files: HubParquetFile[] }> {
  const files = await downloadHubParquet(repo, selection, options);
  const rows: TableRow[] = [];
  let columns: string[] | null = null;
  for (const file of files) {
    const table = await readTable(file.localPath, { format: 'parquet' });
    if (columns === null) columns = table.columns;
    else if (table.columns.join('\u0000') !== columns.join('\u0000')) {
      throw new HubRequestError(`shards of ${repo} ${selection.config}/${selection.split} have different columns`, file.url, null);
    }
    for (const row of table.rows) rows.push({ ...row, row: rows.length + 1 });
  }
  return {
    file: `hf://datasets/${repo}/${selection.config}/${selection.split}`,
    format: 'parquet',
    encoding: 'utf-8',
    columns: columns ?? [],
    rows,
    files,
  };
}
