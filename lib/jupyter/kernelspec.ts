/**
 * The hanlab kernelspecs: reading the templates in `kernels/<name>/kernel.json`, turning them into the
 * command line the runner starts, and installing them into Jupyter's kernel folders with absolute paths.
 *
 * The templates use Jupyter's `{resource_dir}` so `jupyter kernelspec install kernels/hanlab` also
 * works; `hanlab kernels install` writes specs that point at this checkout's launchers with absolute
 * paths and HANLAB_PROJECT_ROOT, so the kernel finds the project from any notebook folder.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KernelSpecError } from './errors.js';

export const KERNEL_NAMES = ['hanlab', 'hanlab-gpu'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export interface KernelSpec {
  name: string;
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: 'signal' | 'message';
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
  /** The folder holding kernel.json. */
  resourceDir: string;
}

export function isKernelName(name: string): name is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(name);
}

/** The kernelspec template shipped in `<root>/kernels/<name>/`. */
export function readKernelSpec(name: string, root: string = process.cwd()): KernelSpec {
  return readKernelSpecDir(path.join(root, 'kernels', name), name);
}

/** Reads any kernelspec folder (an installed one, or a template). */
export function readKernelSpecDir(dir: string, name: string = path.basename(dir)): KernelSpec {
  const file = path.join(dir, 'kernel.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KernelSpecError(
      code === 'ENOENT'
        ? `no kernelspec "${name}": ${file} does not exist (kernels are: ${KERNEL_NAMES.join(', ')})`
        : `${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const spec = raw as Partial<KernelSpec>;
  if (!Array.isArray(spec.argv) || spec.argv.length === 0 || !spec.argv.every((arg) => typeof arg === 'string')) {
    throw new KernelSpecError(`${file}: field "argv" must be a non-empty list of strings`);
  }
  if (!spec.argv.some((arg) => arg.includes('{connection_file}'))) {
    throw new KernelSpecError(`${file}: field "argv" must pass {connection_file} to the kernel`);
  }
  if (typeof spec.display_name !== 'string') throw new KernelSpecError(`${file}: field "display_name" must be a string`);
  return {
    name,
    argv: spec.argv,
    display_name: spec.display_name,
    language: typeof spec.language === 'string' ? spec.language : 'typescript',
    interrupt_mode: spec.interrupt_mode,
    env: spec.env ?? {},
    metadata: spec.metadata ?? {},
    resourceDir: dir,
  };
}

/** The command line for one kernel start: Jupyter's substitutions, and `node` as this very Node binary. */
export function kernelCommand(spec: KernelSpec, connectionFile: string): string[] {
  return spec.argv.map((arg, index) => {
    if (index === 0 && arg === 'node') return process.execPath;
    return arg.replaceAll('{connection_file}', connectionFile).replaceAll('{resource_dir}', spec.resourceDir);
  });
}

/** The kernel.json we install: absolute launcher path, this Node, and the project root. */
export function installableKernelJson(name: KernelName, root: string = process.cwd()): Record<string, unknown> {
  const absoluteRoot = path.resolve(root);
  const template = readKernelSpec(name, absoluteRoot);
  return {
    argv: kernelCommand(template, '{connection_file}'),
    display_name: template.display_name,
    language: template.language,
    interrupt_mode: template.interrupt_mode ?? 'signal',
    env: { ...template.env, HANLAB_PROJECT_ROOT: absoluteRoot },
    metadata: { ...template.metadata, hanlab: { ...(template.metadata?.hanlab as object | undefined), projectRoot: absoluteRoot } },
  };
}

/** Jupyter's per-user data folder (jupyter_core's rule on Linux: JUPYTER_DATA_DIR, XDG_DATA_HOME, ~/.local/share). */
export function userJupyterDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return path.resolve(process.env.JUPYTER_DATA_DIR);
  const xdg = process.env.XDG_DATA_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'share'), 'jupyter');
}

/** Where `install` writes: `<prefix>/share/jupyter/kernels`, or the user's kernels folder. */
export function kernelsInstallDir(target: { user?: boolean; prefix?: string }): string {
  if (target.prefix !== undefined) return path.join(path.resolve(target.prefix), 'share', 'jupyter', 'kernels');
  return path.join(userJupyterDataDir(), 'kernels');
}

export interface InstalledKernel {
  name: KernelName;
  dir: string;
}

/** Writes both kernelspecs (kernel.json with absolute paths) into Jupyter's kernel folder. */
export function installKernelSpecs(target: { user?: boolean; prefix?: string } = { user: true }, root: string = process.cwd()): InstalledKernel[] {
  const base = kernelsInstallDir(target);
  return KERNEL_NAMES.map((name) => {
    const dir = path.join(base, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(installableKernelJson(name, root), null, 1) + '\n', 'utf8');
    return { name, dir };
  });
}

/**
 * The folders Jupyter searches for kernelspecs, in its order (jupyter_core.paths.jupyter_path on Linux,
 * without asking Python): JUPYTER_PATH, the user folder, the environment prefixes, the system folders.
 */
export function jupyterKernelSearchDirs(extraPrefixes: string[] = []): string[] {
  const dataDirs = [
    ...(process.env.JUPYTER_PATH ?? '').split(path.delimiter).filter(Boolean),
    userJupyterDataDir(),
    ...extraPrefixes.map((prefix) => path.join(prefix, 'share', 'jupyter')),
    '/usr/local/share/jupyter',
    '/usr/share/jupyter',
  ];
  return [...new Set(dataDirs.map((dir) => path.join(path.resolve(dir), 'kernels')))];
}

/** Installed hanlab kernelspecs, wherever Jupyter would find them. */
export function findInstalledKernelSpecs(extraPrefixes: string[] = []): KernelSpec[] {
  const found: KernelSpec[] = [];
  for (const dir of jupyterKernelSearchDirs(extraPrefixes)) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) {
      if (!isKernelName(entry)) continue;
      try {
        found.push(readKernelSpecDir(path.join(dir, entry), entry));
      } catch {
        // A broken spec of ours is reported by `hanlab kernels list` as not installed; reinstalling fixes it.
      }
    }
  }
  return found;
}
