/**
 * 000016: notifications. A job's rules, auto-pause and deadline, and its failures in a row; a
 * run's flag saying its end is looked at; the queue of deliveries; the service-wide rules; and
 * the marks that make a late run notified once across processes. Additive: a release that
 * does not know them ignores them.
 */
export const name = 'notifications';

export const sql = `
ALTER TABLE job ADD COLUMN IF NOT EXISTS notify jsonb;
ALTER TABLE job ADD COLUMN IF NOT EXISTS pause_after_failures integer;
ALTER TABLE job ADD COLUMN IF NOT EXISTS deadline jsonb;
ALTER TABLE job ADD COLUMN IF NOT EXISTS failure_streak integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS job_deadline_idx ON job (job_id) WHERE deadline IS NOT NULL;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS notifies boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS notification_delivery (
  id               text COLLATE "C" PRIMARY KEY,
  job_id           text,
  execution_id     text,
  event            text NOT NULL,
  channel          text NOT NULL,
  target           jsonb NOT NULL,
  payload          jsonb NOT NULL,
  status           text NOT NULL,
  attempts         jsonb NOT NULL DEFAULT '[]',
  next_attempt_at  timestamptz NOT NULL,
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL,
  delivered_at     timestamptz
);
CREATE INDEX IF NOT EXISTS notification_delivery_due_idx ON notification_delivery (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS notification_delivery_created_idx ON notification_delivery (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS notification_delivery_job_idx ON notification_delivery (job_id, created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS notify_defaults (
  id          text PRIMARY KEY,
  notify      jsonb NOT NULL,
  updated_at  timestamptz NOT NULL,
  updated_by  text
);

CREATE TABLE IF NOT EXISTS notify_mark (
  key         text COLLATE "C" PRIMARY KEY,
  created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS notify_mark_created_idx ON notify_mark (created_at);
`;
