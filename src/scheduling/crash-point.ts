/** The points where a test may have the process kill itself (JOBS_TEST_CRASH_AT). */
export type CrashPoint = 'claimed' | 'fire-recorded' | 'state-half-written' | 'row-half-written' | 'failed-end' | 'chains-pending';

/**
 * Test only: JOBS_TEST_CRASH_AT names a point of the fire path, of a run's end or between a
 * pause's, resume's or change's two writes, where this process kills itself (kill -9), so a test can
 * show what a crash there leaves behind. Never set it in use.
 */
export function crashAt(point: CrashPoint) {
  if (process.env.JOBS_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
