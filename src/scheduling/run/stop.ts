import type { ExecutionStatus } from '../../store/types.js';

/** Why a run's signal fired; each ends the run in its own way. */
export type StopReason = 'cancel' | 'timeout' | 'shutdown' | 'replaced' | 'fenced';

export const stopOutcome: Record<StopReason, { status: ExecutionStatus; error: (timeout: number | null) => string }> = {
  cancel: { status: 'cancelled', error: () => 'cancelled on request' },
  replaced: { status: 'cancelled', error: () => 'cancelled: replaced by a newer run of the job' },
  shutdown: { status: 'cancelled', error: () => 'cancelled: the worker shut down before the run ended' },
  timeout: { status: 'timed_out', error: (t) => `timed out after ${t} s` },
  // Its worker was declared gone (stalled past the window): the run was, or is about to be,
  // settled as lost and retried elsewhere; this worker stops it.
  fenced: { status: 'lost', error: () => 'lost: its worker was declared gone while the run was running; stopped there' },
};
