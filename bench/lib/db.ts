/**
 * Where a system keeps its data for one run: a PostgreSQL schema of its own (dropped after the
 * run) or a fresh PGlite data folder (copied from a template made once per bench process).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { processExists } from '../../test/support/processes.js';

export type StoreKind = 'embedded' | 'postgres';

export const postgresUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Namespace {
  store: StoreKind;
  /** PostgreSQL: the schema; embedded: the data folder. */
  schema?: string;
  dataDir?: string;
  /** A pool on the schema (search_path set), PostgreSQL only. */
  pool?: pg.Pool;
  /** A URL with ?schema= for jobs-service. */
  serviceUrl?: string;
  drop(): Promise<void>;
}

let template: Promise<string> | undefined;
const tempRoots: string[] = [];

export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `jobs-bench-${prefix}-`));
  tempRoots.push(dir);
  return dir;
}

/** A PGlite cluster made once: initdb in WebAssembly takes seconds, a copy milliseconds. */
function embeddedTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = await tempDir('template');
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(dir);
    await db.close();
    return dir;
  })();
  return template;
}

export async function adminQuery(text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: postgresUrl });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

export async function namespace(store: StoreKind, system: string): Promise<Namespace> {
  if (store === 'embedded') {
    const dir = await tempDir(system);
    await fs.cp(await embeddedTemplate(), dir, { recursive: true });
    return { store, dataDir: dir, drop: () => fs.rm(dir, { recursive: true, force: true }) };
  }
  const schema = `jbench_${process.pid}_${system.replace(/[^a-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA "${schema}"`);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 4, options: `-c search_path="${schema}"` });
  const url = new URL(postgresUrl);
  url.searchParams.set('schema', schema);
  return {
    store,
    schema,
    pool,
    serviceUrl: url.toString(),
    drop: async () => {
      await pool.end();
      await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

/**
 * ANALYZE after seeding. The bench's server runs without autovacuum, and a table filled since
 * its last ANALYZE (or never analyzed) is planned from statistics that no longer hold: each
 * system's plans would depend on what its tables held before the seed. `sql` runs a statement
 * in the namespace (the pool, or the system's own process on PGlite).
 */
export async function analyze(ns: Namespace, sql: (text: string) => Promise<Array<Record<string, unknown>>>) {
  if (ns.store === 'embedded') {
    await sql('ANALYZE');
    return;
  }
  // Tables and partitioned tables of the schema (ANALYZE of a partitioned table covers its
  // partitions), not the whole database: other schemas may be in use.
  const rows = await sql(
    `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = '${ns.schema!}' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
  );
  if (rows.length) await sql(`ANALYZE ${rows.map((r) => r.t as string).join(', ')}`);
}

/** Drops schemas left by a bench process that no longer runs (an interrupted run). */
export async function dropStaleSchemas() {
  const r = await adminQuery(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'jbench\\_%'`);
  for (const row of r.rows as Array<{ nspname: string }>) {
    const pid = Number(row.nspname.split('_')[1]);
    if (pid !== process.pid && !processExists(pid)) await adminQuery(`DROP SCHEMA IF EXISTS "${row.nspname}" CASCADE`);
  }
}

export async function removeTempDirs() {
  for (const d of tempRoots.splice(0)) await fs.rm(d, { recursive: true, force: true }).catch(() => undefined);
}
