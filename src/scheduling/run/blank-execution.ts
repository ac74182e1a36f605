import { timeOrderedId } from '../../store/ids.js';
import type { ExecutionRecord } from '../../store/types.js';

/** A queued execution with every field at its default; callers fill in the job, handler and times. */
export function blankExecution(): ExecutionRecord {
  const now = new Date();
  const id = timeOrderedId();
  return {
    id,
    job_id: null,
    handler: '',
    kwargs: {},
    status: 'queued',
    trigger: 'schedule',
    parent_id: null,
    batch_id: null,
    selection: null,
    attempt: 1,
    timeout: null,
    worker_id: null,
    cancel_requested_at: null,
    scheduled_at: now,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    progress: null,
    error: null,
    stack: null,
    output: [],
    output_truncated: false,
    created_at: now,
    idempotency_key: id,
    fencing_token: null,
    job_version: null,
    active_execution_id: null,
    jitter_ms: null,
    restarted_from: null,
    triggered_by: null,
    chains_pending: false,
    notifies: false,
  };
}
