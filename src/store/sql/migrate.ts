import type { SqlClient } from '../../db/sql-client.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

// Held until the transaction ends, so concurrent boots of one deployment (one schema) take
// turns: the second finds the first's migrations recorded and runs nothing. Taken before the
// migration table is created, since two CREATE TABLE IF NOT EXISTS at once can both create.
const lockMigrations = "SELECT pg_advisory_xact_lock(hashtext('jobs-service:migrate:' || current_schema()))";
const createMigrationTable = `CREATE TABLE IF NOT EXISTS schema_migration (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  breaking   boolean NOT NULL DEFAULT false,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;
const selectApplied = 'SELECT version, breaking FROM schema_migration ORDER BY version';
const recordApplied = 'INSERT INTO schema_migration (version, name, breaking) VALUES ($1, $2, $3)';

export class MigrationError extends Error {}

/**
 * Runs the migrations the database has not run yet, in order, in one transaction under an
 * advisory lock, recording each in `schema_migration`; resolves with the versions it ran
 * (none on a database that is up to date). A database that has run a migration this code
 * does not know was migrated by a newer release: it is used when every such migration is
 * additive (a rolling upgrade, a rollback) and refused when one of them is breaking.
 */
export async function runMigrations(db: SqlClient, migrations: readonly Migration[] = allMigrations): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query(lockMigrations);
    await tx.exec(createMigrationTable);
    const rows = (await tx.query<{ version: number; breaking: boolean }>(selectApplied)).rows;
    const applied = new Set(rows.map((r) => Number(r.version)));
    const known = new Set(migrations.map((m) => m.version));
    const breaking = rows.filter((r) => !known.has(Number(r.version)) && r.breaking).map((r) => r.version);
    if (breaking.length > 0) {
      throw new MigrationError(`the database has run migration ${breaking.join(', ')}, which this release does not know and cannot run on: it was migrated by a newer release`);
    }
    const ran: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query(recordApplied, [m.version, m.name, m.breaking ?? false]);
      ran.push(m.version);
    }
    return ran;
  });
}
