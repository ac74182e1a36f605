import type { SqlClient } from '../../db/sql-client.js';

/**
 * ANALYZE of a table after bulk writes. PGlite never analyses, and a PostgreSQL whose
 * autovacuum is off or behind plans a table filled since its last ANALYZE from what it held
 * then. A table is analysed once the rows written to it since its last ANALYZE reach
 * JOBS_ANALYZE_AFTER_ROWS and a fifth of the rows it held then; in the background, one at a
 * time, never on the path of the write that crossed the line.
 */
class BulkAnalyze {
  private readonly written = new Map<string, number>();
  /** Rows of each table at its last ANALYZE here. */
  private readonly size = new Map<string, number>();
  private running: Promise<void> | undefined;
  private readonly waiting = new Set<string>();

  constructor(
    private readonly db: SqlClient,
    readonly afterRows: number,
  ) {}

  wrote(table: string, rows: number) {
    if (this.afterRows <= 0 || rows <= 0) return;
    const n = (this.written.get(table) ?? 0) + rows;
    this.written.set(table, n);
    if (n < Math.max(this.afterRows, (this.size.get(table) ?? 0) / 5)) return;
    this.written.set(table, 0);
    this.waiting.add(table);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  private async drain() {
    while (this.waiting.size) {
      const table = this.waiting.values().next().value as string;
      this.waiting.delete(table);
      try {
        await this.db.query(`ANALYZE ${table}`);
        const r = await this.db.query<{ n: number }>('SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass', [table]);
        this.size.set(table, Math.max(0, Number(r.rows[0]?.n ?? 0)));
      } catch {
        // A statistics refresh is an optimisation: a failure (the database away, a closed
        // client) leaves the plans as they were, and the next bulk write tries again.
      }
    }
  }

  /** Resolves once no ANALYZE of this client is under way. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}

const analyzers = new WeakMap<SqlClient, BulkAnalyze>();

/** Sets the threshold of a client's tables (JOBS_ANALYZE_AFTER_ROWS; 0: never). */
export function configureAnalyze(db: SqlClient, afterRows: number) {
  analyzers.set(db, new BulkAnalyze(db, afterRows));
}

/** Notes `rows` written to `table` (job, execution, dispatch): may start an ANALYZE of it. */
export function wroteRows(db: SqlClient, table: 'job' | 'execution' | 'dispatch', rows: number) {
  let a = analyzers.get(db);
  if (!a) analyzers.set(db, (a = new BulkAnalyze(db, defaultAnalyzeAfterRows)));
  a.wrote(table, rows);
}

/** Resolves once the client's background ANALYZE (if any) has ended. */
export function analyzeSettled(db: SqlClient): Promise<void> {
  return analyzers.get(db)?.settled() ?? Promise.resolve();
}

/** JOBS_ANALYZE_AFTER_ROWS's default, for a client the service did not configure (tests of the store). */
export const defaultAnalyzeAfterRows = 5000;
