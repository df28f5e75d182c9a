/**
 * Finds lm-eval tasks by name, as lm-eval's TaskManager does: every `*.yaml` file under the task
 * folders (hanlab's shipped `data/lm-eval/` first, then `--include-path` folders) that names a
 * `task` or a `group`; files such as `_template_yaml` are reached only through `include`. A name that
 * ends in `.yaml` is read as a file.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, UsageError } from '../../errors.js';
import { loadTaskYaml, parseGroupConfig, parseTaskConfig, readYamlFile, type LmevalGroupConfig, type LmevalTaskConfig } from './task-config.js';

/**
 * The task files shipped with hanlab (lm-eval's KorMedMCQA, version 3.0): `data/lm-eval` of the
 * checkout this module runs from, found by walking up (the module runs from lib/ or from dist/lib/).
 */
export function shippedTasksDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'data', 'lm-eval');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new InputError('cannot find the shipped task files (data/lm-eval) above this module', { file: fileURLToPath(import.meta.url) });
    dir = parent;
  }
}

export interface TaskIndex {
  tasks: Map<string, string>;
  groups: Map<string, string>;
}

function yamlFiles(dir: string, depth = 6): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) found.push(...yamlFiles(full, depth - 1));
    else if (entry.isFile() && entry.name.endsWith('.yaml')) found.push(full);
  }
  return found;
}

/** Indexes the task folders; the first folder to name a task wins. */
export function indexTasks(dirs: readonly string[]): TaskIndex {
  const index: TaskIndex = { tasks: new Map(), groups: new Map() };
  for (const dir of dirs) {
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    } catch (error) {
      throw new InputError(`cannot read the task folder: ${(error as Error).message}`, { file: dir });
    }
    for (const file of yamlFiles(dir)) {
      const own = readYamlFile(file);
      if (typeof own.group === 'string' && !index.groups.has(own.group)) index.groups.set(own.group, file);
      else if (typeof own.task === 'string' && !index.tasks.has(own.task)) index.tasks.set(own.task, file);
    }
  }
  return index;
}

/** Resolves `--tasks` names (or YAML files) to parsed task configs, in the order given. */
export function resolveTasks(names: readonly string[], index: TaskIndex): LmevalTaskConfig[] {
  const resolved: LmevalTaskConfig[] = [];
  for (const name of names) {
    let file: string | undefined;
    if (name.endsWith('.yaml')) file = name;
    else file = index.tasks.get(name);
    if (file === undefined) {
      const groupFile = index.groups.get(name);
      if (groupFile !== undefined) {
        const group: LmevalGroupConfig = parseGroupConfig(readYamlFile(groupFile), groupFile);
        throw new UsageError(`${name} is a group (${group.tasks.join(', ')}): name its tasks; hanlab does not compute group scores`);
      }
      const known = [...index.tasks.keys()].sort();
      throw new UsageError(`unknown task ${JSON.stringify(name)}; known tasks: ${known.join(', ') || '(none)'} (add folders with --include-path)`);
    }
    const task = parseTaskConfig(loadTaskYaml(file), file);
    if (resolved.some((other) => other.task === task.task)) throw new UsageError(`task ${task.task} is named twice`);
    resolved.push(task);
  }
  return resolved;
}
