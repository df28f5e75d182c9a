/** Test helper: the real Jupyter tools, where installed (Debian: jupyter-nbconvert, python3-nbformat). */
import { spawnSync } from 'node:child_process';

/** The `jupyter` command with nbconvert, or undefined. HANLAB_JUPYTER may name one. */
export function findJupyter(): string | undefined {
  for (const candidate of [process.env.HANLAB_JUPYTER, 'jupyter', '/usr/bin/jupyter']) {
    if (!candidate) continue;
    if (spawnSync(candidate, ['nbconvert', '--version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  return undefined;
}

let python: string | null | undefined;

/** A Python with nbformat (Debian's is /usr/bin/python3, not necessarily the first python3 on PATH). */
export function findNbformatPython(): string | undefined {
  if (python === undefined) {
    python = ['/usr/bin/python3', 'python3'].find((candidate) => spawnSync(candidate, ['-c', 'import nbformat'], { encoding: 'utf8' }).status === 0) ?? null;
  }
  return python ?? undefined;
}

/** nbformat's own schema check; returns the error text, '' when valid, undefined when nbformat is not installed. */
export function nbformatErrors(file: string): string | undefined {
  const interpreter = findNbformatPython();
  if (!interpreter) return undefined;
  const check = spawnSync(interpreter, ['-c', 'import sys, nbformat; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))', file], { encoding: 'utf8' });
  return check.status === 0 ? '' : check.stderr || `exit ${check.status}`;
}

/** Debian's Python with jupyter_client (jupyter_kernel_test's only runtime dependency besides jsonschema). */
export function findJupyterClientPython(): string | undefined {
  return ['/usr/bin/python3', 'python3'].find((candidate) => spawnSync(candidate, ['-c', 'import jupyter_client, jsonschema'], { encoding: 'utf8' }).status === 0);
}

/**
 * The environment for a Jupyter tool that must find kernels only in `prefix` (installed there by the
 * test) and keep its runtime and config files under `work`: nothing global is read or written.
 */
export function isolatedJupyterEnv(prefix: string, work: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    JUPYTER_PATH: `${prefix}/share/jupyter`,
    JUPYTER_DATA_DIR: `${work}/data`,
    JUPYTER_RUNTIME_DIR: `${work}/runtime`,
    JUPYTER_CONFIG_DIR: `${work}/config`,
    IPYTHONDIR: `${work}/ipython`,
    ...extra,
  };
}

/**
 * `skip` for a test that needs a tool: the reason when it is missing, unless `requiredBy` is set (CI
 * sets it, and the test must then fail on the missing tool instead).
 */
export function skipUnlessRequired(missing: string | undefined, requiredBy = 'HANLAB_REQUIRE_JUPYTER'): string | false {
  return missing && process.env[requiredBy] !== '1' ? `${missing} (CI sets ${requiredBy}=1)` : false;
}
