import type { SqlClient } from '../../db/sql-client.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

// Held until the transaction ends, so concurrent boots of one deployment (one schema) take
// turns: the second finds the first's migrations recorded and runs nothing. Taken before the
// migration table is created, since two CREATE TABLE IF NOT EXISTS at once can both create.
const lockMigrations = "SELECT pg_advisory_xact_lock(hashtext('jobs-service:migrate:' || current_schema()))";
const createMigrationTable = `CREATE TABLE IF NOT EXISTS schema_migration (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;
const selectApplied = 'SELECT version FROM schema_migration ORDER BY version';
const recordApplied = 'INSERT INTO schema_migration (version, name) VALUES ($1, $2)';

export class MigrationError extends Error {}

/**
 * Runs the migrations the database has not run yet, in order, in one transaction under an
 * advisory lock, recording each in `schema_migration`; resolves with the versions it ran
 * (none on a database that is up to date). A database that has run a migration this code
 * does not know was migrated by a newer release: it is refused rather than used.
 */
export async function runMigrations(db: SqlClient, migrations: readonly Migration[] = allMigrations): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query(lockMigrations);
    await tx.exec(createMigrationTable);
    const applied = new Set((await tx.query<{ version: number }>(selectApplied)).rows.map((r) => Number(r.version)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new MigrationError(`the database has run migration ${unknown.join(', ')}, which this release does not know: it was migrated by a newer release`);
    }
    const ran: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query(recordApplied, [m.version, m.name]);
      ran.push(m.version);
    }
    return ran;
  });
}
