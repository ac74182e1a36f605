import os from 'node:os';

/**
 * How much slower than an idle machine this one runs now: every wait, lead time and timeout of
 * the tests is multiplied by it, never an assertion on a measured time. TEST_TIME_SCALE sets
 * it; by default it follows the load: the load average per core, between 1 and 10.
 */
export const timeScale = (() => {
  const set = Number(process.env.TEST_TIME_SCALE);
  if (process.env.TEST_TIME_SCALE && Number.isFinite(set) && set > 0) return set;
  return Math.min(10, Math.max(1, os.loadavg()[0] / os.availableParallelism()));
})();

/** `ms` stretched by the time scale. */
export const scaled = (ms: number) => Math.round(ms * timeScale);

/** Waits exactly `ms`: pass `scaled(ms)` unless the test depends on the length itself. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
