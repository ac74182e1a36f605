/**
 * The fire planner on its own: no database, no timers; every case passes `now`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planFire, policyOf } from '../../src/scheduling/run/plan.js';
import { blankExecution } from '../../src/scheduling/run/blank-execution.js';
import type { ExecutionRecord, JobRecord } from '../../src/store/types.js';

const t = (iso: string) => new Date(iso);

function job(fields: Partial<JobRecord>): JobRecord {
  return {
    job_id: 'j',
    handler: 'echo',
    kwargs: {},
    state: 'running',
    periodically: null,
    interval_seconds: null,
    cron: null,
    timezone: null,
    when: null,
    misfire_grace_time: null,
    timeout: null,
    concurrency_policy: null,
    retries: 0,
    retry_backoff: 0,
    next_run_at: null,
    last_run_at: null,
    last_status: null,
    source: 'api',
    source_file: null,
    created_at: t('2026-01-01T00:00:00Z'),
    updated_at: t('2026-01-01T00:00:00Z'),
    version: 1,
    ...fields,
  };
}

function activeRun(id: string, status: 'queued' | 'running'): ExecutionRecord {
  const at = t('2026-01-01T00:00:00Z');
  return { ...blankExecution(), id, job_id: 'j', handler: 'echo', status, scheduled_at: at, started_at: status === 'running' ? at : null, created_at: at };
}

const every = (seconds: number, next: string, more: Partial<JobRecord> = {}) =>
  job({ periodically: `${seconds} seconds`, interval_seconds: seconds, next_run_at: t(next), ...more });

describe('planFire', () => {
  it("fires nothing for a missing or paused job, or one not due yet; the row keeps the job's next run", () => {
    const now = t('2026-03-01T12:00:00Z');
    assert.deepEqual(planFire(undefined, [], now), { action: 'none', rowNextRunAt: null });
    assert.deepEqual(planFire(every(60, '2026-03-01T11:59:00Z', { state: 'paused' }), [], now), { action: 'none', rowNextRunAt: null });
    assert.deepEqual(planFire(job({ next_run_at: null }), [], now), { action: 'none', rowNextRunAt: null });
    const later = every(60, '2026-03-01T12:00:05Z');
    assert.deepEqual(planFire(later, [], now), { action: 'none', rowNextRunAt: t('2026-03-01T12:00:05Z') });
  });

  it('fires up to a second early', () => {
    const plan = planFire(every(60, '2026-03-01T12:00:01Z'), [], t('2026-03-01T12:00:00Z'));
    assert.equal(plan.action, 'run');
    assert.equal(plan.action === 'run' && plan.next?.toISOString(), '2026-03-01T12:01:01.000Z');
  });

  it('a one-shot `when` runs inline on its row, once, with no next fire', () => {
    const plan = planFire(job({ when: t('2026-03-01T12:00:00Z'), next_run_at: t('2026-03-01T12:00:00Z') }), [], t('2026-03-01T12:00:00.200Z'));
    assert.deepEqual(plan, { action: 'run', dueAt: t('2026-03-01T12:00:00Z'), next: null, cancel: [], inline: true });
  });

  it('a periodic fire queues a run of its own, never inline', () => {
    const plan = planFire(every(60, '2026-03-01T12:00:00Z'), [], t('2026-03-01T12:00:00Z'));
    assert.equal(plan.action === 'run' && plan.inline, false);
  });

  it('keeps the interval grid anchored at the due time, however late the fire runs', () => {
    // 5 min grid from 12:00; the fire runs 2 min 10 s late, then 3 periods and a bit late.
    const late = planFire(every(300, '2026-03-01T12:00:00Z'), [], t('2026-03-01T12:02:10Z'));
    assert.equal(late.action === 'run' && late.next?.toISOString(), '2026-03-01T12:05:00.000Z');
    const veryLate = planFire(every(300, '2026-03-01T12:00:00Z'), [], t('2026-03-01T12:15:00.500Z'));
    assert.equal(veryLate.action === 'run' && veryLate.next?.toISOString(), '2026-03-01T12:20:00.000Z');
    // Fired on time a thousand times in a row, the grid has not moved by a millisecond.
    let due = '2026-03-01T12:00:00.000Z';
    for (let i = 0; i < 1000; i++) {
      const p = planFire(every(7, due), [], new Date(t(due).getTime() + 350));
      assert.equal(p.action, 'run');
      due = (p as { next: Date }).next.toISOString();
    }
    assert.equal(due, new Date(t('2026-03-01T12:00:00Z').getTime() + 7000 * 1000).toISOString());
  });

  it('misfire: within the grace the late fire runs; beyond it the fire is recorded missed with why', () => {
    const j = every(60, '2026-03-01T12:00:00Z', { misfire_grace_time: 30 });
    assert.equal(planFire(j, [], t('2026-03-01T12:00:30Z')).action, 'run', 'exactly at the grace still runs');
    const missed = planFire(j, [], t('2026-03-01T12:00:30.001Z'));
    assert.equal(missed.action, 'missed');
    assert.equal(missed.action === 'missed' && missed.next?.toISOString(), '2026-03-01T12:01:00.000Z');
    assert.equal(missed.action === 'missed' && missed.reason, 'missed: due at 2026-03-01T12:00:00.000Z, 30 s late, beyond the misfire grace time of 30 s');
    // Hours late with no grace set: it runs, once, and the next fire is the next grid point.
    const noGrace = planFire(every(60, '2026-03-01T12:00:00Z'), [], t('2026-03-01T15:00:20Z'));
    assert.equal(noGrace.action === 'run' && noGrace.next?.toISOString(), '2026-03-01T15:01:00.000Z');
    // The grace is checked before the policy: a late fire beside an active run is missed for lateness.
    const both = planFire(j, [activeRun('r1', 'running')], t('2026-03-01T12:05:00Z'));
    assert.match(both.action === 'missed' ? both.reason : '', /beyond the misfire grace/);
  });

  it('forbid (the default of periodic jobs): an active run makes the fire missed', () => {
    const j = every(60, '2026-03-01T12:00:00Z');
    assert.equal(policyOf(j), 'forbid');
    const plan = planFire(j, [activeRun('r1', 'running')], t('2026-03-01T12:00:00Z'));
    assert.deepEqual(plan, {
      action: 'missed',
      dueAt: t('2026-03-01T12:00:00Z'),
      next: t('2026-03-01T12:01:00Z'),
      reason: 'missed: run r1 of this job was still running when this fire came due (concurrency_policy forbid)',
      activeId: 'r1',
    });
    const queued = planFire(every(60, '2026-03-01T12:00:00Z', { concurrency_policy: 'forbid' }), [activeRun('r2', 'queued')], t('2026-03-01T12:00:00Z'));
    assert.match(queued.action === 'missed' ? queued.reason : '', /run r2 of this job was still queued/);
  });

  it('allow (the default of one-shot jobs): runs beside the active runs, queued on a row of its own', () => {
    const oneShot = job({ next_run_at: t('2026-03-01T12:00:00Z') });
    assert.equal(policyOf(oneShot), 'allow');
    const plan = planFire(oneShot, [activeRun('r1', 'running')], t('2026-03-01T12:00:00Z'));
    assert.deepEqual(plan, { action: 'run', dueAt: t('2026-03-01T12:00:00Z'), next: null, cancel: [], inline: false });
    const periodic = planFire(every(60, '2026-03-01T12:00:00Z', { concurrency_policy: 'allow' }), [activeRun('r1', 'running')], t('2026-03-01T12:00:00Z'));
    assert.equal(periodic.action === 'run' && periodic.cancel.length, 0);
  });

  it('replace: runs, after cancelling every active run', () => {
    const runs = [activeRun('r1', 'running'), activeRun('r2', 'queued')];
    const plan = planFire(every(60, '2026-03-01T12:00:00Z', { concurrency_policy: 'replace' }), runs, t('2026-03-01T12:00:00Z'));
    assert.equal(plan.action, 'run');
    assert.deepEqual(plan.action === 'run' && plan.cancel.map((r) => r.id), ['r1', 'r2']);
    assert.equal(plan.action === 'run' && plan.inline, false);
    const none = planFire(every(60, '2026-03-01T12:00:00Z', { concurrency_policy: 'replace' }), [], t('2026-03-01T12:00:00Z'));
    assert.deepEqual(none.action === 'run' && none.cancel, []);
  });

  it('cron in a time zone: the next fire keeps the wall-clock time across a DST change', () => {
    // Clocks in Prague go 02:00 CET -> 03:00 CEST on 2026-03-29, 03:00 CEST -> 02:00 CET on 2026-10-25.
    const cron = (expr: string, next: string) => job({ cron: expr, timezone: 'Europe/Prague', next_run_at: t(next) });
    const nextOf = (expr: string, due: string) => {
      const plan = planFire(cron(expr, due), [], t(due));
      return plan.action === 'run' ? plan.next?.toISOString() : plan.action;
    };
    // 09:00 daily: 08:00Z in winter, 07:00Z from the day the clocks go forward, 08:00Z again in autumn.
    assert.equal(nextOf('0 9 * * *', '2026-03-27T08:00:00Z'), '2026-03-28T08:00:00.000Z');
    assert.equal(nextOf('0 9 * * *', '2026-03-28T08:00:00Z'), '2026-03-29T07:00:00.000Z');
    assert.equal(nextOf('0 9 * * *', '2026-10-24T07:00:00Z'), '2026-10-25T08:00:00.000Z');
    // 02:30 does not exist on 2026-03-29: that day's fire is at 03:30 CEST, and the day after at 02:30 CEST again.
    assert.equal(nextOf('30 2 * * *', '2026-03-28T01:30:00Z'), '2026-03-29T01:30:00.000Z');
    assert.equal(nextOf('30 2 * * *', '2026-03-29T01:30:00Z'), '2026-03-30T00:30:00.000Z');
    // 02:30 happens twice on 2026-10-25: it fires at the first one (CEST), then at 02:30 CET the day after.
    assert.equal(nextOf('30 2 * * *', '2026-10-24T00:30:00Z'), '2026-10-25T00:30:00.000Z');
    assert.equal(nextOf('30 2 * * *', '2026-10-25T00:30:00Z'), '2026-10-26T01:30:00.000Z');
  });

  it('cron: a fire hours late is recorded once and the next fire is the next cron time after now', () => {
    const j = job({ cron: '0 * * * *', timezone: 'UTC', next_run_at: t('2026-03-01T08:00:00Z'), misfire_grace_time: 60 });
    const plan = planFire(j, [], t('2026-03-01T11:20:00Z'));
    assert.equal(plan.action, 'missed');
    assert.equal(plan.action === 'missed' && plan.next?.toISOString(), '2026-03-01T12:00:00.000Z');
  });
});
