/**
 * Where a run came from: installed package versions, the git commit and the hashes of the input files,
 * recorded in every executed notebook so a report can say exactly what produced it.
 *
 * Also loaded inside a remote kernel (remote-kernel.ts runs it there), so it stays plain: Node
 * built-ins only, and code tslab's older compiler accepts.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

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

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** SHA-256 of one input: a file's bytes, or for a folder its files' relative paths and contents. */
function hashInput(full: string): string {
  if (!statSync(full).isDirectory()) return sha256(readFileSync(full));
  const hash = createHash('sha256');
  for (const file of listFiles(full)) hash.update(`${path.relative(full, file)}\0${sha256(readFileSync(file))}\n`);
  return hash.digest('hex');
}

/**
 * SHA-256 of each declared input (a folder hashes its files' relative paths and contents). Missing
 * inputs are an error naming the notebook and the field: a report must not claim inputs it lacks.
 */
export function hashInputs(inputs: readonly string[], root: string, notebookFile?: string): Record<string, string> {
  const hashes: Record<string, string> = Object.create(null);
  inputs.forEach((input, index) => {
    const full = path.resolve(root, input);
    if (!existsSync(full)) {
      throw new InputError(`declared input "${input}" does not exist (looked for ${full})`, { file: notebookFile, field: `metadata.hanlab.report.inputs[${index}]` });
    }
    hashes[input] = hashInput(full);
  });
  return hashes;
}

/** `hashInputs` that lists missing inputs instead of throwing (for comparing another machine's tree). */
export function hashExistingInputs(inputs: readonly string[], root: string): { hashes: Record<string, string>; missing: string[] } {
  const hashes: Record<string, string> = Object.create(null);
  const missing: string[] = [];
  for (const input of inputs) {
    const full = path.resolve(root, input);
    if (existsSync(full)) hashes[input] = hashInput(full);
    else missing.push(input);
  }
  return { hashes, missing };
}

/**
 * What produced a run, by content: SHA-256 of the notebook's bytes, of every file under `lib/`
 * (relative paths and contents), and of the declared inputs' hashes, plus one hash over all three.
 * Unlike a commit it identifies a dirty tree too, and it does not change when only unrelated files
 * (other notebooks, tests, the reports themselves) do. The templates that render the run are stamped
 * by the report itself (lib/report/render.ts).
 */
export interface ContentStamp {
  /** One hash over the parts below. */
  combined: string;
  notebook: string;
  lib?: string;
  /** Over the declared inputs' hashes (`inputHashes`), sorted by path. */
  data?: string;
}

export function contentStamp(notebookFile: string, root: string, inputHashes: Record<string, string>): ContentStamp {
  const notebook = sha256(readFileSync(notebookFile));
  const folder = (name: string) => {
    const full = path.join(root, name);
    return existsSync(full) && statSync(full).isDirectory() ? hashInput(full) : undefined;
  };
  const lib = folder('lib');
  const inputs = Object.keys(inputHashes).sort();
  const data = inputs.length ? sha256(inputs.map((input) => `${input}\0${inputHashes[input]}\n`).join('')) : undefined;
  const combined = sha256(`notebook ${notebook}\nlib ${lib ?? '-'}\ndata ${data ?? '-'}\n`);
  return { combined, notebook, ...(lib ? { lib } : {}), ...(data ? { data } : {}) };
}
