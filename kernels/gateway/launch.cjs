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

const LAUNCHER_VERSION = 1;
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
    process.exit(code ?? 0);
  });
  kernel.once('error', (error) => fail(`cannot start the kernel: ${error.message}`));

  // The gateway's requests: {"signum": n} (0 is its liveness poll) and {"shutdown": 1}.
  comm.on('connection', (socket) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
      // The gateway may keep the socket open after sending: act as soon as the JSON is whole.
      let request;
      try {
        request = JSON.parse(data);
      } catch {
        return;
      }
      data = '';
      socket.end();
      if (request.signum !== undefined && Number(request.signum) > 0 && kernel.exitCode === null) {
        try {
          kernel.kill(Number(request.signum));
        } catch (error) {
          log(`signal ${request.signum}: ${error.message}`);
        }
      }
      if (request.shutdown) stop();
    });
    socket.on('error', () => undefined);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal === 'SIGINT') kernel.kill('SIGINT'); // an interrupt is the kernel's
      else stop();
    });
  }
}

main().catch((error) => fail(error.message));
