/**
 * What one run writes on PostgreSQL: N one-shot `noop` jobs are seeded (not measured), then
 * one jobs-service process (the compiled service, as the bench runs it) runs them all, and the
 * writes of that dispatch are read per table of the service's schema:
 *
 * - row versions: n_tup_ins + n_tup_upd (pg_stat_user_tables), the HOT share of the updates,
 *   and the deletes;
 * - index entries: the B-tree leaf inserts (INSERT_LEAF, INSERT_POST, SPLIT_L/R records) the
 *   WAL holds for the table's indexes;
 * - WAL bytes: the records that name the table, its indexes or its TOAST relation.
 *
 * - database CPU: the user and system time of every `postgres` process of this machine over
 *   the dispatch (/proc), so a server on another host, or anyone else's load on this one,
 *   makes it wrong; backends that exit during the dispatch are not counted.
 *
 * The WAL is read with pg_walinspect (installed into the bench's schema, dropped with it), so
 * the writes of anyone else on the server are not counted. Records that name no relation
 * (commits, ...) are reported beside, as is the server-wide LSN difference.
 *
 *   npx tsx bench/run-cost.ts [--runs N] [--concurrency N] [--setup SQL] [--json]
 *
 * --setup: statements run in the service's schema after its boot, before the seeding: to
 * measure a variant of the schema (another fillfactor, an index dropped) without a migration.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildForBench } from './lib/build.js';
import { namespace, removeTempDirs } from './lib/db.js';
import { jobsService } from './systems/jobs-service.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
    setup: { type: 'string' },
  },
});
const runs = Number(args.runs);
const concurrency = Number(args.concurrency);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('--runs and --concurrency take positive integers');
  process.exit(2);
}

interface TableStats {
  ins: number;
  upd: number;
  hot: number;
  del: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The counters once every backend has flushed its own: an idle backend flushes within 10 s
 * (PostgreSQL's PGSTAT_IDLE_INTERVAL), so they are read until they have not moved for 11 s.
 */
async function settled(read: () => Promise<Map<string, TableStats>>) {
  // Heartbeats write the worker row every few seconds whatever else happens.
  const key = (m: Map<string, TableStats>) => JSON.stringify([...m].filter(([t]) => !['worker', 'service_state', 'pause'].includes(t)));
  let last = key(await read());
  let still = Date.now();
  for (;;) {
    await sleep(1000);
    const now = await read();
    const text = key(now);
    if (text !== last) {
      last = text;
      still = Date.now();
    } else if (Date.now() - still >= 11_000) return now;
  }
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU ms used so far by the live processes whose command is `comm`, by pid (/proc/PID/stat). */
function cpuOf(comm: string): Map<string, number> {
  const by = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== comm) continue;
    // Fields after the command: state is the 3rd field of the line, utime the 14th, stime the 15th.
    const fields = stat.slice(close + 2).split(' ');
    by.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond);
  }
  return by;
}

/** CPU ms the processes of `after` used since `before` (a process new since then counts whole). */
function cpuSince(before: Map<string, number>, after: Map<string, number>) {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

async function main() {
  await buildForBench(log);
  const ns = await namespace('postgres', 'runcost');
  const pool = ns.pool!;
  const q = async <T extends Record<string, unknown>>(text: string, params: unknown[] = []) => (await pool.query<T>(text, params)).rows;
  try {
    // One per database: where someone else's bench has it already, theirs is used.
    await q(`CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA "${ns.schema!}"`);
    const inspect = (await q<{ s: string }>(`SELECT extnamespace::regnamespace::text AS s FROM pg_extension WHERE extname = 'pg_walinspect'`))[0].s;
    const d = await jobsService.deploy(ns, { processes: 1, processing: false, concurrency });
    try {
      if (args.setup) await q(args.setup);
      await d.seed({ n: runs, handler: 'noop', prefix: 'cost-', dueAt: 'soon' });
      // Which relation is whose: every index and TOAST relation counts for its table.
      const rels = await q<{ filenode: string; rel: string; table: string }>(
        `SELECT c.relfilenode::text AS filenode, c.relname AS rel,
                coalesce(t.relname, ti.relname, tt.relname, c.relname) AS table
           FROM pg_class c
           LEFT JOIN pg_index i ON i.indexrelid = c.oid
           LEFT JOIN pg_class ti ON ti.oid = i.indrelid AND ti.relkind <> 't'
           LEFT JOIN pg_class t ON t.reltoastrelid = coalesce(i.indrelid, c.oid)
           LEFT JOIN pg_class tt ON tt.reltoastrelid = (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = c.oid)
          WHERE c.relfilenode <> 0 AND (c.relnamespace = $1::regnamespace
             OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = $1::regnamespace)
             OR c.oid IN (SELECT x.indexrelid FROM pg_index x JOIN pg_class y ON y.reltoastrelid = x.indrelid WHERE y.relnamespace = $1::regnamespace))`,
        [`"${ns.schema!}"`],
      );
      const tableOf = new Map(rels.map((r) => [r.filenode, r.table]));
      const stats = async () => {
        const rows = await q<{ relname: string; ins: string; upd: string; hot: string; del: string }>(
          `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del FROM pg_stat_user_tables WHERE schemaname = $1`,
          [ns.schema!],
        );
        return new Map<string, TableStats>(rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot), del: Number(r.del) }]));
      };
      const before = await settled(stats);
      const lsn0 = (await q<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn;
      const t0 = Date.now();
      const since = new Date(t0 - 60_000);
      const done0 = await d.completed(since);
      const cpu0 = cpuOf('postgres');
      await d.start();
      while ((await d.completed(since)) < done0 + runs) {
        if (Date.now() - t0 > 120_000 + runs * 20) throw new Error(`the ${runs} runs did not finish`);
        await sleep(50);
      }
      const seconds = (Date.now() - t0) / 1000;
      const databaseCpuMs = cpuSince(cpu0, cpuOf('postgres'));
      await d.stop();
      const after = await settled(stats);
      const lsn1 = (await q<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn;
      const serverWal = Number((await q<{ b: string }>('SELECT pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::text AS b', [lsn0, lsn1]))[0].b);
      const records = await q<{ rm: string; type: string; len: string; fpi: string; blkref: string | null }>(
        `SELECT resource_manager AS rm, record_type AS type, record_length::text AS len, fpi_length::text AS fpi, block_ref AS blkref
           FROM ${inspect}.pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)`,
        [lsn0, lsn1],
      );
      const wal = new Map<string, number>();
      const entries = new Map<string, number>();
      let unnamed = 0;
      for (const r of records) {
        const node = /rel \d+\/\d+\/(\d+)/.exec(r.blkref ?? '')?.[1];
        const table = node === undefined ? undefined : tableOf.get(node);
        if (node === undefined) {
          unnamed += Number(r.len);
          continue;
        }
        if (table === undefined) continue; // another schema's
        wal.set(table, (wal.get(table) ?? 0) + Number(r.len));
        if (r.rm === 'Btree' && /^(INSERT_LEAF|INSERT_POST|SPLIT_L|SPLIT_R)$/.test(r.type)) entries.set(table, (entries.get(table) ?? 0) + 1);
      }
      const tables = [...new Set([...after.keys(), ...wal.keys()])].sort();
      const rows = tables
        .map((t) => {
          const a = after.get(t) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
          const b = before.get(t) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
          const ins = a.ins - b.ins;
          const upd = a.upd - b.upd;
          const hot = a.hot - b.hot;
          const del = a.del - b.del;
          return {
            table: t,
            versions: (ins + upd) / runs,
            inserts: ins / runs,
            updates: upd / runs,
            hot_ratio: upd ? hot / upd : null,
            deletes: del / runs,
            index_entries: (entries.get(t) ?? 0) / runs,
            wal_bytes: (wal.get(t) ?? 0) / runs,
          };
        })
        .filter((r) => r.versions || r.deletes || r.index_entries || r.wal_bytes);
      const sum = (k: 'versions' | 'inserts' | 'updates' | 'deletes' | 'index_entries' | 'wal_bytes') => rows.reduce((s, r) => s + r[k], 0);
      const updates = rows.reduce((s, r) => s + r.updates, 0);
      const hotUpdates = rows.reduce((s, r) => s + (r.hot_ratio ?? 0) * r.updates, 0);
      const total = {
        table: 'all',
        versions: sum('versions'),
        inserts: sum('inserts'),
        updates,
        hot_ratio: updates ? hotUpdates / updates : null,
        deletes: sum('deletes'),
        index_entries: sum('index_entries'),
        wal_bytes: sum('wal_bytes'),
      };
      const extra = {
        runs,
        seconds,
        runs_per_second: runs / seconds,
        database_cpu_us_per_run: (databaseCpuMs * 1000) / runs,
        wal_without_relation_per_run: unnamed / runs,
        server_wal_per_run: serverWal / runs,
      };
      if (args.json) {
        for (const r of [...rows, total]) console.log(JSON.stringify(r));
        console.log(JSON.stringify(extra));
        return;
      }
      const f = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));
      console.log(`per run, ${runs} one-shot noop runs at concurrency ${concurrency} (${f(extra.runs_per_second, 0)} runs/s)`);
      console.log(['table', 'versions', 'ins', 'upd', 'HOT', 'del', 'idx entries', 'WAL B'].map((h, i) => (i ? h.padStart(11) : h.padEnd(14))).join(''));
      for (const r of [...rows, total]) {
        console.log(
          [
            r.table.padEnd(14),
            f(r.versions),
            f(r.inserts),
            f(r.updates),
            r.hot_ratio === null ? '-' : `${Math.round(r.hot_ratio * 100)}%`,
            f(r.deletes),
            f(r.index_entries),
            f(r.wal_bytes, 0),
          ]
            .map((c, i) => (i ? c.padStart(11) : c))
            .join(''),
        );
      }
      console.log(`database CPU (every postgres process of this machine): ${f(extra.database_cpu_us_per_run, 0)} us/run`);
      console.log(
        `WAL naming no relation (commits, ...): ${f(extra.wal_without_relation_per_run, 0)} B/run; server-wide LSN difference: ${f(extra.server_wal_per_run, 0)} B/run (includes anyone else's writes)`,
      );
    } finally {
      await d.close();
    }
  } finally {
    await ns.drop();
    await removeTempDirs();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
