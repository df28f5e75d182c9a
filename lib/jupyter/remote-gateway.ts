/**
 * Kernelspecs for Jupyter Enterprise Gateway, which starts each kernel on another host: over SSH on
 * one of a list of hosts (DistributedProcessProxy), in a Kubernetes pod (KubernetesProcessProxy) or in
 * a YARN container (YarnClusterProcessProxy). `hanlab kernels install --gateway-dir DIR --placement P`
 * writes `hanlab` and `hanlab-gpu` for one placement; Enterprise Gateway reads DIR as its kernels
 * folder. Every placement starts the kernel through `kernels/gateway/launch.cjs` in a hanlab checkout
 * on the node (`nodeRoot`), which speaks the gateway's launcher protocol.
 *
 * How `hanlab-gpu` lands on GPU nodes: distributed, its spec lists the GPU hosts (`remote_hosts`);
 * Kubernetes, its pod requests `nvidia.com/gpu` (KERNEL_GPUS, which the gateway's pod template turns
 * into a resource request); YARN, its container asks for `yarn.io/gpu` in a node-label queue.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { KERNEL_NAMES, readKernelSpec, type KernelName } from './kernelspec.js';

export const PLACEMENTS = ['distributed', 'kubernetes', 'yarn'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const PROCESS_PROXIES: Record<Placement, string> = {
  distributed: 'enterprise_gateway.services.processproxies.distributed.DistributedProcessProxy',
  kubernetes: 'enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy',
  yarn: 'enterprise_gateway.services.processproxies.yarn.YarnClusterProcessProxy',
};

/** What Enterprise Gateway substitutes into argv (with jupyter_client's {resource_dir}). */
const GATEWAY_ARGS = [
  '--RemoteProcessProxy.kernel-id',
  '{kernel_id}',
  '--RemoteProcessProxy.response-address',
  '{response_address}',
  '--RemoteProcessProxy.public-key',
  '{public_key}',
  '--RemoteProcessProxy.port-range',
  '{port_range}',
];

export interface GatewayOptions {
  placement: Placement;
  /** The hanlab checkout on every node (and inside the kernel image), with node_modules installed. */
  nodeRoot: string;
  /** The Node.js binary on the nodes (default `node`, found on PATH). */
  node?: string;
  /** Distributed: hosts for the CPU kernel (default: the gateway's own --remote-hosts). */
  hosts?: string[];
  /** Distributed: the GPU hosts `hanlab-gpu` runs on. */
  gpuHosts?: string[];
  /** Kubernetes: the kernel image (a hanlab checkout at nodeRoot, its CMD the launcher). */
  image?: string;
  /** GPUs per hanlab-gpu kernel (Kubernetes, YARN); default 1. */
  gpus?: number;
  /** YARN: the queue (for hanlab-gpu, one whose node label has GPUs). */
  queue?: string;
  gpuQueue?: string;
}

export interface GatewayKernelSpec {
  name: KernelName;
  /** Files relative to the spec folder; `mode` for the executable ones. */
  files: Array<{ path: string; content: string; mode?: number }>;
}

function kernelJson(name: KernelName, options: GatewayOptions): Record<string, unknown> {
  const local = readKernelSpec(name, process.cwd());
  const gpu = name === 'hanlab-gpu';
  const launcher = path.posix.join(options.nodeRoot, 'kernels', 'gateway', 'launch.cjs');
  const node = options.node ?? 'node';
  const gpus = String(options.gpus ?? 1);
  const processProxy: Record<string, unknown> = { class_name: PROCESS_PROXIES[options.placement] };
  const env: Record<string, string> = { ...(local.env ?? {}), HANLAB_KERNEL: name, HANLAB_PROJECT_ROOT: options.nodeRoot };
  let argv: string[];
  switch (options.placement) {
    case 'distributed': {
      const hosts = gpu ? options.gpuHosts : options.hosts;
      if (hosts?.length) processProxy.config = { remote_hosts: hosts.join(',') };
      argv = [node, launcher, '--kernel', name, ...GATEWAY_ARGS];
      break;
    }
    case 'kubernetes':
      // The gateway's launch_kubernetes.py (beside this spec, from its kernelspecs release) renders its
      // pod template: KERNEL_* variables become template values (KERNEL_GPUS -> nvidia.com/gpu), and
      // every variable of this spec's env reaches the pod.
      processProxy.config = { image_name: options.image ?? 'hanlab-kernel:latest' };
      if (gpu) Object.assign(env, { KERNEL_GPUS: gpus, KERNEL_GPUS_LIMIT: gpus });
      argv = ['python3', '{resource_dir}/scripts/launch_kubernetes.py', ...GATEWAY_ARGS];
      break;
    case 'yarn':
      Object.assign(env, { HANLAB_NODE: node, HANLAB_LAUNCHER: launcher, HANLAB_YARN_QUEUE: (gpu ? options.gpuQueue : options.queue) ?? 'default', HANLAB_YARN_GPUS: gpu ? gpus : '0' });
      argv = ['{resource_dir}/bin/run.sh', ...GATEWAY_ARGS];
      break;
  }
  return {
    display_name: `${local.display_name} — Enterprise Gateway (${options.placement})`,
    language: local.language,
    interrupt_mode: 'signal',
    env,
    metadata: { process_proxy: processProxy, hanlab: { ...(local.metadata?.hanlab as object | undefined), placement: options.placement, projectRoot: options.nodeRoot } },
    argv,
  };
}

/**
 * YARN: the gateway finds the kernel's application by its name (the kernel id) in the resource
 * manager. Skein submits any command as a YARN application, so the launcher runs in a container.
 */
function yarnRunScript(): string {
  return `#!/usr/bin/env bash
# Submits the hanlab kernel launcher as a YARN application named after the kernel id (Enterprise
# Gateway's YarnClusterProcessProxy finds it by that name). Needs skein (pip install skein) where
# the gateway runs, and a hanlab checkout at HANLAB_PROJECT_ROOT on every NodeManager host.
set -euo pipefail
kernel_id=""
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  case "\${args[i]}" in
    --RemoteProcessProxy.kernel-id|--kernel-id) kernel_id="\${args[i+1]}" ;;
  esac
done
if [ -z "$kernel_id" ]; then echo "run.sh: missing --RemoteProcessProxy.kernel-id" >&2; exit 1; fi
quoted=$(printf ' %q' "\${HANLAB_NODE}" "\${HANLAB_LAUNCHER}" --kernel "\${HANLAB_KERNEL}" "$@")
spec=$(mktemp)
trap 'rm -f "$spec"' EXIT
gpu_resources=""
if [ "\${HANLAB_YARN_GPUS:-0}" != "0" ]; then gpu_resources="      gpus: \${HANLAB_YARN_GPUS}"; fi
cat > "$spec" <<SPEC
name: $kernel_id
queue: \${HANLAB_YARN_QUEUE:-default}
services:
  kernel:
    resources:
      memory: \${HANLAB_YARN_MEMORY:-4 GiB}
      vcores: \${HANLAB_YARN_VCORES:-2}
$gpu_resources
    env:
      HANLAB_PROJECT_ROOT: \${HANLAB_PROJECT_ROOT}
    script: |
      exec$quoted
SPEC
exec skein application submit "$spec"
`;
}

/** The kernelspecs for one placement: folder name and files. */
export function gatewayKernelSpecs(options: GatewayOptions): GatewayKernelSpec[] {
  if (!PLACEMENTS.includes(options.placement)) throw new UsageError(`--placement must be one of ${PLACEMENTS.join(', ')}, not "${options.placement}"`);
  if (!path.posix.isAbsolute(options.nodeRoot)) throw new UsageError(`--node-root must be an absolute path on the nodes, not "${options.nodeRoot}"`);
  return KERNEL_NAMES.map((name) => {
    const files: GatewayKernelSpec['files'] = [{ path: 'kernel.json', content: JSON.stringify(kernelJson(name, options), null, 1) + '\n' }];
    if (options.placement === 'yarn') files.push({ path: path.join('bin', 'run.sh'), content: yarnRunScript(), mode: 0o755 });
    return { name, files };
  });
}

export interface InstalledGatewaySpec {
  name: KernelName;
  dir: string;
  /** Files the operator still has to add (the gateway's own launch_kubernetes.py and pod template). */
  missing: string[];
}

/** Writes the specs into `gatewayDir/<name>/`. */
export function installGatewayKernelSpecs(gatewayDir: string, options: GatewayOptions): InstalledGatewaySpec[] {
  return gatewayKernelSpecs(options).map((spec) => {
    const dir = path.resolve(gatewayDir, spec.name);
    for (const file of spec.files) {
      const target = path.join(dir, file.path);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, file.content, 'utf8');
      if (file.mode !== undefined) chmodSync(target, file.mode);
    }
    const missing =
      options.placement === 'kubernetes'
        ? ['scripts/launch_kubernetes.py', 'scripts/kernel-pod.yaml.j2'].filter((file) => !existsSync(path.join(dir, file)))
        : [];
    return { name: spec.name, dir, missing };
  });
}
