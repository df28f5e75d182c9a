/**
 * `hanlab kernels install|list`: put the hanlab kernelspecs where Jupyter finds them, and show what
 * each would run on. A thin shell over lib/jupyter/kernelspec and lib/backend/probe.
 */
import path from 'node:path';
import { expectedBackend, gpuProblem, probeBackends, webGpuProblem, webGpuSetupProblem, type BackendProbe } from '../../lib/backend/probe.js';
import { adapterName, findWebGpuAdapter, softwareGpuAllowed, type WebGpuAdapter } from '../../lib/backend/webgpu.js';
import { KERNEL_NAMES, findInstalledKernelSpecs, installKernelSpecs, readKernelSpec } from '../../lib/jupyter/kernelspec.js';
import { PLACEMENTS, PROCESS_PROXIES, installGatewayKernelSpecs, type Placement } from '../../lib/jupyter/remote-gateway.js';
import { parseCommandLine, parseIntegerOption, parseList, usageError } from '../options.js';

const USAGE = `Usage: hanlab kernels install [--user | --prefix DIR]
       hanlab kernels install --gateway-dir DIR --placement distributed|kubernetes|yarn [options]
       hanlab kernels list [--prefix DIR] [--json]

install   writes the kernelspecs ${KERNEL_NAMES.join(' and ')} (kernel.json with absolute paths to this
          checkout's launchers) into Jupyter's kernel folder:
            --user         ~/.local/share/jupyter/kernels (or $JUPYTER_DATA_DIR/kernels); the default
            --prefix DIR   DIR/share/jupyter/kernels (for JUPYTER_PATH=DIR/share/jupyter, CI, venvs)
install --gateway-dir DIR   writes hanlab and hanlab-gpu kernelspecs for Jupyter Enterprise Gateway
          (its kernels folder, e.g. /usr/local/share/jupyter/kernels on the gateway host), which
          starts each kernel on another host through kernels/gateway/launch.cjs:
            --placement P      distributed (SSH to hosts), kubernetes (a pod) or yarn (a container)
            --node-root PATH   the hanlab checkout on the nodes / in the image (default: this one)
            --node PATH        Node.js on the nodes (default: node)
            --hosts H1,H2      distributed: hosts for hanlab (default: the gateway's remote hosts)
            --gpu-hosts H1,H2  distributed: the GPU hosts hanlab-gpu runs on
            --image NAME       kubernetes: the kernel image (default hanlab-kernel:latest)
            --gpus N           kubernetes, yarn: GPUs per hanlab-gpu kernel (default 1)
            --queue Q, --gpu-queue Q   yarn: queues for hanlab and hanlab-gpu
list      shows each kernel, where it is installed, and the TensorFlow.js backend it would use (asks
          Dawn for the WebGPU adapter where the Vulkan loader and a driver ICD are there)
            --prefix DIR   also look in DIR/share/jupyter/kernels
            --json         one JSON object
  -h, --help  show this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, USAGE, {
    user: { type: 'boolean', default: false },
    prefix: { type: 'string' },
    json: { type: 'boolean', default: false },
    'gateway-dir': { type: 'string' },
    placement: { type: 'string' },
    'node-root': { type: 'string' },
    node: { type: 'string' },
    hosts: { type: 'string' },
    'gpu-hosts': { type: 'string' },
    image: { type: 'string' },
    gpus: { type: 'string' },
    queue: { type: 'string' },
    'gpu-queue': { type: 'string' },
  });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const [action, ...rest] = positionals;
  if (rest.length) throw usageError(`unexpected arguments: ${rest.join(' ')}`, USAGE);
  const root = process.cwd();
  switch (action) {
    case 'install': {
      if (values['gateway-dir'] !== undefined) return installForGateway(values);
      const gatewayOnly = (['placement', 'node-root', 'node', 'hosts', 'gpu-hosts', 'image', 'gpus', 'queue', 'gpu-queue'] as const).filter((name) => values[name] !== undefined);
      if (gatewayOnly.length) throw usageError(`--${gatewayOnly[0]} goes with --gateway-dir`, USAGE);
      if (values.user && values.prefix !== undefined) throw usageError('give --user or --prefix, not both', USAGE);
      const installed = installKernelSpecs(values.prefix !== undefined ? { prefix: values.prefix } : { user: true }, root);
      for (const kernel of installed) console.log(`installed ${kernel.name} -> ${kernel.dir}`);
      if (values.prefix !== undefined) console.log(`Jupyter finds them with JUPYTER_PATH=${values.prefix}/share/jupyter`);
      return 0;
    }
    case 'list': {
      const { probes, adapter } = await probeWithAdapter(root);
      const installed = findInstalledKernelSpecs(values.prefix !== undefined ? [values.prefix] : []);
      const kernels = KERNEL_NAMES.map((name) => {
        const spec = readKernelSpec(name, root);
        const places = installed.filter((found) => found.name === name).map((found) => found.resourceDir);
        return { name, displayName: spec.display_name, template: spec.resourceDir, installed: places, backend: kernelBackend(name, probes) };
      });
      if (values.json) {
        console.log(JSON.stringify({ kernels, backends: probes, webgpuAdapter: adapter }, null, 2));
        return 0;
      }
      for (const kernel of kernels) {
        console.log(`${kernel.name}  (${kernel.displayName})`);
        console.log(`  backend:   ${kernel.backend.backend}${kernel.backend.note ? ` — ${kernel.backend.note}` : ''}`);
        console.log(`  installed: ${kernel.installed.length ? kernel.installed.join(', ') : 'no (run `hanlab kernels install`)'}`);
      }
      console.log('\nTensorFlow.js backends on this machine (preference order):');
      for (const probe of probes) console.log(`  ${probe.available ? 'yes' : 'no '}  ${probe.backend}${probe.reason ? `: ${probe.reason}` : ''}`);
      if (adapter) console.log(`\nWebGPU adapter (Dawn): ${adapterName(adapter)}${adapter.software ? `: ${adapter.software}` : ''}`);
      return 0;
    }
    default:
      throw usageError(`${action === undefined ? 'missing action' : `unknown action "${action}"`}: use install or list`, USAGE);
  }
}

function installForGateway(values: {
  'gateway-dir'?: string;
  user?: boolean;
  prefix?: string;
  placement?: string;
  'node-root'?: string;
  node?: string;
  hosts?: string;
  'gpu-hosts'?: string;
  image?: string;
  gpus?: string;
  queue?: string;
  'gpu-queue'?: string;
}): number {
  if (values.user || values.prefix !== undefined) throw usageError('--gateway-dir replaces --user and --prefix', USAGE);
  const placement = values.placement;
  if (placement === undefined) throw usageError(`--gateway-dir needs --placement (${PLACEMENTS.join(', ')})`, USAGE);
  if (!(PLACEMENTS as readonly string[]).includes(placement)) throw usageError(`--placement must be one of ${PLACEMENTS.join(', ')}, not "${placement}"`, USAGE);
  const installed = installGatewayKernelSpecs(values['gateway-dir']!, {
    placement: placement as Placement,
    nodeRoot: values['node-root'] ?? process.cwd(),
    node: values.node,
    hosts: values.hosts === undefined ? undefined : parseList(values.hosts, '--hosts'),
    gpuHosts: values['gpu-hosts'] === undefined ? undefined : parseList(values['gpu-hosts'], '--gpu-hosts'),
    image: values.image,
    gpus: parseIntegerOption(values.gpus, '--gpus', 1, { min: 1 }),
    queue: values.queue,
    gpuQueue: values['gpu-queue'],
  });
  for (const spec of installed) console.log(`installed ${spec.name} -> ${spec.dir} (${PROCESS_PROXIES[placement as Placement]})`);
  const missing = installed.flatMap((spec) => spec.missing.map((file) => path.join(spec.dir, file)));
  if (missing.length) {
    console.log("Copy Enterprise Gateway's launch_kubernetes.py and kernel-pod.yaml.j2 (from its kernelspecs release, e.g. python_kubernetes/scripts/) to:");
    for (const file of missing) console.log(`  ${file}`);
  }
  return 0;
}

/**
 * The quick probes, with the webgpu line settled by asking Dawn for its adapter where the Vulkan loader
 * and an ICD are there (the GPU kernel asks too, whatever the device nodes say).
 */
async function probeWithAdapter(root: string): Promise<{ probes: BackendProbe[]; adapter?: WebGpuAdapter }> {
  const probes = probeBackends(root);
  const webgpu = probes.find((probe) => probe.backend === 'webgpu')!;
  if (webGpuSetupProblem(root)) return { probes };
  const lookup = await findWebGpuAdapter();
  if (lookup.kind === 'none') {
    Object.assign(webgpu, { available: false, reason: webGpuProblem(root) ?? lookup.reason });
    return { probes };
  }
  const adapter = lookup.adapter;
  if (adapter.software && !softwareGpuAllowed()) {
    Object.assign(webgpu, { available: false, reason: `only a software adapter was found (${adapterName(adapter)}); HANLAB_ALLOW_SOFTWARE_GPU=1 takes it (tests and CI)` });
  } else {
    webgpu.available = true;
    delete webgpu.reason;
  }
  return { probes, adapter };
}

function kernelBackend(name: string, probes: BackendProbe[]): { backend: string; note?: string } {
  const fallback = process.env.HANLAB_ALLOW_CPU_FALLBACK === '1';
  if (name === 'hanlab-gpu') {
    const gpus = probes.filter((probe) => probe.backend === 'webgpu' || probe.backend === 'tensorflow-gpu');
    const usable = gpus.find((probe) => probe.available);
    if (usable) return { backend: usable.backend };
    const reasons = gpus.map((probe) => `${probe.backend}: ${probe.reason}`).join('; ');
    if (fallback) return { backend: expectedBackend(probes), note: `GPU unavailable, HANLAB_ALLOW_CPU_FALLBACK=1: ${reasons}` };
    return { backend: 'none', note: `will refuse to run cells: ${reasons} (HANLAB_ALLOW_CPU_FALLBACK=1 runs it on the CPU)` };
  }
  const override = process.env.HANLAB_BACKEND;
  if (override) return { backend: override, note: 'HANLAB_BACKEND' };
  return { backend: expectedBackend(probes) };
}
