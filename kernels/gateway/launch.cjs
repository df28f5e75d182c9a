'use strict';
/**
 * Jupyter Enterprise Gateway kernel launcher for the hanlab kernels (launcher payload version 1).
 *
 * Enterprise Gateway starts a kernel on another host (over SSH, in a Kubernetes pod or a YARN
 * container) through a "kernel launcher" that does four things (docs: "Implementing a kernel
 * launcher"): pick the five ZeroMQ ports and a communication port (inside --port-range), send the
 * connection information back to the gateway's response address, AES-encrypted with a key that is
 * itself RSA-encrypted with the gateway's public key, start the kernel, and carry out the
 * {"signum": n} and {"shutdown": 1} requests the gateway sends to the communication port.
 *
 * Enterprise Gateway ships launchers for Python, R and Scala only, so hanlab has its own. It is
 * plain Node (built-ins only) and keeps the kernel in a child process: the communication port must
 * answer while a cell keeps the kernel's event loop busy for minutes (training), or the gateway's
 * 3-second poll would take the kernel for dead.
 *
 * The communication port listens on every interface, as the gateway's own launchers do (the gateway
 * reaches it from its own host). Its protocol carries no credential (a bare {"signum": n}), so what
 * the launcher can check it checks: requests are taken only from the gateway's host (the response
 * address; HANLAB_GATEWAY_TRUSTED_HOSTS adds hosts, comma-separated, or "*" for any), a request is at
 * most 4 KiB and must arrive within 5 s (the gateway's launchers time out at 5 s too), and only
 * integer signals from 0 to 64 are sent on. Anything else is closed and logged in one line.
 *
 * Arguments (as Enterprise Gateway's kernelspecs pass them; a pod gets them as environment variables
 * KERNEL_ID, RESPONSE_ADDRESS, PUBLIC_KEY, PORT_RANGE instead):
 *   --kernel hanlab|hanlab-gpu             (or HANLAB_KERNEL)
 *   --RemoteProcessProxy.kernel-id ID      (or --kernel-id)
 *   --RemoteProcessProxy.response-address IP:PORT
 *   --RemoteProcessProxy.public-key KEY    (base64 DER of the gateway's RSA public key)
 *   --RemoteProcessProxy.port-range LO..HI (0..0: any port)
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const dns = require('node:dns');

const LAUNCHER_VERSION = 1;
/** The gateway's requests are a few bytes of JSON: more is not the gateway. */
const MAX_REQUEST_BYTES = 4096;
/** How long one request may take to arrive (Enterprise Gateway's launchers: 5 s socket timeout). */
const REQUEST_TIMEOUT_MS = 5_000;
const KERNELS = ['hanlab', 'hanlab-gpu'];
const projectRoot = path.resolve(__dirname, '..', '..');

function fail(message) {
  process.stderr.write(`[hanlab gateway launcher] ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stderr.write(`[hanlab gateway launcher] ${message}\n`);
}

/** `--name value` pairs, with or without the RemoteProcessProxy. prefix; unknown ones are kept and ignored. */
function parseArguments(argv) {
  const values = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) fail(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(2, eq) : arg.slice(2)).replace(/^RemoteProcessProxy\./, '');
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) fail(`${arg} needs a value`);
    values[name] = value;
  }
  return values;
}

function settings(argv, env) {
  const args = parseArguments(argv);
  const kernel = args.kernel || env.HANLAB_KERNEL || 'hanlab';
  if (!KERNELS.includes(kernel)) fail(`--kernel must be one of ${KERNELS.join(', ')}, not "${kernel}"`);
  const kernelId = args['kernel-id'] || env.KERNEL_ID;
  const responseAddress = args['response-address'] || env.RESPONSE_ADDRESS || env.EG_RESPONSE_ADDRESS;
  const publicKey = args['public-key'] || env.PUBLIC_KEY || env.EG_PUBLIC_KEY;
  const portRange = args['port-range'] || env.PORT_RANGE || env.EG_PORT_RANGE || '0..0';
  const mode = args['spark-context-initialization-mode'] || 'none';
  if (!kernelId) fail('missing --RemoteProcessProxy.kernel-id (or KERNEL_ID)');
  if (!responseAddress) fail('missing --RemoteProcessProxy.response-address (or RESPONSE_ADDRESS)');
  if (!publicKey) fail('missing --RemoteProcessProxy.public-key (or PUBLIC_KEY)');
  if (mode !== 'none') fail(`--RemoteProcessProxy.spark-context-initialization-mode must be none for hanlab kernels, not "${mode}"`);
  const range = /^(\d+)\.\.(\d+)$/.exec(portRange);
  if (!range) fail(`--RemoteProcessProxy.port-range must look like 40000..41000 (or 0..0), not "${portRange}"`);
  const lower = Number(range[1]);
  const upper = Number(range[2]);
  if (upper < lower || upper > 65535) fail(`bad port range ${portRange}`);
  const address = /^(.+):(\d+)$/.exec(responseAddress);
  if (!address) fail(`--RemoteProcessProxy.response-address must be IP:PORT, not "${responseAddress}"`);
  return { kernel, kernelId, response: { host: address[1], port: Number(address[2]) }, publicKey, lower, upper };
}

/** A listening TCP server on 0.0.0.0, on a random port of the range (or any port for 0..0). */
async function listenInRange(lower, upper, retries = Number(process.env.EG_MAX_PORT_RANGE_RETRIES || 5)) {
  for (let attempt = 0; ; attempt++) {
    const port = upper === 0 ? 0 : lower + crypto.randomInt(upper - lower + 1);
    const server = net.createServer();
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '0.0.0.0', resolve);
      });
      return server;
    } catch (error) {
      if (attempt >= retries) throw new Error(`no free port in ${lower}..${upper} after ${retries + 1} tries (${error.code || error.message})`);
    }
  }
}

/** The process group id (Linux /proc; 0 where unknown, and the gateway then signals the pid). */
function processGroup() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) || 0;
  } catch {
    return 0;
  }
}

/** Enterprise Gateway's payload v1: base64 JSON {version, key: RSA(aes key), conn_info: AES-128-ECB(info)}. */
function encryptConnectionInfo(info, publicKey) {
  const aesKey = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-128-ecb', aesKey, null); // PKCS#7 padding, as the gateway unpads
  const connInfo = Buffer.concat([cipher.update(JSON.stringify(info), 'utf8'), cipher.final()]);
  const key = crypto.createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
  const encryptedKey = crypto.publicEncrypt({ key, padding: crypto.constants.RSA_PKCS1_PADDING }, aesKey);
  const payload = { version: LAUNCHER_VERSION, key: encryptedKey.toString('base64'), conn_info: connInfo.toString('base64') };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64');
}

function send(host, port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.end(text, 'utf8'));
    socket.setTimeout(30_000, () => socket.destroy(new Error('the gateway did not take the connection information within 30 s')));
    socket.once('error', reject);
    socket.once('close', (hadError) => (hadError ? undefined : resolve()));
  });
}

async function main() {
  const config = settings(process.argv.slice(2), process.env);
  const launcher = path.join(projectRoot, 'kernels', config.kernel, 'launch.cjs');
  if (!fs.existsSync(launcher)) fail(`no hanlab checkout here: ${launcher} does not exist`);
  // Before the gateway learns the communication port: its first poll must find the list ready.
  const trusted = await trustedHosts(config.response.host, process.env.HANLAB_GATEWAY_TRUSTED_HOSTS);

  // The five kernel ports: bound together (so they differ) and released for the kernel to bind.
  const holders = [];
  for (let i = 0; i < 5; i++) holders.push(await listenInRange(config.lower, config.upper));
  const [shell, iopub, stdin, hb, control] = holders.map((server) => server.address().port);
  await Promise.all(holders.map((server) => new Promise((resolve) => server.close(resolve))));
  const comm = await listenInRange(config.lower, config.upper);

  // The signing key is a secret: a private folder, a file only we can read, removed on exit.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hanlab-gateway-'));
  const connectionFile = path.join(dir, `kernel-${config.kernelId}.json`);
  const connection = {
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    hb_port: hb,
    control_port: control,
    ip: '0.0.0.0',
    key: crypto.randomUUID(),
    transport: 'tcp',
    signature_scheme: 'hmac-sha256',
    kernel_name: config.kernel,
  };
  fs.writeFileSync(connectionFile, JSON.stringify(connection, null, 1), { mode: 0o600 });
  const cleanUp = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanUp);

  const info = { ...connection, pid: process.pid, pgid: processGroup(), comm_port: comm.address().port, kernel_id: config.kernelId };
  await send(config.response.host, config.response.port, encryptConnectionInfo(info, config.publicKey));
  log(`kernel ${config.kernelId}: ${config.kernel}, ports ${[shell, iopub, stdin, hb, control].join(',')}, communication port ${info.comm_port}`);

  // The kernel: the project's own launcher (tslab from the project root). It exits by itself if we die.
  const kernel = spawn(process.execPath, [launcher, connectionFile], { stdio: 'inherit', env: { ...process.env, HANLAB_EXIT_WITH_PARENT: '1' } });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    comm.close();
    if (kernel.exitCode === null && kernel.signalCode === null) {
      kernel.kill('SIGTERM');
      setTimeout(() => kernel.kill('SIGKILL'), 5_000).unref();
    }
  };
  kernel.once('exit', (code, signal) => {
    comm.close();
    log(`kernel ${config.kernelId} exited (${signal || code})`);
    // Stopped as the gateway asked (its SIGTERM may come before the kernel's own handler is in place): a clean end.
    process.exit(stopping ? 0 : code ?? 0);
  });
  kernel.once('error', (error) => fail(`cannot start the kernel: ${error.message}`));

  // The gateway's requests: {"signum": n} (0 is its liveness poll) and {"shutdown": 1}.
  comm.maxConnections = 8;
  comm.on('connection', (socket) => {
    socket.on('error', () => undefined);
    const peer = normalizeAddress(socket.remoteAddress);
    if (trusted !== '*' && !trusted.has(peer)) {
      log(`refused a request from ${peer}: only the gateway's host (${[...trusted].join(', ')}) may send them (HANLAB_GATEWAY_TRUSTED_HOSTS adds hosts)`);
      socket.destroy();
      return;
    }
    readRequest(socket, (request) => {
      if (request.signum !== undefined) {
        const signum = request.signum;
        if (!Number.isInteger(signum) || signum < 0 || signum > 64) {
          log(`ignored a request from ${peer} with signum ${JSON.stringify(signum).slice(0, 40)}: not a signal number`);
          return;
        }
        if (signum > 0 && kernel.exitCode === null) {
          try {
            kernel.kill(signum);
          } catch (error) {
            log(`signal ${signum}: ${error.message}`);
          }
        }
      }
      if (request.shutdown) stop();
    }, (problem) => log(`closed a request from ${peer}: ${problem}`));
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal === 'SIGINT') kernel.kill('SIGINT'); // an interrupt is the kernel's
      else stop();
    });
  }
}

/**
 * Reads one JSON object from `socket`, at most MAX_REQUEST_BYTES within REQUEST_TIMEOUT_MS; the
 * gateway closes its side after sending, or may keep it open, so the object is taken as soon as it is
 * whole. Calls `onRequest` once with it, or `onProblem` with why the connection was closed instead.
 */
function readRequest(socket, onRequest, onProblem) {
  const chunks = [];
  let bytes = 0;
  let done = false;
  const finish = (request, problem) => {
    if (done) return;
    done = true;
    socket.setTimeout(0);
    if (problem) {
      onProblem(problem);
      socket.destroy();
      return;
    }
    socket.end();
    onRequest(request);
  };
  const tryParse = (final) => {
    const text = Buffer.concat(chunks).toString('utf8').trim();
    if (!final && !text.endsWith('}')) return;
    let request;
    try {
      request = JSON.parse(text);
    } catch {
      if (final) finish(undefined, text ? 'not a JSON request' : 'no request');
      return;
    }
    if (request === null || typeof request !== 'object' || Array.isArray(request)) finish(undefined, 'not a JSON object');
    else finish(request);
  };
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => finish(undefined, `no whole request within ${REQUEST_TIMEOUT_MS / 1000} s`));
  socket.on('data', (chunk) => {
    if (done) return;
    bytes += chunk.length;
    if (bytes > MAX_REQUEST_BYTES) {
      finish(undefined, `more than ${MAX_REQUEST_BYTES} bytes`);
      return;
    }
    chunks.push(chunk);
    tryParse(false);
  });
  socket.on('end', () => tryParse(true));
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) as `10.0.0.1`. */
function normalizeAddress(address) {
  return String(address || '').replace(/^::ffff:/, '');
}

/**
 * The hosts whose requests are carried out: the gateway's (the response address, its name resolved)
 * and those HANLAB_GATEWAY_TRUSTED_HOSTS lists; '*' there trusts any host.
 */
async function trustedHosts(responseHost, extra) {
  const names = [responseHost, ...String(extra || '').split(',').map((name) => name.trim()).filter(Boolean)];
  if (names.includes('*')) return '*';
  const hosts = new Set();
  for (const name of names) {
    if (net.isIP(name)) {
      hosts.add(normalizeAddress(name));
      continue;
    }
    try {
      for (const { address } of await dns.promises.lookup(name, { all: true })) hosts.add(normalizeAddress(address));
    } catch (error) {
      log(`cannot resolve trusted host "${name}": ${error.code || error.message}`);
    }
  }
  return hosts;
}

main().catch((error) => fail(error.message));
