/**
 * `hanlab kernels install|list`: put the hanlab kernelspecs where Jupyter finds them, and show what
 * each would run on. A thin shell over lib/notebook/kernelspec and lib/backend/probe.
 */
import { expectedBackend, probeBackends, type BackendProbe } from '../../lib/backend/probe.js';
import { KERNEL_NAMES, findInstalledKernelSpecs, installKernelSpecs, readKernelSpec } from '../../lib/notebook/kernelspec.js';
import { parseCommandLine, usageError } from '../options.js';

const USAGE = `Usage: hanlab kernels install [--user | --prefix DIR]
       hanlab kernels list [--prefix DIR] [--json]

install   writes the kernelspecs ${KERNEL_NAMES.join(' and ')} (kernel.json with absolute paths to this
          checkout's launchers) into Jupyter's kernel folder:
            --user         ~/.local/share/jupyter/kernels (or $JUPYTER_DATA_DIR/kernels); the default
            --prefix DIR   DIR/share/jupyter/kernels (for JUPYTER_PATH=DIR/share/jupyter, CI, venvs)
list      shows each kernel, where it is installed, and the TensorFlow.js backend it would use
            --prefix DIR   also look in DIR/share/jupyter/kernels
            --json         one JSON object
  -h, --help  show this help`;

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, USAGE, {
    user: { type: 'boolean', default: false },
    prefix: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const [action, ...rest] = positionals;
  if (rest.length) throw usageError(`unexpected arguments: ${rest.join(' ')}`, USAGE);
  const root = process.cwd();
  switch (action) {
    case 'install': {
      if (values.user && values.prefix !== undefined) throw usageError('give --user or --prefix, not both', USAGE);
      const installed = installKernelSpecs(values.prefix !== undefined ? { prefix: values.prefix } : { user: true }, root);
      for (const kernel of installed) console.log(`installed ${kernel.name} -> ${kernel.dir}`);
      if (values.prefix !== undefined) console.log(`Jupyter finds them with JUPYTER_PATH=${values.prefix}/share/jupyter`);
      return 0;
    }
    case 'list': {
      const probes = probeBackends(root);
      const installed = findInstalledKernelSpecs(values.prefix !== undefined ? [values.prefix] : []);
      const kernels = KERNEL_NAMES.map((name) => {
        const spec = readKernelSpec(name, root);
        const places = installed.filter((found) => found.name === name).map((found) => found.resourceDir);
        return { name, displayName: spec.display_name, template: spec.resourceDir, installed: places, backend: kernelBackend(name, probes) };
      });
      if (values.json) {
        console.log(JSON.stringify({ kernels, backends: probes }, null, 2));
        return 0;
      }
      for (const kernel of kernels) {
        console.log(`${kernel.name}  (${kernel.displayName})`);
        console.log(`  backend:   ${kernel.backend.backend}${kernel.backend.note ? ` — ${kernel.backend.note}` : ''}`);
        console.log(`  installed: ${kernel.installed.length ? kernel.installed.join(', ') : 'no (run `hanlab kernels install`)'}`);
      }
      console.log('\nTensorFlow.js backends on this machine (preference order):');
      for (const probe of probes) console.log(`  ${probe.available ? 'yes' : 'no '}  ${probe.backend}${probe.reason ? `: ${probe.reason}` : ''}`);
      return 0;
    }
    default:
      throw usageError(`${action === undefined ? 'missing action' : `unknown action "${action}"`}: use install or list`, USAGE);
  }
}

function kernelBackend(name: string, probes: BackendProbe[]): { backend: string; note?: string } {
  const fallback = process.env.HANLAB_ALLOW_CPU_FALLBACK === '1';
  if (name === 'hanlab-gpu') {
    const gpu = probes.find((probe) => probe.backend === 'tensorflow-gpu');
    if (gpu?.available) return { backend: 'tensorflow-gpu' };
    if (fallback) return { backend: expectedBackend(probes), note: `GPU unavailable, HANLAB_ALLOW_CPU_FALLBACK=1: ${gpu?.reason}` };
    return { backend: 'none', note: `will refuse to start: ${gpu?.reason}` };
  }
  const override = process.env.HANLAB_BACKEND;
  if (override) return { backend: override, note: 'HANLAB_BACKEND' };
  return { backend: expectedBackend(probes) };
}
