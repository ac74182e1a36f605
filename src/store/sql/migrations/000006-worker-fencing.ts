/**
 * 000006: fencing. One sequence hands out the token of every worker registration and of every
 * run's start, so a later one always holds a larger number; a run keeps its idempotency key
 * (the first attempt's id, shared by its retries) and its fencing token; gone workers are
 * found by age for their removal. Additive.
 */
export const name = 'worker-fencing';

export const sql = `
CREATE SEQUENCE IF NOT EXISTS fencing_token_seq;
ALTER TABLE worker ADD COLUMN IF NOT EXISTS token bigint;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS idempotency_key text;
ALTER TABLE execution ADD COLUMN IF NOT EXISTS fencing_token bigint;
CREATE INDEX IF NOT EXISTS worker_gone_idx ON worker (heartbeat_at) WHERE state = 'gone';
`;
