import type { SqlClient } from '../../db/sql-client.js';

export interface VacuumOptions {
  /** JOBS_VACUUM_AFTER_ROWS: dead rows a table holds (and a fifth of its live rows) before it is vacuumed; 0: no table is. */
  afterRows: number;
  /** JOBS_VACUUM_INTERVAL_SECONDS: how often the tables' dead rows are looked at. */
  intervalMs: number;
  /** JOBS_VACUUM_FREEZE_AGE: the age of the database's oldest unfrozen transaction id past which the embedded store vacuums it whole. */
  freezeAge: number;
  onError(err: unknown): void;
  onVacuum?(what: string, ms: number): void;
}

/** A table of the schema and its row counts, as the statistics collector keeps them. */
export interface TableRows {
  name: string;
  dead: number;
  live: number;
}

/** The tables that need a VACUUM, most dead rows first: autovacuum's rule, with afterRows for its threshold. */
export function tablesToVacuum(tables: TableRows[], afterRows: number): string[] {
  if (afterRows <= 0) return [];
  return tables
    .filter((t) => t.dead >= afterRows && t.dead >= t.live / 5)
    .sort((a, b) => b.dead - a.dead)
    .map((t) => t.name);
}

const deadRows = `SELECT relname AS name, n_dead_tup::float8 AS dead, n_live_tup::float8 AS live
                     FROM pg_stat_user_tables WHERE schemaname = current_schema()`;

const autovacuumSetting = "SELECT current_setting('autovacuum') AS on";

const frozenAge = 'SELECT age(datfrozenxid)::float8 AS age FROM pg_database WHERE datname = current_database()';

/**
 * VACUUM where nothing else runs it. PGlite has no autovacuum (one process, no background
 * workers), and a PostgreSQL server may run with `autovacuum` off. Without it the space of
 * deleted and updated rows is never used again: the dispatch rows, the runs under way and the
 * event log, written and deleted at every run, grow for ever, and each read of them walks
 * their dead rows. Every interval the tables of the schema whose dead rows reach afterRows and
 * a fifth of their live rows are vacuumed, one at a time, off any request's path (SKIP_LOCKED:
 * a table another process is vacuuming is left to it). On the embedded store the whole
 * database is also vacuumed once its oldest unfrozen transaction id is older than freezeAge,
 * as autovacuum would, so its ids never come near wrapping around (PostgreSQL refuses writes
 * then); PostgreSQL runs that vacuum itself even with autovacuum off.
 */
export class TableVacuum {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: SqlClient,
    private readonly embedded: boolean,
    private readonly options: VacuumOptions,
  ) {}

  /** Starts the checks, every interval (on PostgreSQL none when afterRows is 0; PGlite's ids must still be frozen). */
  start() {
    if (this.options.afterRows <= 0 && !this.embedded) return;
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One look at the tables, and the VACUUMs it calls for; at most one at a time. */
  check(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass() {
    try {
      if (this.embedded) {
        const r = await this.db.query<{ age: number }>(frozenAge);
        if (Number(r.rows[0]?.age ?? 0) >= this.options.freezeAge) await this.vacuum('VACUUM', 'database');
      } else if ((await this.db.query<{ on: string }>(autovacuumSetting)).rows[0]?.on !== 'off') {
        // Read at each check, so a server whose autovacuum is turned on or off is followed.
        return;
      }
      if (this.options.afterRows <= 0) return;
      const stats = await this.db.query<TableRows>(deadRows);
      for (const table of tablesToVacuum(stats.rows, this.options.afterRows)) {
        if (this.stopped) return;
        await this.vacuum(`VACUUM (SKIP_LOCKED) "${table.replaceAll('"', '""')}"`, table);
      }
    } catch (err) {
      // The database away or the client closing: the next check tries again.
      if (!this.stopped) this.options.onError(err);
    }
  }

  private async vacuum(statement: string, what: string) {
    const t0 = performance.now();
    await this.db.query(statement);
    this.options.onVacuum?.(what, performance.now() - t0);
  }

  /** Stops the checks and waits for a VACUUM under way. */
  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
