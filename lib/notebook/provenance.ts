/**
 * Where a run came from: installed package versions and the git commit, recorded in every executed
 * notebook so a report can say exactly what produced it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Installed versions of the project's direct dependencies (name -> version), plus the runtime. */
export function packageVersions(root: string = process.cwd()): Record<string, string> {
  const versions = Object.create(null) as Record<string, string>;
  versions.node = process.version;
  let manifest: { name?: string; version?: string; dependencies?: object; devDependencies?: object; optionalDependencies?: object };
  try {
    manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  } catch {
    return versions;
  }
  if (manifest.name && manifest.version) versions[manifest.name] = manifest.version;
  const names = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {}), 'zeromq']);
  for (const name of [...names].sort()) {
    try {
      const installed = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { name?: string; version?: string };
      // npm aliases (package.json "overrides") install another package under this name: say which.
      versions[name] = installed.name && installed.name !== name ? `${installed.name}@${installed.version}` : String(installed.version);
    } catch {
      // Not installed (an optional dependency that did not install): absent from the record.
    }
  }
  return versions;
}

export interface GitState {
  commit: string;
  /** True when tracked files differ from the commit. */
  dirty: boolean;
}

/** The checkout's commit, or undefined outside a git repository or without git. */
export async function gitState(root: string = process.cwd()): Promise<GitState | undefined> {
  const git = (args: string[]) =>
    new Promise<string | undefined>((resolve) => {
      execFile('git', args, { cwd: root, timeout: 5000, encoding: 'utf8' }, (error, stdout) => resolve(error ? undefined : stdout.trim()));
    });
  const [commit, status] = await Promise.all([git(['rev-parse', 'HEAD']), git(['status', '--porcelain', '--untracked-files=no'])]);
  if (!commit) return undefined;
  return { commit, dirty: Boolean(status) };
}
