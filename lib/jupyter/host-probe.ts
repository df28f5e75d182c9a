/**
 * What a remote kernel reports about its machine and working tree after a notebook's cells: the
 * device manifest, package versions, the git commit and the hashes of the notebook's declared inputs.
 * It runs inside the kernel (remote-kernel.ts sends a one-line cell that imports this module from the
 * server's checkout), so it is ordinary TypeScript, checked by the compiler like the rest of lib/.
 */
import { expectedBackend, probeBackends } from '../backend/probe.js';
import type { KernelHostManifest } from './kernel-connection.js';
import { gitState, hashExistingInputs, packageVersions } from './provenance.js';

/** The marker the host probe prints before its JSON (a line no notebook prints by accident). */
export const HOST_MARKER = 'hanlab:kernel-host-manifest:';

/** The manifest of the machine and working tree this process runs in (`root`: the checkout). */
export async function describeHost(inputs: readonly string[], root: string = process.cwd()): Promise<KernelHostManifest> {
  const backends = probeBackends(root);
  const files = hashExistingInputs(inputs, root);
  return {
    device: { expectedBackend: expectedBackend(backends), backends: backends },
    packages: packageVersions(root),
    git: await gitState(root),
    platform: { os: process.platform, arch: process.arch, node: process.version },
    inputHashes: files.hashes,
    missingInputs: files.missing,
    root: root,
  };
}

/** Prints the manifest on one line after HOST_MARKER, where the client reads it from the cell's stdout. */
export async function printHostManifest(inputs: readonly string[]): Promise<void> {
  console.log(HOST_MARKER + JSON.stringify(await describeHost(inputs)));
}

/**
 * The cell the client sends: a block with a dynamic import, so that no name of the notebook is
 * shadowed or redeclared. Kernels run in the project root, hence `./lib/...`.
 */
export function hostProbeCell(inputs: readonly string[]): string {
  return `{\n  const hostProbe = await import('./lib/jupyter/host-probe.js');\n  await hostProbe.printHostManifest(${JSON.stringify(inputs)});\n}\nvoid 0;`;
}
