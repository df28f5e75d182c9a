/**
 * The kernel's connection file (Jupyter's kernel.json-like file with the transport, address, five
 * ports and HMAC key), read and checked before anything is bound. Whoever wrote it (a Jupyter server,
 * `hanlab run`, a gateway launcher, a person) gets one line naming the file and the field, never a
 * stack trace or a native crash inside ZeroMQ.
 */
import { readFileSync } from 'node:fs';
import { HanlabError } from '../errors.js';
import type { ConnectionInfo } from '../jupyter/protocol.js';

/** A connection file the kernel cannot use. */
export class ConnectionFileError extends HanlabError {}

const PORT_FIELDS = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;

/**
 * Reads and checks `file`. An absent or empty `key` means unsigned messages (the protocol's rule:
 * "if the key is empty, no signature is computed"); `signed` says which it is, so the kernel can say so.
 */
export function readConnectionFile(file: string): ConnectionInfo & { signed: boolean } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConnectionFileError(`${file}: cannot read the connection file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConnectionFileError(`${file}: the connection file is not valid JSON (${(error as Error).message})`);
  }
  return checkConnection(parsed, file);
}

/** Checks a parsed connection file; `file` names it in the messages. */
export function checkConnection(value: unknown, file: string): ConnectionInfo & { signed: boolean } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConnectionFileError(`${file}: the connection file must be a JSON object`);
  }
  const info = value as Record<string, unknown>;
  const field = (name: string) => (Object.hasOwn(info, name) ? info[name] : undefined);
  const transport = field('transport') ?? 'tcp';
  if (transport !== 'tcp') throw new ConnectionFileError(`${file}: "transport" ${describe(transport)} is not supported (only "tcp")`);
  const ip = field('ip');
  if (typeof ip !== 'string' || !/^[\w.:*-]+$/.test(ip) || ip.length > 253) {
    throw new ConnectionFileError(`${file}: "ip" must be an address such as "127.0.0.1"${got(ip)}`);
  }
  const ports: Record<string, number> = {};
  for (const name of PORT_FIELDS) {
    const port = field(name);
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConnectionFileError(`${file}: "${name}" must be a port number from 1 to 65535${got(port)}`);
    }
    ports[name] = port;
  }
  const scheme = field('signature_scheme') ?? 'hmac-sha256';
  if (scheme !== 'hmac-sha256') {
    throw new ConnectionFileError(`${file}: "signature_scheme" ${describe(scheme)} is not supported (only "hmac-sha256")`);
  }
  const key = field('key') ?? '';
  if (typeof key !== 'string') throw new ConnectionFileError(`${file}: "key" must be a string (empty: unsigned messages)${got(key)}`);
  const kernelName = field('kernel_name');
  return {
    transport: 'tcp',
    ip,
    shell_port: ports.shell_port,
    iopub_port: ports.iopub_port,
    stdin_port: ports.stdin_port,
    control_port: ports.control_port,
    hb_port: ports.hb_port,
    key,
    signature_scheme: 'hmac-sha256',
    ...(typeof kernelName === 'string' ? { kernel_name: kernelName } : {}),
    signed: key !== '',
  };
}

/** A value as it appears in the file, shortened: `"41001; …"`, `null`, `12.5`. */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** What was found instead: `, not "41001; …"`, or ` (it is missing)`. */
function got(value: unknown): string {
  return value === undefined ? ' (it is missing)' : `, not ${describe(value)}`;
}
