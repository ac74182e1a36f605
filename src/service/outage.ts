import type { Logger } from '../observability/log.js';

/**
 * The state of this process's access to its database, as its periodic work sees it (the
 * heartbeat, the lost-worker check, the dispatch engine): an outage is logged once when the
 * first of them fails and once when one succeeds again, with how long it lasted, instead of
 * a line per failed attempt while the database is away.
 */
export class OutageLog {
  private since: number | null = null;
  private suppressed = 0;
  /** When the last outage ended (ms since epoch), null before any. */
  endedAt: number | null = null;

  constructor(private readonly log: Logger) {}

  /** Whether an outage is under way. */
  get down(): boolean {
    return this.since !== null;
  }

  /** A periodic task failed on the database: the first failure of an outage is logged, the others counted. */
  failed(err: unknown, where: string) {
    if (this.since === null) {
      this.since = Date.now();
      this.suppressed = 0;
      this.log.error({ err, where }, 'database unreachable: retrying until it answers; runs start again once it does');
      return;
    }
    this.suppressed++;
    this.log.debug({ err, where }, 'database still unreachable');
  }

  /** A periodic task reached the database: ends an outage under way. */
  succeeded() {
    if (this.since === null) return;
    this.endedAt = Date.now();
    this.log.warn({ down_ms: this.endedAt - this.since, failed_attempts: this.suppressed + 1 }, 'database reachable again');
    this.since = null;
  }
}
