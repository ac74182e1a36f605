import { createHash } from 'node:crypto';

/**
 * The id of a run that a run's end makes (a chained run, a retry): the same for every try of
 * the same end (this process, a sweep, another worker), so the run is written once whoever
 * writes it first. A UUID (version 8) from a hash of `parts`.
 */
export function derivedRunId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
