/**
 * A kernel must not outlive the process that started it (ipykernel's ParentPoller). Jupyter sets
 * JPY_PARENT_PID when it launches a kernel, and `hanlab run` sets HANLAB_EXIT_WITH_PARENT=1; either
 * way the kernel polls once a second and calls `onGone` when it was re-parented (its parent died, e.g.
 * by SIGKILL, without shutting it down) or when that parent process no longer exists.
 */
import { processExists } from '../processes.js';

export function watchParent(onGone: (why: string) => void, env: NodeJS.ProcessEnv = process.env, intervalMs = 1000): () => void {
  const declared = Number(env.JPY_PARENT_PID);
  const jupyterParent = Number.isInteger(declared) && declared > 1 ? declared : undefined;
  if (jupyterParent === undefined && env.HANLAB_EXIT_WITH_PARENT !== '1') return () => undefined;
  const startedUnder = process.ppid;
  const timer = setInterval(() => {
    let why: string | undefined;
    if (process.ppid !== startedUnder) why = `its parent process ${startedUnder} is gone (now under ${process.ppid})`;
    else if (jupyterParent !== undefined && !processExists(jupyterParent)) why = `the Jupyter process that started it (${jupyterParent}) is gone`;
    if (why === undefined) return;
    clearInterval(timer);
    onGone(why);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

