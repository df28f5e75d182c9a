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

export interface TaskSelection {
  /** Every task to run, in the order named (a group's tasks in the group's order, where the group is named). */
  tasks: LmevalTaskConfig[];
  /** The groups named, whose aggregate figures are computed from their tasks' (lm-eval's `groups`). */
  groups: LmevalGroupConfig[];
}

/**
 * Resolves `--tasks` names (task names, group names or YAML files) to parsed task configs, in the order
 * given; a group stands for its tasks, as in lm-eval (`--tasks kormedmcqa` runs the four subsets).
 */
export function resolveTasks(names: readonly string[], index: TaskIndex): TaskSelection {
  const selection: TaskSelection = { tasks: [], groups: [] };
  const addTask = (file: string): void => {
    const task = parseTaskConfig(loadTaskYaml(file), file);
    if (selection.tasks.some((other) => other.task === task.task)) throw new UsageError(`task ${task.task} is named twice`);
    selection.tasks.push(task);
  };
  const unknown = (name: string): UsageError => {
    const known = [...index.tasks.keys()].sort();
    const groups = [...index.groups.keys()].sort();
    return new UsageError(`unknown task ${JSON.stringify(name)}; known tasks: ${known.join(', ') || '(none)'}${groups.length ? `; groups: ${groups.join(', ')}` : ''} (add folders with --include-path)`);
  };
  for (const name of names) {
    if (name.endsWith('.yaml')) {
      addTask(name);
      continue;
    }
    const file = index.tasks.get(name);
    if (file !== undefined) {
      addTask(file);
      continue;
    }
    const groupFile = index.groups.get(name);
    if (groupFile === undefined) throw unknown(name);
    const group = parseGroupConfig(readYamlFile(groupFile), groupFile);
    if (selection.groups.some((other) => other.group === group.group)) throw new UsageError(`group ${group.group} is named twice`);
    for (const member of group.tasks) {
      if (index.groups.has(member) && !index.tasks.has(member)) {
        throw new InputError(`names the group ${member}: groups of groups are not supported (name its tasks)`, { file: groupFile, field: 'task' });
      }
      const memberFile = index.tasks.get(member);
      if (memberFile === undefined) throw new InputError(`names the task ${JSON.stringify(member)}, which no task file defines`, { file: groupFile, field: 'task' });
      addTask(memberFile);
    }
    selection.groups.push(group);
  }
  return selection;
}
