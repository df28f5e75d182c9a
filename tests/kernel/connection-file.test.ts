/**
 * The kernel's connection file: every malformed one is one line naming the file and the field (exit 2,
 * no stack trace) before anything is bound, and one without "key" runs unsigned as the protocol says
 * (it used to crash natively inside ZeroMQ when the first message came).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import fc from 'fast-check';
import * as zmq from 'zeromq';
import { ConnectionFileError, checkConnection, readConnectionFile } from '../../lib/kernel/connection-file.js';
import { Session, channelAddress, type ConnectionInfo } from '../../lib/jupyter/protocol.js';
import { newMarker, waitForNoProcesses } from '../notebook/processes.js';

const work = mkdtempSync(path.join(tmpdir(), 'hanlab-connection-file-'));
after(() => rmSync(work, { recursive: true, force: true }));

const VALID = { transport: 'tcp', ip: '127.0.0.1', shell_port: 41001, iopub_port: 41002, stdin_port: 41003, control_port: 41004, hb_port: 41005, key: 'k', signature_scheme: 'hmac-sha256' };

/** `count` distinct free loopback ports (held together while asked). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<net.Server>((resolve) => { const server = net.createServer(); server.listen(0, '127.0.0.1', () => resolve(server)); })));
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function writeConnection(name: string, content: string | object): string {
  const file = path.join(work, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Starts the hanlab kernel's launcher on `file`; resolves with its exit and stderr. */
function launch(file: string, marker = newMarker()): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['kernels/hanlab/launch.cjs', file], { env: { ...process.env, HANLAB_TEST_MARKER: marker }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stderr })));
  return { child, done };
}

describe('checkConnection', () => {
  test('a good file is read as it is; an absent transport and signature_scheme take the protocol defaults', () => {
    assert.deepEqual(checkConnection(VALID, 'c.json'), { ...VALID, signed: true });
    const { transport: _transport, signature_scheme: _scheme, ...bare } = VALID;
    assert.deepEqual(checkConnection(bare, 'c.json'), { ...VALID, signed: true });
  });

  test('no key, or an empty one, means unsigned messages', () => {
    const { key: _key, ...noKey } = VALID;
    assert.deepEqual(checkConnection(noKey, 'c.json'), { ...VALID, key: '', signed: false });
    assert.equal(checkConnection({ ...VALID, key: '' }, 'c.json').signed, false);
  });

  test('each bad field is named, with what was found', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...VALID, shell_port: '41001; rm -rf /' }, /^c\.json: "shell_port" must be a port number from 1 to 65535, not "41001; rm -rf \/"$/],
      [{ ...VALID, hb_port: 70000 }, /"hb_port" must be a port number from 1 to 65535, not 70000$/],
      [{ ...VALID, iopub_port: 4.5 }, /"iopub_port" .* not 4\.5$/],
      [(({ control_port: _port, ...rest }) => rest)(VALID), /"control_port" must be a port number from 1 to 65535 \(it is missing\)$/],
      [{ ...VALID, signature_scheme: 'hmac-md5' }, /^c\.json: "signature_scheme" "hmac-md5" is not supported \(only "hmac-sha256"\)$/],
      [{ ...VALID, transport: 'ipc' }, /"transport" "ipc" is not supported \(only "tcp"\)$/],
      [{ ...VALID, key: 42 }, /"key" must be a string \(empty: unsigned messages\), not 42$/],
      [{ ...VALID, ip: '127.0.0.1:9; x' }, /"ip" must be an address such as "127\.0\.0\.1"/],
      [[1, 2], /^c\.json: the connection file must be a JSON object$/],
      [null, /must be a JSON object/],
    ];
    for (const [value, message] of cases) {
      assert.throws(() => checkConnection(value, 'c.json'), (error: Error) => error instanceof ConnectionFileError && message.test(error.message), JSON.stringify(value));
    }
  });

  test('no JSON value gets past it except as a usable connection, and nothing else is ever thrown (property)', () => {
    const port = fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.double(), fc.string(), fc.constant(null), fc.constant(undefined));
    const connection = fc.record(
      {
        transport: fc.oneof(fc.constant('tcp'), fc.string()),
        ip: fc.oneof(fc.constant('127.0.0.1'), fc.string()),
        shell_port: port,
        iopub_port: port,
        stdin_port: port,
        control_port: port,
        hb_port: port,
        key: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        signature_scheme: fc.oneof(fc.constant('hmac-sha256'), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(connection, fc.jsonValue()), (value) => {
        let info: ConnectionInfo;
        try {
          info = checkConnection(value, 'c.json');
        } catch (error) {
          return error instanceof ConnectionFileError && error.message.startsWith('c.json: ') && !error.message.includes('\n');
        }
        const ports = [info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port];
        return ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) && typeof info.key === 'string' && info.transport === 'tcp';
      }),
      { numRuns: 2000 },
    );
  });

  test('a file that is not JSON is named', () => {
    const file = writeConnection('broken.json', '{"transport": ');
    assert.throws(() => readConnectionFile(file), new RegExp(`^ConnectionFileError: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the connection file is not valid JSON \\(`));
  });
});

describe('the kernel process on a bad connection file', () => {
  test('a string port, invalid JSON, hmac-md5: one line on stderr, exit 2, no stack trace', async () => {
    for (const [name, content, message] of [
      ['string-port.json', { ...VALID, shell_port: '41001; rm -rf /' }, /"shell_port" must be a port number/],
      ['invalid.json', '{"transport": ', /the connection file is not valid JSON/],
      ['md5.json', { ...VALID, signature_scheme: 'hmac-md5' }, /"signature_scheme" "hmac-md5" is not supported/],
    ] as const) {
      const file = writeConnection(name, content);
      const { code, stderr } = await launch(file).done;
      assert.equal(code, 2, `${name}: ${stderr}`);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: ${stderr}`);
      assert.ok(lines[0].startsWith(`[hanlab] ${file}: `), stderr);
      assert.match(lines[0], message);
    }
  });

  test('no "key": the kernel says it runs unsigned, answers unsigned requests, and shuts down when asked', async () => {
    const ports = await freePorts(5);
    const info = { transport: 'tcp', ip: '127.0.0.1', shell_port: ports[0], iopub_port: ports[1], stdin_port: ports[2], control_port: ports[3], hb_port: ports[4], signature_scheme: 'hmac-sha256' } as const;
    const file = writeConnection('no-key.json', info);
    const marker = newMarker();
    const { child, done } = launch(file, marker);
    const session = new Session('');
    const connection = { ...info, key: '' } as ConnectionInfo;
    const shell = new zmq.Dealer({ linger: 0 });
    const control = new zmq.Dealer({ linger: 0 });
    shell.connect(channelAddress(connection, 'shell'));
    control.connect(channelAddress(connection, 'control'));
    try {
      // The kernel may still be binding: ask until it answers (a front end's wait_for_ready).
      shell.receiveTimeout = 2_000;
      let reply;
      for (let attempt = 0; !reply && attempt < 30; attempt++) {
        const request = session.message('kernel_info_request', {});
        await shell.send(session.serialize(request));
        try {
          const frames = await shell.receive();
          reply = session.deserialize(frames);
        } catch {
          assert.equal(child.exitCode, null, 'the kernel is still running');
        }
      }
      assert.ok(reply, 'the kernel answered an unsigned kernel_info_request');
      assert.equal(reply.header.msg_type, 'kernel_info_reply');
      assert.equal(reply.content.status, 'ok');
      await control.send(session.serialize(session.message('shutdown_request', { restart: false })));
      const { code, stderr } = await done;
      assert.equal(code, 0, stderr);
      assert.match(stderr, /no "key": messages are not signed/);
      assert.doesNotMatch(stderr, /Napi|terminate called|^\s+at /m);
    } finally {
      shell.close();
      control.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      assert.deepEqual(await waitForNoProcesses(marker), []);
    }
  });
});
