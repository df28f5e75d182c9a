import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { downloadHubParquet, hubCacheFolder, HubRequestError, listHubParquet, readHubTable, type HubOptions } from '../../lib/data/hf-hub.js';
import { loadTextClassification, textClassificationFromTable } from '../../lib/data/text-classification.js';
import { UsageError } from '../../lib/errors.js';

/**
 * A stand-in for the Hub on 127.0.0.1: the `/api/datasets/{repo}/parquet…` listing endpoints, the
 * `…/{n}.parquet` redirect, and the files under `/datasets/{repo}/resolve/refs%2Fconvert%2Fparquet/`.
 */
interface FakeHub {
  url: string;
  requests: string[];
  /** Answer 503 to the next N requests. */
  failNext: number;
  /** Paths (under resolve/) whose download dies half way. */
  dying: Set<string>;
  /** Paths (under resolve/) answered with an HTML page instead of Parquet. */
  html: Set<string>;
  /** Paths that never answer. */
  silent: Set<string>;
  close(): Promise<void>;
}

type Shards = Record<string, Record<string, Uint8Array[]>>;

function startHub(datasets: Map<string, { shards: Shards; token?: string }>): Promise<FakeHub> {
  const hub = { requests: [] as string[], failNext: 0, dying: new Set<string>(), html: new Set<string>(), silent: new Set<string>() } as FakeHub;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    hub.requests.push(url);
    if (hub.silent.has(url)) return;
    if (hub.failNext > 0) {
      hub.failNext--;
      res.writeHead(503).end('busy');
      return;
    }
    const api = /^\/api\/datasets\/([^/]+\/[^/]+)\/parquet(?:\/([^/]+))?(?:\/([^/]+))?(?:\/(\d+)\.parquet)?$/.exec(url);
    const resolve = /^\/datasets\/([^/]+\/[^/]+)\/resolve\/refs%2Fconvert%2Fparquet\/([^/]+)\/([^/]+)\/(\d{4})\.parquet$/.exec(url);
    const repo = decodeURIComponent((api ?? resolve)?.[1] ?? '');
    const dataset = datasets.get(repo);
    if (!dataset) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Repository not found' }));
      return;
    }
    if (dataset.token && req.headers.authorization !== `Bearer ${dataset.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Invalid credentials' }));
      return;
    }
    const listed = (config: string, split: string) => dataset.shards[config][split].map((_, n) => `${hub.url}/api/datasets/${repo}/parquet/${config}/${split}/${n}.parquet`);
    if (api && api[4] !== undefined) {
      const target = `/datasets/${repo}/resolve/refs%2Fconvert%2Fparquet/${api[2]}/${api[3]}/${api[4].padStart(4, '0')}.parquet`;
      res.writeHead(302, { location: target }).end();
      return;
    }
    if (api) {
      const [config, split] = [api[2], api[3]];
      let body: unknown;
      if (config === undefined) body = Object.fromEntries(Object.entries(dataset.shards).map(([c, splits]) => [c, Object.fromEntries(Object.keys(splits).map((s) => [s, listed(c, s)]))]));
      else if (!dataset.shards[config] || (split !== undefined && !dataset.shards[config][split])) body = null;
      else if (split === undefined) body = Object.fromEntries(Object.keys(dataset.shards[config]).map((s) => [s, listed(config, s)]));
      else body = listed(config, split);
      if (body === null) res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Not found' }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (resolve) {
      const bytes = dataset.shards[resolve[2]]?.[resolve[3]]?.[Number(resolve[4])];
      if (!bytes) {
        res.writeHead(404).end('Entry not found');
        return;
      }
      if (hub.html.has(url)) {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in to continue</body></html>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
      if (hub.dying.has(url)) {
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
        return;
      }
      res.end(bytes);
      return;
    }
    res.writeHead(404).end();
  };
  return new Promise((done) => {
    const server: Server = createServer(handler);
    server.listen(0, '127.0.0.1', () => {
      hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      hub.close = () =>
        new Promise((closed) => {
          server.closeAllConnections();
          server.close(() => closed());
        });
      done(hub);
    });
  });
}

const shardOf = (rows: { text: string; label: string }[]): Uint8Array =>
  new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'document', data: rows.map((r) => r.text), type: 'STRING' },
        { name: 'label', data: rows.map((r) => BigInt(r.label)), type: 'INT64' },
      ],
    }),
  );

let hub: FakeHub;
let cacheDir: string;
let rows: { text: string; label: string }[];
let options: HubOptions;

before(async () => {
  const nsmc = await loadTextClassification('data/nsmc/ratings_train.first14274.txt');
  rows = nsmc.texts.slice(0, 60).map((text, i) => ({ text, label: nsmc.labelNames[nsmc.labels[i]] }));
  const nsmcShards: Shards = { default: { train: [shardOf(rows.slice(0, 25)), shardOf(rows.slice(25, 50))], test: [shardOf(rows.slice(50))] } };
  hub = await startHub(
    new Map([
      ['e9t/nsmc', { shards: nsmcShards }],
      ['team/private-nsmc', { shards: { default: { train: [shardOf(rows.slice(0, 5))] } }, token: 'hf_test_token' }],
      ['sean0042/KorMedMCQA', { shards: { doctor: { test: [shardOf(rows.slice(0, 3))] }, nurse: { test: [shardOf(rows.slice(3, 6))] } } }],
    ]),
  );
});
after(() => hub.close());
beforeEach(() => {
  cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hanlab-hub-'));
  options = { endpoint: hub.url, cacheDir, token: null, retryDelayMs: 5, timeoutMs: 2_000 };
  hub.requests.length = 0;
  hub.failNext = 0;
  hub.dying.clear();
  hub.html.clear();
  hub.silent.clear();
});

function partFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[]).filter((name) => name.endsWith('.part'));
}

describe('Hugging Face Hub Parquet loading (against a local server)', () => {
  test('lists every config and split with its shards', async () => {
    const listed = await listHubParquet('sean0042/KorMedMCQA', {}, options);
    assert.deepEqual(
      listed.map((s) => [s.config, s.split, s.shard, s.url]),
      [
        ['doctor', 'test', 0, `${hub.url}/api/datasets/sean0042/KorMedMCQA/parquet/doctor/test/0.parquet`],
        ['nurse', 'test', 0, `${hub.url}/api/datasets/sean0042/KorMedMCQA/parquet/nurse/test/0.parquet`],
      ],
    );
    assert.deepEqual(hub.requests, ['/api/datasets/sean0042/KorMedMCQA/parquet']);
  });

  test('downloads a split (following the redirect) into the refs/convert/parquet layout, then serves it from the cache', async () => {
    const first = await downloadHubParquet('e9t/nsmc', { config: 'default', split: 'train' }, options);
    const folder = hubCacheFolder('e9t/nsmc', { cacheDir });
    assert.deepEqual(
      first.map((f) => [path.relative(folder, f.localPath), f.fromCache]),
      [
        [path.join('default', 'train', '0000.parquet'), false],
        [path.join('default', 'train', '0001.parquet'), false],
      ],
    );
    assert.deepEqual(hub.requests, [
      '/api/datasets/e9t/nsmc/parquet/default/train',
      '/api/datasets/e9t/nsmc/parquet/default/train/0.parquet',
      '/datasets/e9t/nsmc/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet',
      '/api/datasets/e9t/nsmc/parquet/default/train/1.parquet',
      '/datasets/e9t/nsmc/resolve/refs%2Fconvert%2Fparquet/default/train/0001.parquet',
    ]);
    hub.requests.length = 0;
    const second = await downloadHubParquet('e9t/nsmc', { config: 'default', split: 'train' }, options);
    assert.deepEqual(hub.requests, [], 'a cache hit makes no request');
    assert.ok(second.every((f) => f.fromCache));
    assert.deepEqual(second.map((f) => f.bytes), first.map((f) => f.bytes));
    // refresh re-lists and re-downloads.
    const refreshed = await downloadHubParquet('e9t/nsmc', { config: 'default', split: 'train' }, { ...options, refresh: true });
    assert.ok(refreshed.every((f) => !f.fromCache));
    assert.equal(hub.requests.length, 5);
  });

  test('readHubTable joins the shards in order and feeds the text-classification loader', async () => {
    const table = await readHubTable('e9t/nsmc', { config: 'default', split: 'train' }, options);
    assert.equal(table.file, 'hf://datasets/e9t/nsmc/default/train');
    assert.deepEqual(table.rows.map((r) => r.row), Array.from({ length: 50 }, (_, i) => i + 1));
    const ds = textClassificationFromTable(table);
    assert.deepEqual(ds.texts, rows.slice(0, 50).map((r) => r.text));
    assert.deepEqual(ds.labels.map((id) => ds.labelNames[id]), rows.slice(0, 50).map((r) => r.label));
    assert.equal(ds.source.textColumn, 'document');
  });

  test('HF_ENDPOINT is used when no endpoint is passed', async () => {
    const saved = process.env.HF_ENDPOINT;
    process.env.HF_ENDPOINT = `${hub.url}/`;
    try {
      const files = await downloadHubParquet('e9t/nsmc', { config: 'default', split: 'test' }, { cacheDir, token: null });
      assert.equal(files.length, 1);
      assert.equal(readFileSync(files[0].localPath).subarray(0, 4).toString(), 'PAR1');
    } finally {
      if (saved === undefined) delete process.env.HF_ENDPOINT;
      else process.env.HF_ENDPOINT = saved;
    }
  });

  test('404 is a clear error naming the data set, and nothing is cached', async () => {
    await assert.rejects(downloadHubParquet('nobody/missing', { config: 'default', split: 'train' }, options), (error: unknown) => {
      assert.ok(error instanceof HubRequestError);
      assert.equal(error.status, 404);
      assert.equal(error.url, `${hub.url}/api/datasets/nobody/missing/parquet/default/train`);
      assert.match(error.message, /^Hugging Face dataset 'nobody\/missing' config 'default' split 'train': not found \(HTTP 404\) on http:\/\/127\.0\.0\.1:\d+; check the name, config and split \(and HF_ENDPOINT\)$/);
      return true;
    });
    await assert.rejects(downloadHubParquet('e9t/nsmc', { config: 'default', split: 'validation' }, options), /split 'validation': not found \(HTTP 404\)/);
    assert.equal(existsSync(hubCacheFolder('nobody/missing', { cacheDir })), false);
  });

  test('a gated data set needs the token: 401 says to set HF_TOKEN, the token is sent as a Bearer token', async () => {
    await assert.rejects(downloadHubParquet('team/private-nsmc', { config: 'default', split: 'train' }, options), /access denied \(HTTP 401\); for a gated or private data set set HF_TOKEN/);
    const files = await downloadHubParquet('team/private-nsmc', { config: 'default', split: 'train' }, { ...options, token: 'hf_test_token' });
    assert.equal(files.length, 1);
  });

  test('a download that dies half way leaves no cache file and no temporary file; the next try succeeds', async () => {
    const shardPath = '/datasets/e9t/nsmc/resolve/refs%2Fconvert%2Fparquet/default/train/0001.parquet';
    hub.dying.add(shardPath);
    await assert.rejects(downloadHubParquet('e9t/nsmc', { config: 'default', split: 'train' }, { ...options, retries: 0 }), (error: unknown) => {
      assert.ok(error instanceof HubRequestError);
      assert.match(error.message, /shard 1: download failed, nothing cached/);
      return true;
    });
    const folder = hubCacheFolder('e9t/nsmc', { cacheDir });
    assert.equal(existsSync(path.join(folder, 'default', 'train', '0001.parquet')), false);
    assert.equal(existsSync(path.join(folder, 'default', 'train', '0000.parquet')), true, 'the complete shard is kept');
    assert.deepEqual(partFiles(cacheDir), []);
    hub.dying.clear();
    hub.requests.length = 0;
    const files = await downloadHubParquet('e9t/nsmc', { config: 'default', split: 'train' }, options);
    assert.deepEqual(files.map((f) => f.fromCache), [true, false]);
    assert.deepEqual(hub.requests, ['/api/datasets/e9t/nsmc/parquet/default/train/1.parquet', shardPath]);
  });

  test('a 200 answer that is not Parquet (a login page) is refused and not cached', async () => {
    hub.html.add('/datasets/e9t/nsmc/resolve/refs%2Fconvert%2Fparquet/default/test/0000.parquet');
    await assert.rejects(downloadHubParquet('e9t/nsmc', { config: 'default', split: 'test' }, options), /download failed, nothing cached \(the file is not Parquet/);
    assert.equal(existsSync(path.join(hubCacheFolder('e9t/nsmc', { cacheDir }), 'default', 'test', '0000.parquet')), false);
    assert.deepEqual(partFiles(cacheDir), []);
  });

  test('503 is retried with backoff; a server that never answers times out with a clear error', async () => {
    hub.failNext = 2;
    const files = await downloadHubParquet('e9t/nsmc', { config: 'default', split: 'test' }, { ...options, retries: 2 });
    assert.equal(files.length, 1);
    hub.silent.add('/api/datasets/e9t/nsmc/parquet/default/train');
    await assert.rejects(
      listHubParquet('e9t/nsmc', { config: 'default', split: 'train' }, { ...options, retries: 0, timeoutMs: 150 }),
      /request failed after 1 tries \(no response in 150 ms\)/,
    );
  });

  test('names that could escape the cache folder are refused before any request', async () => {
    await assert.rejects(downloadHubParquet('../etc', {}, options), UsageError);
    await assert.rejects(downloadHubParquet('e9t/nsmc', { config: '..', split: 'train' }, options), /config '\.\.' is not a valid Hub name/);
    await assert.rejects(listHubParquet('a/b/c', {}, options), /must be 'name' or 'owner\/name'/);
    await assert.rejects(listHubParquet('e9t/nsmc', { split: 'train' }, options), /a split needs its config/);
    assert.deepEqual(hub.requests, []);
  });
});
