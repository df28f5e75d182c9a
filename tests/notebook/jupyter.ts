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
