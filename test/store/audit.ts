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
  });
}
