import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { clientAddressOf } from '../src/http/audit.js';
import type { AuditRecord } from '../src/store/types.js';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { migrations } from '../src/store/sql/migrations/index.js';
import { noticeSkippedStores, scaled, startService, stores, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

const api = '/api/v1';
const T = { admin: 'audit-admin-token-0123456789', writer: 'audit-writer-token-0123456789' };
const tokens = `ops:${T.admin}:admin,ci:${T.writer}:write`;

describe('clientAddressOf', () => {
  it('takes the peer, and X-Forwarded-For only from a trusted proxy, right to left', () => {
    assert.equal(clientAddressOf('::ffff:127.0.0.1', '203.0.113.7', []), '127.0.0.1');
    assert.equal(clientAddressOf('10.0.0.5', '203.0.113.7', ['10.0.0.9']), '10.0.0.5');
    assert.equal(clientAddressOf('10.0.0.5', '198.51.100.1, 203.0.113.7', ['10.0.0.5']), '203.0.113.7');
    assert.equal(clientAddressOf('10.0.0.5', '198.51.100.1, 203.0.113.7, 10.0.0.6', ['10.0.0.5', '10.0.0.6']), '203.0.113.7');
    assert.equal(clientAddressOf('10.0.0.5', 'not an address', ['10.0.0.5']), '10.0.0.5');
    assert.equal(clientAddressOf('2001:db8::1', undefined, []), '2001:db8::1');
    assert.equal(clientAddressOf(undefined, '203.0.113.7', []), null);
  });
});

for (const { name, skip } of stores) {
  describe(`audit: denied calls counted, fields capped, retention, client address, creates' records with their jobs on ${name}`, { skip, timeout: scaled(300_000) }, () => {
    let db: TestDatabase;
    let svc: Running;
    let base: string;
    const env = { JOBS_API_TOKENS: tokens, JOBS_AUDIT_DENIED_WINDOW_SECONDS: '1', JOBS_TRUSTED_PROXIES: '127.0.0.1', JOBS_AUDIT_RETENTION_DAYS: '30' };
    const audits = async (operation: string): Promise<AuditRecord[]> => {
      const all: AuditRecord[] = [];
      let after: string | null = null;
      do {
        const page: { items: AuditRecord[]; next: string | null } = await svc.service.store.listAudit({ operation }, after, 1000);
        all.push(...page.items);
        after = page.next;
      } while (after);
      return all;
    };

    before(async () => {
      db = await testDatabase(name);
      svc = await startService(db, env);
      base = `http://127.0.0.1:${await svc.service.listen()}${api}`;
    });
    after(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('3,000 anonymous posts leave a record per window with their count, not 3,000 records', async () => {
      const post = async (i: number) => {
        const res = await fetch(`${base}/jobs/echo?job_id=anon-${i}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ i }) });
        await res.arrayBuffer();
        return res.status;
      };
      const t0 = Date.now();
      for (let i = 0; i < 3000; i += 50) {
        const statuses = await Promise.all(Array.from({ length: 50 }, (_, k) => post(i + k)));
        assert.ok(
          statuses.every((s) => s === 401),
          String(statuses.find((s) => s !== 401)),
        );
      }
      const seconds = (Date.now() - t0) / 1000;
      // Every call is counted once its window ends (1 s here).
      const records = await waitFor(
        'the denied calls counted',
        async () => {
          const r = await audits('scheduleEcho');
          return r.reduce((n, a) => n + a.count, 0) === 3000 ? r : undefined;
        },
        10_000,
        200,
      );
      assert.ok(records.length <= Math.ceil(seconds) + 2, `${records.length} records for 3,000 calls in ${seconds} s`);
      for (const r of records) {
        assert.equal(r.status, 401);
        assert.equal(r.outcome, 'denied');
        assert.equal(r.token_name, null);
        assert.equal(r.client_address, '127.0.0.1');
      }
      // Calls with a token are still recorded one by one.
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/jobs/echo?job_id=known-${i}&state=paused`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${T.writer}` },
          body: '{}',
        });
        assert.equal(res.status, 201);
      }
      const known = (await audits('scheduleEcho')).filter((a) => a.token_name === 'ci');
      assert.deepEqual(known.map((a) => [a.job_id, a.count, a.status]).sort(), [
        ['known-0', 1, 201],
        ['known-1', 1, 201],
        ['known-2', 1, 201],
      ]);
    });

    it('keeps at most JOBS_AUDIT_PATH_MAX_LENGTH characters of a 15 KB path', async () => {
      const id = 'p'.repeat(15_000);
      // Denied before anything reads the path's parameters, and refused by validation with a token.
      const denied = await fetch(`${base}/jobs/${id}/executions`, { method: 'POST' });
      assert.equal(denied.status, 401);
      const invalid = await fetch(`${base}/jobs/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${T.admin}` } });
      assert.equal(invalid.status, 400);
      for (const operation of ['runJob', 'deleteJob']) {
        const [r] = await waitFor(`the ${operation} record`, async () => {
          const found = (await audits(operation)).filter((a) => a.path.startsWith(`${api}/jobs/ppp`));
          return found.length ? found : undefined;
        });
        assert.equal(r.path.length, 1000, operation);
        assert.ok(r.path.endsWith('p…'), operation);
        assert.equal(r.job_id, null, 'an id longer than any job_id is not kept');
      }
    });

    it('records the client address, from X-Forwarded-For when the peer is a trusted proxy', async () => {
      const res = await fetch(`${base}/jobs/echo?job_id=proxied&state=paused`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${T.writer}`, 'X-Forwarded-For': '198.51.100.1, 203.0.113.7' },
        body: '{}',
      });
      assert.equal(res.status, 201);
      const direct = await fetch(`${base}/jobs/proxied`, { method: 'DELETE', headers: { Authorization: `Bearer ${T.writer}` } });
      assert.equal(direct.status, 200);
      const created = (await audits('scheduleEcho')).find((a) => a.job_id === 'proxied');
      assert.equal(created?.client_address, '203.0.113.7');
      const deleted = (await audits('deleteJob')).find((a) => a.job_id === 'proxied');
      assert.equal(deleted?.client_address, '127.0.0.1');
      // And the API shows it.
      const listed = await fetch(`${base}/audit?operation=deleteJob&limit=5`, { headers: { Authorization: `Bearer ${T.admin}` } });
      const body = (await listed.json()) as { audit: Array<{ job_id: string | null; client_address: string | null; count: number }> };
      const row = body.audit.find((a) => a.job_id === 'proxied');
      assert.deepEqual(row && { client_address: row.client_address, count: row.count }, { client_address: '127.0.0.1', count: 1 });
    });

    it('deletes records past JOBS_AUDIT_RETENTION_DAYS, keeping the newer ones', async () => {
      const day = 86400_000;
      const old = (id: string, daysAgo: number): AuditRecord => ({
        id,
        time: new Date(Date.now() - daysAgo * day),
        request_id: null,
        token_name: 'ops',
        operation: 'retentionProbe',
        method: 'POST',
        path: '/api/v1/probe',
        job_id: null,
        execution_id: null,
        worker_id: null,
        batch_id: null,
        status: 200,
        outcome: 'success',
        client_address: '127.0.0.1',
        count: 1,
      });
      const ancient = `old-${randomUUID()}`;
      const recent = `recent-${randomUUID()}`;
      await svc.service.store.insertAudits([old(ancient, 100), old(`${ancient}-2`, 31), old(recent, 29)]);
      // The purge runs at boot (then every hour): restart on the same database.
      await svc.close();
      svc = await startService(db, env);
      base = `http://127.0.0.1:${await svc.service.listen()}${api}`;
      await waitFor('the old records deleted', async () => (await audits('retentionProbe')).length === 1);
      assert.deepEqual(
        (await audits('retentionProbe')).map((a) => a.id),
        [recent],
      );
      // The other records of this suite, all younger than 30 days, are kept.
      assert.ok((await audits('scheduleEcho')).length > 0);
    });

    it('a create whose answer fails after its job is stored keeps one record, with the failed status', async (t) => {
      if (!(svc.service.store instanceof SqlStore)) {
        t.skip('only SQL stores the record with the job');
        return;
      }
      const store = svc.service.store;
      const id = `late-${randomUUID().slice(0, 8)}`;
      // A paused job's pause is written after the job's statement: without its table, the job
      // and its record are stored, then the call fails.
      await store.db.exec('DROP TABLE pause');
      let res: Response;
      try {
        res = await fetch(`${base}/jobs`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${T.writer}` },
          body: JSON.stringify({ job_id: id, handler: 'echo', state: 'paused' }),
        });
        await res.arrayBuffer();
      } finally {
        // The pause table comes back from its own migration (safe to run again).
        await store.db.exec(migrations.find((m) => m.name === 'job-versions')!.sql);
      }
      assert.equal(res.status, 500);
      assert.ok(await store.getJob(id), 'the job was stored');
      const records = await waitFor('the record settled', async () => {
        const r = (await audits('createJob')).filter((a) => a.request_id === res.headers.get('x-request-id'));
        return r.length === 1 && r[0].status === 500 ? r : undefined;
      });
      assert.deepEqual(
        records.map((r) => [r.job_id, r.status, r.outcome]),
        [[id, 500, 'error']],
      );
    });

    it('stores the record of a create with its job, one record per call whatever its answer', async () => {
      const auth = { 'Content-Type': 'application/json', Authorization: `Bearer ${T.writer}` };
      const taken = `taken-${randomUUID()}`;
      assert.equal((await fetch(`${base}/jobs`, { method: 'POST', headers: auth, body: JSON.stringify({ job_id: taken, handler: 'echo', state: 'paused' }) })).status, 201);
      // On SQL the records of created jobs are written by the statement that stores the jobs:
      // no statement of its own inserts them.
      const sql = svc.service.store instanceof SqlStore ? (svc.service.store.db as { query: (...a: unknown[]) => unknown }) : undefined;
      const query = sql?.query;
      const statements: Array<{ text: string; params: string }> = [];
      if (sql && query)
        sql.query = (text: unknown, params: unknown, ...rest: unknown[]) => (
          statements.push({ text: String(text), params: JSON.stringify(params) }),
          query.call(sql, text, params, ...rest)
        );
      const tag = randomUUID().slice(0, 8);
      // Fresh ids, an id taken already, and one id asked for twice at once: the calls are
      // written together, and only the first of the two is stored.
      const ids = [...Array.from({ length: 12 }, (_, i) => `fresh-${tag}-${i}`), taken, taken, `twice-${tag}`, `twice-${tag}`];
      let answers: Array<{ id: string; status: number; request: string }>;
      try {
        answers = await Promise.all(
          ids.map(async (id) => {
            const res = await fetch(`${base}/jobs`, { method: 'POST', headers: auth, body: JSON.stringify({ job_id: id, handler: 'echo', state: 'paused' }) });
            await res.arrayBuffer();
            return { id, status: res.status, request: res.headers.get('x-request-id')! };
          }),
        );
      } finally {
        if (sql && query) sql.query = query;
      }
      assert.deepEqual(answers.map((a) => a.status).sort(), [...Array(13).fill(201), 409, 409, 409]);
      const bulk = await fetch(`${base}/jobs/bulk`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ jobs: [{ job_id: `bulk-${tag}`, handler: 'echo', state: 'paused' }] }),
      });
      assert.equal(bulk.status, 201);
      const bulkTaken = await fetch(`${base}/jobs/bulk`, { method: 'POST', headers: auth, body: JSON.stringify({ jobs: [{ job_id: taken, handler: 'echo' }] }) });
      assert.equal(bulkTaken.status, 409);
      const records = await waitFor('a record of every call', async () => {
        const all = [...(await audits('createJob')), ...(await audits('createJobs'))].filter((a) => a.token_name === 'ci');
        return all.length >= answers.length + 3 ? all : undefined;
      });
      const byRequest = new Map(records.map((r) => [r.request_id, r]));
      assert.equal(byRequest.size, records.length, 'one record per call');
      for (const a of answers) {
        const r = byRequest.get(a.request);
        assert.deepEqual(r && [r.job_id, r.status, r.outcome, r.client_address, r.count], [a.id, a.status, a.status === 201 ? 'success' : 'rejected', '127.0.0.1', 1], a.id);
      }
      const bulkRecords = records.filter((r) => r.operation === 'createJobs').map((r) => [r.request_id, r.status, r.job_id]);
      assert.deepEqual(
        bulkRecords.sort(),
        [
          [bulk.headers.get('x-request-id'), 201, null],
          [bulkTaken.headers.get('x-request-id'), 409, null],
        ].sort(),
      );
      if (sql) {
        const separate = statements.filter((t) => /^\s*INSERT INTO audit/.test(t.text));
        const together = statements.filter((t) => /\bj AS \(INSERT INTO job\b/.test(t.text) && /\bau AS \(INSERT INTO audit\b/.test(t.text));
        assert.ok(together.length >= 1, 'the creates wrote their records');
        assert.ok(separate.length >= 1, 'the refused calls have records of their own');
        for (const t of separate) assert.ok(!/\\"status\\":201/.test(t.params), `a statement of its own wrote a created job's record: ${t.params}`);
      }
    });
  });
}
