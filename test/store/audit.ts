/** The store conformance suite: AuditStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AuditFilter, AuditRecord, Store } from '../../src/store/types.js';
import { at, pad, range, shuffled, compareText, audit, allPages, assertNoRepeats } from './fixtures.js';

/** AuditStore: every field, every filter, keyset pages. */
export function auditStoreContract(open: () => Store): void {
  describe('audit', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    const A = 20;
    // Two records per second, so ties need the id; three operations, two token names and
    // records without a token.
    const idOrder = shuffled(range(30), 11);
    const ops = ['createJob', 'deleteJob', 'setServiceState'];
    const records = range(30).map((i) =>
      audit(`au-${pad(idOrder[i])}`, A, Math.floor(i / 2), {
        operation: ops[i % 3],
        token_name: i % 5 === 4 ? null : i % 2 === 0 ? 'ops-admin' : 'ci-writer',
        ...(i % 4 === 3 ? { request_id: null, job_id: null, execution_id: null, worker_id: null, batch_id: null, status: 403, outcome: 'denied' as const } : {}),
      }),
    );
    const newest = (a: AuditRecord, b: AuditRecord) => b.time.getTime() - a.time.getTime() || compareText(b.id, a.id);
    const matchesAudit = (f: AuditFilter) => (r: AuditRecord) =>
      (f.operation === undefined || r.operation === f.operation) &&
      (f.token_name === undefined || r.token_name === f.token_name) &&
      (f.since === undefined || r.time.getTime() >= f.since.getTime()) &&
      (f.until === undefined || r.time.getTime() < f.until.getTime());

    it('insertAudits round-trips every field, nulls too', async () => {
      const full = audit('ar-full', A + 1, 0);
      const sparse = audit('ar-sparse', A + 1, 1, {
        request_id: null,
        token_name: null,
        operation: 'runJob',
        method: 'DELETE',
        path: '/api/v1/jobs/x y/ünïcödé',
        job_id: null,
        execution_id: null,
        worker_id: null,
        batch_id: null,
        status: 500,
        outcome: 'error',
      });
      await store.insertAudits([]);
      // One call, rows with and without values side by side.
      await store.insertAudits([full, sparse]);
      const got = (await store.listAudit({ since: at(A + 1, 0), until: at(A + 1, 2) }, null, 10)).items;
      assert.deepEqual(got, [sparse, full]);
    });

    it('insertAudits round-trips the overrides of a run request, beside records without', async () => {
      const withOverrides = audit('ar-over', A + 5, 0, { operation: 'runJob', status: 400, outcome: 'rejected', overrides: { url: 'http://x/', n: [1, { a: null }] } });
      const without = audit('ar-plain', A + 5, 1, { operation: 'runJob', status: 202 });
      await store.insertAudits([without, withOverrides]);
      const got = (await store.listAudit({ since: at(A + 5, 0), until: at(A + 5, 2) }, null, 10)).items;
      assert.deepEqual(got, [without, withOverrides]);
    });

    it('listAudit pages newest first by (time, id), completely, with each filter and combined', async () => {
      for (const r of shuffled(records, 12)) await store.insertAudits([r]);
      const mine = (r: AuditRecord) => r.id.startsWith('au-');
      const filters: AuditFilter[] = [
        {},
        { operation: 'deleteJob' },
        { token_name: 'ci-writer' },
        { since: at(A, 4) },
        { until: at(A, 10) },
        { since: at(A, 4), until: at(A, 10) },
        { operation: 'createJob', token_name: 'ops-admin', since: at(A, 2), until: at(A, 14) },
        { operation: 'noSuchOperation' },
      ];
      for (const f of filters) {
        const expected = records.filter(matchesAudit(f)).sort(newest);
        for (const limit of [1, 4, 30, 31]) {
          const got = await allPages((a) => store.listAudit(f, a, limit), limit);
          assertNoRepeats(
            got.map((r) => r.id),
            `listAudit(${JSON.stringify(f)}) by ${limit}`,
          );
          for (let i = 1; i < got.length; i++) assert.ok(newest(got[i - 1], got[i]) < 0, `${got[i - 1].id} before ${got[i].id}`);
          assert.ok(got.every(matchesAudit(f)), `every record matches ${JSON.stringify(f)}`);
          assert.deepEqual(got.filter(mine), expected, `listAudit(${JSON.stringify(f)}) by ${limit}`);
        }
      }
    });

    it('keyset pages: a record newer than the cursor is not shown, an older one is', async () => {
      const first = await store.listAudit({ operation: 'setServiceState' }, null, 3);
      assert.ok(first.next);
      await store.insertAudits([audit('au-newer', A + 2, 0, { operation: 'setServiceState' })]);
      await store.insertAudits([audit('au-older', A - 1, 0, { operation: 'setServiceState' })]);
      const rest = await allPages((a) => store.listAudit({ operation: 'setServiceState' }, a ?? first.next, 100), 100);
      const ids = rest.map((r) => r.id);
      assert.ok(!ids.includes('au-newer'));
      assert.ok(ids.includes('au-older'));
      assert.ok(!ids.some((id) => first.items.some((r) => r.id === id)));
    });

    it('addAuditCounts adds to the count of records by id; deleteAuditBefore deletes the older ones only', async () => {
      const E = A + 40;
      await store.insertAudits([audit('ac-one', E, 0, { client_address: null }), audit('ac-two', E, 1, { client_address: '2001:db8::7', status: 401, outcome: 'denied' })]);
      await store.addAuditCounts([]);
      await store.addAuditCounts([
        { id: 'ac-two', count: 41 },
        { id: 'ac-none', count: 5 },
      ]);
      await store.addAuditCounts([{ id: 'ac-two', count: 958 }]);
      const got = (await store.listAudit({ since: at(E, 0), until: at(E, 2) }, null, 10)).items;
      assert.deepEqual(
        got.map((r) => [r.id, r.count, r.client_address]),
        [
          ['ac-two', 1000, '2001:db8::7'],
          ['ac-one', 1, null],
        ],
      );
      const before = at(E, 1);
      const older = (await allPages((a) => store.listAudit({ until: before }, a, 1000), 1000)).map((r) => r.id);
      const newer = (await allPages((a) => store.listAudit({ since: before }, a, 1000), 1000)).map((r) => r.id);
      assert.ok(older.includes('ac-one') && older.length > 2 && newer.includes('ac-two'));
      assert.equal(await store.deleteAuditBefore(before), older.length);
      assert.deepEqual((await store.listAudit({ until: before }, null, 10)).items, []);
      assert.deepEqual(
        (await allPages((a) => store.listAudit({}, a, 1000), 1000)).map((r) => r.id),
        newer,
      );
      assert.equal(await store.deleteAuditBefore(before), 0);
    });
  });
}
