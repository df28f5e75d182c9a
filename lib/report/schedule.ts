/**
 * Running jobs that depend on each other, N at once: the scheduling behind `hanlab reports --jobs N`.
 * A job starts when every job it depends on finished well; a job whose dependency failed is not run
 * (it would read a missing or stale file). Among ready jobs the one heading the longest remaining
 * chain starts first (critical-path list scheduling), so a long chain such as "train the tagger, then
 * compare with it" is not left for last. Ties keep the given order.
 *
 * Written by hand: the dependency graph is a handful of notebooks, and what matters here (skip the
 * dependents of a failure, report cycles by name, longest chain first) is policy, not machinery.
 */

export interface ScheduledJob {
  id: string;
  /** Ids of the jobs whose results this one reads. */
  dependsOn: readonly string[];
  /** Estimated duration (ms) of the job itself; unknown ones count as `defaultEstimateMs`. */
  estimateMs?: number;
}

export type JobOutcome = 'ok' | 'failed' | 'blocked';

export interface ScheduleOptions<J extends ScheduledJob> {
  /** Jobs run at once (>= 1). */
  jobs: number;
  /** Runs a job; resolves true when it succeeded. Must not throw (a throw counts as a failure). */
  run: (job: J) => Promise<boolean>;
  /** A job not run because `failed` (one of its dependencies, direct or not) failed or was blocked. */
  onBlocked?: (job: J, failed: J) => void;
  defaultEstimateMs?: number;
}

/** Jobs on a dependency cycle (each listed once), or [] when the graph has none. Unknown ids are ignored. */
export function jobsOnCycles<J extends ScheduledJob>(jobs: readonly J[]): J[] {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const state = new Map<string, 'visiting' | 'done'>();
  const onCycle = new Set<string>();
  const stack: string[] = [];
  const visit = (id: string) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      for (const member of stack.slice(stack.indexOf(id))) onCycle.add(member);
      return;
    }
    state.set(id, 'visiting');
    stack.push(id);
    for (const next of byId.get(id)?.dependsOn ?? []) if (byId.has(next)) visit(next);
    stack.pop();
    state.set(id, 'done');
  };
  for (const job of jobs) visit(job.id);
  return jobs.filter((job) => onCycle.has(job.id));
}

/** Runs every job (none may be on a cycle: check with `jobsOnCycles` first); resolves with each job's outcome. */
export async function runScheduled<J extends ScheduledJob>(jobs: readonly J[], options: ScheduleOptions<J>): Promise<Map<string, JobOutcome>> {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const dependents = new Map<string, J[]>(jobs.map((job) => [job.id, []]));
  for (const job of jobs) for (const dep of job.dependsOn) dependents.get(dep)?.push(job);
  const order = new Map(jobs.map((job, index) => [job.id, index]));

  // The longest chain of work that starts with each job (its own estimate plus its longest dependent chain).
  const chain = new Map<string, number>();
  const chainOf = (job: J): number => {
    const known = chain.get(job.id);
    if (known !== undefined) return known;
    const own = job.estimateMs ?? options.defaultEstimateMs ?? 60_000;
    const value = own + Math.max(0, ...(dependents.get(job.id) ?? []).map(chainOf));
    chain.set(job.id, value);
    return value;
  };

  const outcome = new Map<string, JobOutcome>();
  const running = new Map<string, Promise<void>>();
  const isReady = (job: J) => job.dependsOn.every((dep) => !byId.has(dep) || outcome.get(dep) === 'ok');
  const block = (job: J, cause: J) => {
    if (outcome.has(job.id)) return;
    outcome.set(job.id, 'blocked');
    options.onBlocked?.(job, cause);
    for (const next of dependents.get(job.id) ?? []) block(next, cause);
  };

  for (;;) {
    const ready = jobs
      .filter((job) => !outcome.has(job.id) && !running.has(job.id) && isReady(job))
      .sort((a, b) => (options.jobs > 1 ? chainOf(b) - chainOf(a) : 0) || order.get(a.id)! - order.get(b.id)!);
    for (const job of ready.slice(0, Math.max(0, options.jobs - running.size))) {
      const task = (async () => {
        let ok = false;
        try {
          ok = await options.run(job);
        } catch {
          ok = false;
        }
        outcome.set(job.id, ok ? 'ok' : 'failed');
        running.delete(job.id);
        if (!ok) for (const next of dependents.get(job.id) ?? []) block(next, job);
      })();
      running.set(job.id, task);
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  return outcome;
}
