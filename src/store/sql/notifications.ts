import type { SqlClient } from '../../db/sql-client.js';
import type { NotificationStore } from '../notifications.js';
import type { DeliveryAttempt, DeliveryFilter, DeliveryRecord, DeliveryStatus, JobState, NotifyRule, Page } from '../records.js';
import { keysetPage, type Keyset } from './keyset.js';
import { json, rowToJob, type Row } from './rows.js';

function rowToDelivery(r: Row): DeliveryRecord {
  return {
    id: r.id as string,
    job_id: (r.job_id as string | null) ?? null,
    execution_id: (r.execution_id as string | null) ?? null,
    event: r.event as DeliveryRecord['event'],
    channel: r.channel as DeliveryRecord['channel'],
    target: r.target as Record<string, unknown>,
    payload: r.payload as Record<string, unknown>,
    status: r.status as DeliveryStatus,
    attempts: ((r.attempts as Array<Omit<DeliveryAttempt, 'at'> & { at: string }> | null) ?? []).map((a) => ({ ...a, at: new Date(a.at) })),
    next_attempt_at: r.next_attempt_at as Date,
    locked_until: (r.locked_until as Date | null) ?? null,
    created_at: r.created_at as Date,
    delivered_at: (r.delivered_at as Date | null) ?? null,
  };
}

/** notification_delivery_created_idx, or notification_delivery_job_idx with a job. */
const deliveriesNewestFirst: Keyset<DeliveryRecord> = {
  table: 'notification_delivery',
  columns: ['created_at', 'id'],
  direction: 'DESC',
  shape: ['number', 'string'],
  toItem: rowToDelivery,
  keyOf: (d) => [d.created_at.getTime(), d.id],
};

// The job row is locked and read before it is written, so the answer says what it was.
const countRunEndSql = `WITH o AS (SELECT job_id, failure_streak, state FROM job WHERE job_id = $1 FOR UPDATE)
  UPDATE job j
     SET failure_streak = CASE WHEN $2::boolean THEN o.failure_streak + 1 ELSE 0 END,
         state = CASE WHEN $2::boolean AND j.pause_after_failures IS NOT NULL AND o.failure_streak + 1 >= j.pause_after_failures THEN 'paused' ELSE j.state END,
         updated_at = CASE WHEN $2::boolean OR o.failure_streak > 0 THEN now() ELSE j.updated_at END
    FROM o WHERE j.job_id = o.job_id
  RETURNING j.*, o.failure_streak AS streak_before, o.state AS state_before`;
const insertDelivery = `INSERT INTO notification_delivery (id, job_id, execution_id, event, channel, target, payload, status, attempts, next_attempt_at, created_at)
  SELECT id, job_id, execution_id, event, channel, target::jsonb, payload::jsonb, status, '[]'::jsonb, next_attempt_at, created_at
    FROM json_to_recordset($1::json) AS v(id text, job_id text, execution_id text, event text, channel text, target json, payload json,
                                              status text, next_attempt_at timestamptz, created_at timestamptz)
  ON CONFLICT (id) DO NOTHING`;
// notification_delivery_due_idx; SKIP LOCKED: processes claiming at once take different rows.
const claimDue = `UPDATE notification_delivery t SET status = 'sending', locked_until = $2
   WHERE t.id IN (SELECT id FROM notification_delivery
                   WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 AND (status = 'pending' OR locked_until < $1)
                   ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
  RETURNING t.*`;
const settle = `UPDATE notification_delivery SET status = $2, attempts = attempts || jsonb_build_array($3::jsonb), next_attempt_at = $4,
    delivered_at = $5, locked_until = NULL WHERE id = $1`;
const deleteSettledBefore = "DELETE FROM notification_delivery WHERE created_at < $1 AND status IN ('delivered', 'failed')";
const selectDefaults = "SELECT notify, updated_at, updated_by FROM notify_defaults WHERE id = 'service'";
const upsertDefaults = `INSERT INTO notify_defaults (id, notify, updated_at, updated_by) VALUES ('service', $1::jsonb, now(), $2)
  ON CONFLICT (id) DO UPDATE SET notify = EXCLUDED.notify, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
  RETURNING notify, updated_at, updated_by`;
// job_deadline_idx
const selectJobsWithDeadlines = 'SELECT * FROM job WHERE deadline IS NOT NULL';
const insertMarks = `INSERT INTO notify_mark (key, created_at) SELECT k, $2 FROM unnest($1::text[]) AS k ON CONFLICT (key) DO NOTHING RETURNING key`;
const deleteMarks = 'DELETE FROM notify_mark WHERE created_at < $1';

/** Notifications on PostgreSQL and PGlite: notification_delivery, notify_defaults, notify_mark, and the job's counters. */
export class SqlNotificationStore implements NotificationStore {
  constructor(private readonly db: SqlClient) {}

  async countRunEnd(jobId: string, failed: boolean) {
    const r = await this.db.query<Row>(countRunEndSql, [jobId, failed]);
    const row = r.rows[0];
    if (!row) return null;
    return { job: rowToJob(row), streak_before: Number(row.streak_before), state_before: row.state_before as JobState };
  }

  async insertDeliveries(deliveries: DeliveryRecord[]) {
    if (deliveries.length === 0) return;
    await this.db.query(insertDelivery, [JSON.stringify(deliveries)]);
  }

  async claimDeliveries(now: Date, lockedUntil: Date, limit: number) {
    const r = await this.db.query<Row>(claimDue, [now, lockedUntil, limit]);
    return r.rows.map(rowToDelivery);
  }

  async settleDelivery(id: string, status: DeliveryStatus, attempt: DeliveryAttempt, nextAttemptAt: Date, deliveredAt: Date | null) {
    await this.db.query(settle, [id, status, json(attempt), nextAttemptAt, deliveredAt]);
  }

  listDeliveries(filter: DeliveryFilter, after: string | null, limit: number): Promise<Page<DeliveryRecord>> {
    const conditions: Array<[string, unknown]> = [];
    if (filter.job_id !== undefined) conditions.push(['job_id = ?', filter.job_id]);
    if (filter.status !== undefined) conditions.push(['status = ?', filter.status]);
    return keysetPage(this.db, deliveriesNewestFirst, conditions, after, limit);
  }

  async deleteDeliveriesBefore(before: Date) {
    const r = await this.db.query(deleteSettledBefore, [before]);
    return r.rowCount;
  }

  async getNotifyDefaults() {
    const row = (await this.db.query<Row>(selectDefaults, [])).rows[0];
    return row
      ? { notify: row.notify as NotifyRule[], updated_at: row.updated_at as Date, updated_by: (row.updated_by as string | null) ?? null }
      : { notify: [], updated_at: null, updated_by: null };
  }

  async setNotifyDefaults(notify: NotifyRule[], by: string | null) {
    const row = (await this.db.query<Row>(upsertDefaults, [JSON.stringify(notify), by])).rows[0];
    return { notify: row.notify as NotifyRule[], updated_at: row.updated_at as Date, updated_by: (row.updated_by as string | null) ?? null };
  }

  async jobsWithDeadlines() {
    return (await this.db.query<Row>(selectJobsWithDeadlines, [])).rows.map(rowToJob);
  }

  async markOnce(keys: string[], at: Date) {
    if (keys.length === 0) return [];
    // In one order for every caller: two inserts of the same keys in opposite orders each
    // waited for a key the other had inserted, and PostgreSQL ended one as a deadlock.
    const sorted = [...new Set(keys)].sort();
    return (await this.db.query<{ key: string }>(insertMarks, [sorted, at])).rows.map((r) => r.key);
  }

  async deleteMarksBefore(before: Date) {
    await this.db.query(deleteMarks, [before]);
  }
}
