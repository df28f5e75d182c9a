/**
 * TypeScript's directory watchers, started after the first cell instead of while its program builds.
 *
 * tslab compiles with a watch program, which watches directories (the type roots, the folders where a
 * module lookup failed) so that a package installed while the kernel runs is seen. On Linux TypeScript
 * emulates recursive watching by reading each directory and watching its children: about 150 ms of a
 * first cell's wait here, for watchers that matter only later. Until `release()`, a watch request is
 * recorded and answered with a watcher whose `close` cancels it; `release()` starts the recorded ones
 * (those not closed meanwhile), and from then on requests go straight through. A change in the moment
 * between the first program and `release()` is the only one these watchers could miss.
 */

/** The part of `ts.sys` this touches (TypeScript's `System.watchDirectory`). */
export interface DirectoryWatchingSystem {
  watchDirectory?: (path: string, callback: (fileName: string) => void, recursive?: boolean, options?: unknown) => { close(): void };
}

export interface DeferredWatches {
  /** Starts the watchers asked for so far; later requests are not deferred. Idempotent. */
  release(): void;
  /** Watch requests waiting for `release()`. */
  readonly pending: number;
}

/**
 * Defers `system.watchDirectory` until `release()`. Install it before TypeScript builds a watch host:
 * the host binds `watchDirectory` once, when it is made.
 */
export function deferDirectoryWatches(system: DirectoryWatchingSystem): DeferredWatches {
  const watch = system.watchDirectory;
  if (!watch) return { release() {}, pending: 0 };
  type Request = { args: Parameters<NonNullable<DirectoryWatchingSystem['watchDirectory']>>; closed: boolean; watcher?: { close(): void } };
  let queue: Request[] | null = [];
  system.watchDirectory = (...args) => {
    if (!queue) return watch.apply(system, args);
    const request: Request = { args, closed: false };
    queue.push(request);
    return {
      close() {
        request.closed = true;
        request.watcher?.close();
      },
    };
  };
  return {
    release() {
      const waiting = queue;
      if (!waiting) return;
      queue = null;
      for (const request of waiting) if (!request.closed) request.watcher = watch.apply(system, request.args);
    },
    get pending() {
      return queue ? queue.filter((request) => !request.closed).length : 0;
    },
  };
}
