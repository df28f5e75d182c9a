/** Whether a process exists (kill(pid, 0); EPERM means it exists but is not ours to signal). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
