/**
 * Whether a process with this pid exists (signal 0 reaches it). EPERM: it exists, and belongs
 * to another user. A zombie not yet reaped still exists.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
