/**
 * A Jupyter server as hanlab reaches it: Jupyter Server / Notebook, Jupyter Kernel Gateway or Jupyter
 * Enterprise Gateway, through their kernels REST and WebSocket API with `@jupyterlab/services` (Jupyter's
 * own client). This module turns `--server URL [--token T]` into that client's settings, bounds every
 * HTTP request by a connect timeout (the kernel start and the channels handshake by a start timeout),
 * and turns the failures a user can meet
 * (wrong token, nothing listening, not a Jupyter server, no such kernel) into one clear line.
 *
 * The token never appears in a message, a log line or run metadata: `ServerAddress.url` is the URL
 * without it.
 */
import { KernelSpecAPI, ServerConnection, type KernelSpec } from '@jupyterlab/services';
import WebSocket from 'ws';
import { HanlabError } from '../errors.js';
import { formatSeconds } from './errors.js';

/** Every failure to use a server: bad URL, refused token, unreachable, not a Jupyter server, missing kernel. */
export class RemoteServerError extends HanlabError {}

export interface ServerAddress {
  /** Base URL with a trailing slash, without token, query or credentials: safe to print and record. */
  url: string;
  /** ws:// or wss:// base for the channels socket. */
  wsUrl: string;
  token: string;
}

/**
 * Reads `--server` and the token: `--token`, else a `?token=` in the URL as Jupyter prints it, else
 * `$JUPYTER_TOKEN`. Credentials inside the URL (`user:pass@`) are refused: they would end up in logs.
 */
export function parseServerAddress(server: string, token?: string): ServerAddress {
  let parsed: URL;
  try {
    parsed = new URL(server);
  } catch {
    throw new RemoteServerError(`--server must be a URL such as http://gpu-host:8888/, not "${server}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new RemoteServerError(`--server must be an http:// or https:// URL, not ${parsed.protocol}//…`);
  }
  if (parsed.username || parsed.password) {
    throw new RemoteServerError('--server must not carry credentials in the URL; give the token with --token or $JUPYTER_TOKEN');
  }
  const fromUrl = parsed.searchParams.get('token') ?? undefined;
  // What was typed for this run wins over the ambient variable.
  const chosen = token ?? fromUrl ?? (process.env.JUPYTER_TOKEN || undefined) ?? '';
  const pathname = parsed.pathname.replace(/\/(tree|lab|notebooks)(\/.*)?$/, '/').replace(/\/*$/, '/');
  const url = `${parsed.protocol}//${parsed.host}${pathname}`;
  const wsUrl = `${parsed.protocol === 'https:' ? 'wss:' : 'ws:'}//${parsed.host}${pathname}`;
  return { url, wsUrl, token: chosen };
}

export interface ServerOptions {
  /** Bound on each REST request (and on a lost connection coming back); default 10 s. */
  connectTimeoutMs?: number;
  /** Bound on `POST /api/kernels` and the channels handshake (a gateway may schedule a pod or a YARN container first); default 120 s. */
  startTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_KERNEL_START_TIMEOUT_MS = 120_000;

/** Why a request failed, in words: "connection refused", "no answer within 10 s", … */
export function describeNetworkError(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${formatSeconds(timeoutMs)}`;
  // undici: TypeError('fetch failed') caused by the socket error that has the code.
  let code: string | undefined;
  for (let cause: unknown = err; cause && !code; cause = (cause as { cause?: unknown }).cause) code = (cause as { code?: string }).code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the server running, and on this port?)',
    ENOTFOUND: 'unknown host',
    EAI_AGAIN: 'the host name could not be resolved',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ECONNRESET: 'the connection was reset',
    UND_ERR_CONNECT_TIMEOUT: `no connection within ${formatSeconds(timeoutMs)}`,
    UND_ERR_SOCKET: 'the connection was closed',
  };
  if (code && known[code]) return known[code];
  return err?.cause?.message ?? err?.message ?? String(error);
}

let consoleFiltered = false;

/**
 * @jupyterlab/services writes its progress to the console ("Starting WebSocket: …", "Connection lost,
 * reconnecting…", server tracebacks). In a browser that is the developer console; in a CLI it would
 * land in the user's stdout between our own lines. Those calls (and only those: the caller is found on
 * the stack) go to stderr when HANLAB_DEBUG is set and are dropped otherwise. hanlab reports every
 * failure itself, with the server's message.
 */
function filterClientConsole(): void {
  if (consoleFiltered) return;
  consoleFiltered = true;
  for (const level of ['debug', 'log', 'info', 'warn', 'error'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (!/[\\/]@jupyterlab[\\/]services[\\/]/.test(new Error().stack ?? '')) return original(...args);
      if (process.env.HANLAB_DEBUG) process.stderr.write(`[jupyterlab/services] ${args.map(String).join(' ')}\n`);
    };
  }
}

/**
 * The WebSocket class the client uses: the `ws` package with a handshake timeout, and without the
 * kernel subprotocol (`v1.kernel.websocket.jupyter.org`). Every server speaks the default JSON protocol
 * when none is asked for, while Notebook 6 and Kernel Gateway refuse the subprotocol offer, which
 * would cost a failed handshake and a reconnect on every kernel.
 */
function webSocketClass(handshakeTimeout: number, onSocket?: (socket: WebSocket) => void): typeof WebSocket {
  return class HanlabWebSocket extends WebSocket {
    constructor(url: string, _protocols?: string | string[]) {
      super(url, [], { handshakeTimeout });
      onSocket?.(this);
    }
  } as typeof WebSocket;
}

export type FetchPolicy = (request: Request, attempt: (request: Request) => Promise<Response>) => Promise<Response>;

/** The client settings for one server (or one kernel, with its own fetch policy; `onSocket` sees every channels socket it opens). */
export function clientSettings(address: ServerAddress, options: ServerOptions = {}, policy?: FetchPolicy, onSocket?: (socket: WebSocket) => void): ServerConnection.ISettings {
  filterClientConsole();
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_KERNEL_START_TIMEOUT_MS;
  // Every request gets its own deadline: starting a kernel may legitimately take minutes on a gateway.
  // A network failure becomes a TypeError saying why (the client keeps only the message).
  const attempt = async (request: Request) => {
    const starting = request.method === 'POST' && /\/api\/kernels\/?$/.test(new URL(request.url).pathname);
    const timeoutMs = starting ? startTimeoutMs : connectTimeoutMs;
    try {
      return await fetch(request, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new TypeError(describeNetworkError(error, timeoutMs), { cause: error });
    }
  };
  const boundedFetch = (input: Request | string | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    return policy ? policy(request, attempt) : attempt(request);
  };
  return ServerConnection.makeSettings({
    baseUrl: address.url,
    wsUrl: address.wsUrl,
    token: address.token,
    appendToken: true,
    fetch: boundedFetch as typeof fetch,
    Request,
    Headers,
    // The server completes the handshake only once the kernel answers (Notebook waits for its
    // kernel_info): the kernel's start bounds it, not the connect timeout. An aborted handshake makes
    // the server hold a stale connection for the same session, and the next one hears nothing.
    WebSocket: webSocketClass(startTimeoutMs, onSocket) as unknown as typeof globalThis.WebSocket,
  });
}

/** One line for a failed request to the server. */
export function serverFailure(error: unknown, address: ServerAddress, what: string, timeoutMs: number): RemoteServerError {
  const response = (error as { response?: Response }).response;
  if (response instanceof Response) {
    if (response.status === 401 || response.status === 403) {
      return new RemoteServerError(
        `the Jupyter server at ${address.url} refused ${address.token ? 'the token' : 'the request without a token'} (HTTP ${response.status}); ` +
          'give the server\'s token with --token or $JUPYTER_TOKEN',
      );
    }
    if (response.status === 404) {
      return new RemoteServerError(`${address.url} does not look like a Jupyter server: ${what} answered HTTP 404 (check the URL and its base path)`);
    }
    const message = error instanceof Error && error.message ? error.message.split('\n')[0] : `HTTP ${response.status}`;
    return new RemoteServerError(`the Jupyter server at ${address.url} failed to ${what}: HTTP ${response.status}: ${message}`);
  }
  if (error instanceof ServerConnection.NetworkError || (error as Error)?.name === 'TimeoutError') {
    return new RemoteServerError(`cannot reach the Jupyter server at ${address.url}: ${describeNetworkError(error, timeoutMs)}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RemoteServerError(`the Jupyter server at ${address.url} failed to ${what}: ${message}`);
}

export interface ServerKernelSpec {
  name: string;
  display_name: string;
  language: string;
  /** Enterprise Gateway's process proxy, when the spec has one (where the kernel will be placed). */
  processProxy?: string;
}

/**
 * `GET /api/kernelspecs`: proves the server is reachable, takes the token and is a Jupyter server, and
 * says whether it has the kernel. Called before any kernel starts, so every one of those problems is
 * one line and nothing is left running.
 */
export async function fetchKernelSpecs(address: ServerAddress, options: ServerOptions = {}): Promise<Map<string, ServerKernelSpec>> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let models;
  try {
    models = await KernelSpecAPI.getSpecs(clientSettings(address, options));
  } catch (error) {
    throw serverFailure(error, address, 'list its kernels (GET /api/kernelspecs)', timeoutMs);
  }
  const specs = new Map<string, ServerKernelSpec>();
  // Typed by hand: tslab's compiler (tests/notebook/tslab-compat.test.ts) types Object.entries of it as unknown.
  for (const [name, model] of Object.entries(models.kernelspecs) as Array<[string, KernelSpec.ISpecModel | undefined]>) {
    if (!model) continue;
    const proxy = (model.metadata as { process_proxy?: { class_name?: unknown } } | undefined)?.process_proxy?.class_name;
    specs.set(name, {
      name,
      display_name: model.display_name,
      language: model.language,
      ...(typeof proxy === 'string' ? { processProxy: proxy } : {}),
    });
  }
  return specs;
}

/** The server's kernelspec `name`, or a RemoteServerError listing what it has. */
export async function requireKernelSpec(address: ServerAddress, name: string, options: ServerOptions = {}): Promise<ServerKernelSpec> {
  const specs = await fetchKernelSpecs(address, options);
  const spec = specs.get(name);
  if (!spec) {
    const available = [...specs.keys()].sort().join(', ') || 'none';
    throw new RemoteServerError(
      `the Jupyter server at ${address.url} has no kernel "${name}" (it has: ${available}); ` +
        'install hanlab\'s kernelspecs where the server runs: `hanlab kernels install` (or `--gateway-dir` for Enterprise Gateway)',
    );
  }
  return spec;
}
