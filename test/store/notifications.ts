/** The store conformance suite: NotificationStore. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { DeliveryRecord, Store } from '../../src/store/types.js';
import { allPages, at, job, pad, range, rejectsCursor } from './fixtures.js';

const era = 41;

const delivery = (id: string, i: number, over: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  id,
  job_id: 'nt-job',
  execution_id: `nt-run-${i}`,
  event: 'failed',
  channel: 'webhook',
  target: { url: 'https://hooks.example.com/x', secret: { $secret: 'hook-key' } },
  payload: { event: 'failed', message: `run ${i} failed`, nested: { list: [1, 'two', null] } },
  status: 'pending',
  attempts: [],
  // Not due unless a test says so: a claim takes only the deliveries of its own test.
  next_attempt_at: at(era + 50, i),
  locked_until: null,
  created_at: at(era, i),
  delivered_at: null,
  ...over,
});

export function notificationStoreContract(open: () => Store): void {
  describe('notifications', () => {
    let store: Store;
    before(() => {
      store = open();
    });

    it('countRunEnd counts failures in a row, resets them on success, pauses at pause_after_failures, atomically', async () => {
      assert.equal(await store.countRunEnd('nt-none', true), null);
      await store.insertJobs([job('nt-pause', era, { pause_after_failures: 2 }), job('nt-many', era)]);
      const first = (await store.countRunEnd('nt-pause', true))!;
      assert.deepEqual([first.streak_before, first.state_before, first.job.failure_streak, first.job.state], [0, 'running', 1, 'running']);
      const second = (await store.countRunEnd('nt-pause', true))!;
      assert.deepEqual([second.streak_before, second.state_before, second.job.failure_streak, second.job.state], [1, 'running', 2, 'paused']);
      assert.equal((await store.getJob('nt-pause'))!.state, 'paused');
      const ok = (await store.countRunEnd('nt-pause', false))!;
      assert.deepEqual([ok.streak_before, ok.job.failure_streak, ok.job.state], [2, 0, 'paused']);
      // Ends counted at once each count: no update is lost.
      const counted = await Promise.all(range(6).map(() => store.countRunEnd('nt-many', true)));
      assert.deepEqual(counted.map((c) => c!.streak_before).sort(), [0, 1, 2, 3, 4, 5]);
      assert.equal((await store.getJob('nt-many'))!.failure_streak, 6);
      assert.equal((await store.getJob('nt-many'))!.state, 'running');
    });

    it('insert keeps deliveries as given, once; lists them newest first by job and status, paged', async () => {
      const ds = range(7).map((i) => delivery(`nt-d${pad(i)}`, i, i % 2 ? { job_id: 'nt-other', channel: 'email', target: { to: ['a@example.com'] } } : {}));
      await store.insertDeliveries(ds);
      await store.insertDeliveries([delivery('nt-d00', 0, { event: 'late' })]);
      const all = await allPages((after) => store.listDeliveries({}, after, 3), 3);
      assert.deepEqual(
        all.filter((d) => d.id.startsWith('nt-d')),
        [...ds].reverse(),
      );
      const mine = await allPages((after) => store.listDeliveries({ job_id: 'nt-job' }, after, 2), 2);
      assert.deepEqual(
        mine.map((d) => d.id),
        ['nt-d06', 'nt-d04', 'nt-d02', 'nt-d00'],
      );
      assert.deepEqual((await store.listDeliveries({ job_id: 'nt-job', status: 'failed' }, null, 10)).items, []);
      await rejectsCursor(() => store.listDeliveries({}, 'not a cursor', 10), 'listDeliveries');
    });

    it('claims due deliveries once across callers, takes back an expired lock, records each try', async () => {
      const now = at(era, 100);
      const due = range(6).map((i) => delivery(`nt-c${pad(i)}`, 50 + i, { job_id: 'nt-claim', next_attempt_at: at(era, 50 + i) }));
      const later = delivery('nt-c-later', 200, { job_id: 'nt-claim', next_attempt_at: at(era, 200) });
      await store.insertDeliveries([...due, later]);
      const lockedUntil = at(era, 110);
      const [a, b] = await Promise.all([store.claimDeliveries(now, lockedUntil, 4), store.claimDeliveries(now, lockedUntil, 4)]);
      const claimed = [...a, ...b].filter((d) => d.job_id === 'nt-claim');
      assert.deepEqual(
        claimed.map((d) => d.id).sort(),
        due.map((d) => d.id),
      );
      assert.ok(claimed.every((d) => d.status === 'sending' && d.locked_until?.getTime() === lockedUntil.getTime()));
      assert.deepEqual(
        (await store.claimDeliveries(now, lockedUntil, 10)).filter((d) => d.job_id === 'nt-claim'),
        [],
      );

      const attempt = { at: at(era, 101), ok: false, code: 500, error: 'answered 500', duration_ms: 12 };
      await store.settleDelivery('nt-c00', 'pending', attempt, at(era, 105), null);
      const ok = { at: at(era, 102), ok: true, code: 200, error: null, duration_ms: 3 };
      await store.settleDelivery('nt-c01', 'delivered', ok, at(era, 102), at(era, 102));
      // Past their lock, the others are taken again (their sender died); nt-c00 once due again.
      const again = (await store.claimDeliveries(at(era, 111), at(era, 120), 10)).filter((d) => d.job_id === 'nt-claim');
      assert.deepEqual(again.map((d) => d.id).sort(), ['nt-c00', 'nt-c02', 'nt-c03', 'nt-c04', 'nt-c05']);
      await store.settleDelivery('nt-c00', 'delivered', ok, at(era, 112), at(era, 112));
      const listed = await allPages((after) => store.listDeliveries({ job_id: 'nt-claim' }, after, 10), 10);
      const c00 = listed.find((d) => d.id === 'nt-c00')!;
      assert.deepEqual(c00.attempts, [attempt, ok]);
      assert.equal(c00.status, 'delivered');
      assert.equal(c00.locked_until, null);
      assert.deepEqual(c00.delivered_at, at(era, 112));
      const c01 = listed.find((d) => d.id === 'nt-c01')!;
      assert.deepEqual([c01.status, c01.attempts], ['delivered', [ok]]);
      assert.deepEqual(
        (await store.listDeliveries({ job_id: 'nt-claim', status: 'delivered' }, null, 10)).items.map((d) => d.id),
        ['nt-c01', 'nt-c00'],
      );
    });

    it('deletes settled deliveries created before a time, and only those', async () => {
      // Created the era before the others, so the deletion reaches only these.
      const old = (i: number) => new Date(at(era - 1, i).getTime());
      const purge = (id: string, i: number, over: Partial<DeliveryRecord>) =>
        delivery(id, 0, { job_id: 'nt-purge', created_at: old(i), next_attempt_at: at(era + 50, 0), ...over });
      await store.insertDeliveries([
        purge('nt-old-done', 300, { status: 'delivered' }),
        purge('nt-old-failed', 301, { status: 'failed' }),
        purge('nt-old-pending', 302, {}),
        purge('nt-new-done', 400, { status: 'delivered' }),
      ]);
      assert.equal(await store.deleteDeliveriesBefore(old(350)), 2);
      assert.deepEqual(
        (await store.listDeliveries({ job_id: 'nt-purge' }, null, 10)).items.map((d) => d.id),
        ['nt-new-done', 'nt-old-pending'],
      );
    });

    it('keeps the default rules, who set them and when', async () => {
      const none = await store.getNotifyDefaults();
      assert.deepEqual(none, { notify: [], updated_at: null, updated_by: null });
      const rules = [
        { on: ['failed' as const, 'late' as const], slack: { url: { $secret: 'slack' } } },
        { on: ['paused' as const], email: { to: ['ops@example.com'] } },
      ];
      const set = await store.setNotifyDefaults(rules, 'ops');
      assert.deepEqual(set.notify, rules);
      assert.equal(set.updated_by, 'ops');
      assert.ok(set.updated_at instanceof Date);
      assert.deepEqual(await store.getNotifyDefaults(), set);
      const cleared = await store.setNotifyDefaults([], null);
      assert.deepEqual([cleared.notify, cleared.updated_by], [[], null]);
    });

    it('lists the jobs that have a deadline, with their fields', async () => {
      const withDeadline = job('nt-deadline', era, {
        deadline: { start_within: 30, run_within: null },
        notify: [{ on: ['late'], webhook: { url: 'https://h.example.com/', secret: null } }],
      });
      await store.insertJobs([withDeadline, job('nt-no-deadline', era)]);
      const found = (await store.jobsWithDeadlines()).filter((j) => j.job_id.startsWith('nt-'));
      assert.deepEqual(found, [withDeadline]);
    });

    it('marks a key once across callers; forgets marks older than a time', async () => {
      const keys = range(5).map((i) => `nt-mark-${i}`);
      const results = await Promise.all([store.markOnce(keys, at(era, 500)), store.markOnce([...keys].reverse(), at(era, 500)), store.markOnce(keys.slice(0, 2), at(era, 500))]);
      const all = results.flat();
      assert.deepEqual([...all].sort(), keys);
      // Callers giving the same keys in opposite orders at once: each key marked once, and no
      // caller fails (inserted in the order given, two such callers deadlocked).
      for (let round = 0; round < 20; round++) {
        const many = range(100).map((i) => `nt-race-${round}-${String(i).padStart(3, '0')}`);
        const shuffled = [...many].sort(() => Math.random() - 0.5);
        const raced = await Promise.all([store.markOnce(many, at(era, 500)), store.markOnce([...many].reverse(), at(era, 500)), store.markOnce(shuffled, at(era, 500))]);
        assert.deepEqual(raced.flat().sort(), many, `round ${round}: each key marked by one caller`);
      }
      assert.deepEqual(await store.markOnce(keys, at(era, 501)), []);
      assert.deepEqual(await store.markOnce([], at(era, 501)), []);
      await store.deleteMarksBefore(at(era, 501));
      assert.deepEqual((await store.markOnce(['nt-mark-0'], at(era, 502))).length, 1);
    });
  });
}
