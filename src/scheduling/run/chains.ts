import { failedStatuses, hasChains, type ChainLink, type ChainOn, type ExecutionRecord, type JobRecord, type Kwargs } from '../../store/types.js';
import type { Catalog } from '../catalog.js';
import type { FieldError } from '../errors.js';
import { defaultLimits, kwargsQuotaErrors } from '../quotas.js';
import type { RunDeps } from './deps.js';
import { policyOf } from './plan.js';
import { isDuplicateKey } from './retry.js';
import { derivedRunId } from './derived-id.js';

/** The fields of a run's result a chain's kwargs may read as `$.result.<field>`. */
export const resultFields = ['execution_id', 'job_id', 'status', 'error', 'attempt', 'started_at', 'finished_at', 'duration_ms'] as const;

/** A run's result as chains read it: handlers return nothing, so it is how the run ended. */
export function resultOf(run: ExecutionRecord): Record<(typeof resultFields)[number], unknown> {
  return {
    execution_id: run.id,
    job_id: run.job_id,
    status: run.status,
    error: run.error,
    attempt: run.attempt,
    started_at: run.started_at?.toISOString() ?? null,
    finished_at: run.finished_at?.toISOString() ?? null,
    duration_ms: run.duration_ms,
  };
}

const reference = /^\$\.(kwargs|result)((?:\.[^.]+)*)$/;

/** Field errors of one mapping (`kwargs` of a chain link): its references must name `$.kwargs...` or a known `$.result` field. */
export function mappingErrors(mapping: unknown, at: string): FieldError[] {
  if (mapping === undefined) return [];
  if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) return [{ field: at, reason: 'must be an object mapping kwarg names to values' }];
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(mapping)) {
    if (typeof v !== 'string' || !v.startsWith('$.')) continue;
    const m = reference.exec(v);
    if (!m) {
      errors.push({ field: `${at}.${k}`, reason: `'${v}' is not a reference: use $.kwargs.<path> or $.result.<field> (a literal string may not start with '$.')` });
    } else if (m[1] === 'result' && !(resultFields as readonly string[]).includes(m[2].slice(1))) {
      errors.push({ field: `${at}.${k}`, reason: `'${v}' names no field of a run's result; known: ${resultFields.join(', ')}` });
    }
  }
  return errors;
}

/** The kwargs a mapping gives the started run, read from the ending run; a reference to nothing leaves its kwarg out. */
export function mapKwargs(mapping: Record<string, unknown> | undefined, run: ExecutionRecord): Kwargs {
  const out: Kwargs = {};
  for (const [k, v] of Object.entries(mapping ?? {})) {
    const m = typeof v === 'string' ? reference.exec(v) : null;
    if (!m) {
      out[k] = v;
      continue;
    }
    let value: unknown = m[1] === 'kwargs' ? run.kwargs : resultOf(run);
    for (const part of m[2].split('.').slice(1)) {
      value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (value !== undefined) out[k] = value;
  }
  return out;
}

/** The links a run's end follows: on_success, on_failure (when no retry follows), on_finish (any end but missed). */
export function linksFor(job: JobRecord, run: ExecutionRecord): Array<{ link: ChainLink; on: ChainOn }> {
  const links: Array<{ link: ChainLink; on: ChainOn }> = [];
  if (run.status === 'missed') return links;
  const failed = failedStatuses.includes(run.status);
  const retryFollows = failed && run.attempt <= job.retries;
  if (run.status === 'succeeded') links.push(...job.on_success.map((link) => ({ link, on: 'success' as const })));
  if (failed && !retryFollows) links.push(...job.on_failure.map((link) => ({ link, on: 'failure' as const })));
  if (!retryFollows) links.push(...job.on_finish.map((link) => ({ link, on: 'finish' as const })));
  return links;
}

/**
 * The edges of the chain graph (a job to each job its ends start; each after_all job to its
 * fan-in job), with `job` in place of its stored version: the first cycle through `job`, as
 * the path of job ids, or null.
 */
export function cycleThrough(job: JobRecord, stored: JobRecord[]): string[] | null {
  const jobs = new Map(stored.map((j) => [j.job_id, j]));
  jobs.set(job.job_id, job);
  const edges = new Map<string, Set<string>>();
  const edge = (from: string, to: string) => (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
  for (const j of jobs.values()) {
    for (const l of [...j.on_success, ...j.on_failure, ...j.on_finish]) edge(j.job_id, l.job_id);
    for (const up of j.after_all) edge(up, j.job_id);
  }
  // Depth first from the job; a path back to it is a cycle.
  const seen = new Set<string>();
  const path: string[] = [job.job_id];
  const visit = (id: string): boolean => {
    for (const next of edges.get(id) ?? []) {
      if (next === job.job_id) return true;
      if (seen.has(next)) continue;
      seen.add(next);
      path.push(next);
      if (visit(next)) return true;
      path.pop();
    }
    return false;
  };
  return visit(job.job_id) ? [...path, job.job_id] : null;
}

/**
 * Starting the jobs a run's end chains to, exactly once: a run of a job with chains is stored
 * with chains_pending, as is a failed run by its end (its failure record and retry follow);
 * its end writes the chained runs (ids derived from the end, so a second try writes nothing)
 * and then clears the flag. A sweep takes up ends whose flag stayed set (the process died
 * between the end and what follows it). Fan-in jobs are checked by the same sweep.
 */
export class RunChains {
  constructor(
    private readonly deps: RunDeps,
    private readonly catalog: Catalog,
  ) {}

  /** Writes the runs a run's end starts (none for a run without chains_pending), then clears its flag. */
  async start(run: ExecutionRecord): Promise<void> {
    if (!run.chains_pending) return;
    const { store } = this.deps;
    const job = run.job_id && run.trigger !== 'flow' ? await store.getJob(run.job_id) : null;
    // Only the job that made the run: one deleted and made again under its id since has chains of its own.
    const sameJob = job !== null && job.handler === run.handler && job.created_at.getTime() <= run.created_at.getTime();
    const links = sameJob && hasChains(job) ? linksFor(job, run) : [];
    if (links.length) {
      const targets = new Map((await store.getJobs([...new Set(links.map((l) => l.link.job_id))])).map((j) => [j.job_id, j]));
      const runs: ExecutionRecord[] = [];
      links.forEach(({ link, on }, i) => {
        const target = targets.get(link.job_id);
        if (!target) {
          this.deps.log.warn({ execution_id: run.id, job_id: run.job_id, target: link.job_id, on }, 'chain not started: no such job');
          return;
        }
        const id = derivedRunId('chain', run.id, on, String(i), link.job_id);
        runs.push(this.chained(target, id, mapKwargs(link.kwargs, run), { execution_id: run.id, job_id: run.job_id!, on }));
      });
      await this.write(runs);
    }
    await store.updateExecution(run.id, { chains_pending: false });
  }

  /**
   * Ends whose flag stayed set (a crash after the end), ended more than `ageMs` ago: `followUp`
   * writes what follows each (RunRecorder.afterRun, which ends with `start`).
   */
  async sweep(ageMs: number, followUp: (run: ExecutionRecord) => Promise<void>): Promise<number> {
    const pending = await this.deps.store.chainsPending(new Date(Date.now() - ageMs), 100);
    for (const run of pending) await followUp(run);
    if (pending.length) this.deps.log.warn({ runs: pending.map((r) => r.id) }, 'what follows ended runs written by the sweep');
    return pending.length;
  }

  /**
   * Starts each fan-in job whose after_all jobs have all succeeded since its last run. The run's
   * id is derived from the succeeded runs it follows, so every worker checking at once writes it once.
   */
  async fanIn(): Promise<number> {
    const { store } = this.deps;
    let started = 0;
    for (const job of await store.fanInJobs()) {
      if (job.state !== 'running') continue;
      const last = (await store.listExecutions({ job_id: job.job_id }, null, 1)).items[0];
      const since = (last?.created_at ?? job.created_at).getTime();
      const ups: ExecutionRecord[] = [];
      for (const up of job.after_all) {
        const done = (await store.listExecutions({ job_id: up, status: 'succeeded' }, null, 1)).items[0];
        if (!done || (done.finished_at?.getTime() ?? 0) <= since) break;
        ups.push(done);
      }
      if (ups.length < job.after_all.length) continue;
      const latest = ups.reduce((a, b) => ((b.finished_at?.getTime() ?? 0) > (a.finished_at?.getTime() ?? 0) ? b : a));
      const id = derivedRunId('after_all', job.job_id, ...ups.map((u) => u.id).sort());
      started += await this.write([this.chained(job, id, {}, { execution_id: latest.id, job_id: latest.job_id!, on: 'after_all' })]);
    }
    return started;
  }

  /** A run of `target` started by a chain: queued, or ended at once as failed (bad kwargs) or missed (paused, busy, quotas). */
  private chained(target: JobRecord, id: string, mapped: Kwargs, triggeredBy: NonNullable<ExecutionRecord['triggered_by']>): ExecutionRecord {
    const now = new Date();
    const kwargs = { ...target.kwargs, ...mapped };
    const run = this.deps.newExecution(target, { id, idempotency_key: id, trigger: 'chain', scheduled_at: now, created_at: now, kwargs, triggered_by: triggeredBy });
    const errors = this.catalog.has(target.handler)
      ? [...kwargsQuotaErrors(kwargs, this.deps.options.limits ?? defaultLimits), ...this.catalog.validateKwargs(target.handler, kwargs, 'kwargs')]
      : [{ field: 'handler', reason: `'${target.handler}' is not loaded` }];
    if (errors.length) {
      const error = `not started: the kwargs mapped by the chain are invalid: ${errors.map((e) => `${e.field}: ${e.reason}`).join('; ')}`;
      return { ...run, status: 'failed', finished_at: now, error, chains_pending: false };
    }
    // A run that never ran starts no chains of its own.
    if (target.state === 'paused') return { ...run, status: 'missed', finished_at: now, error: 'missed: the job is paused', chains_pending: false };
    return run;
  }

  /** Stores the runs not stored yet (queued ones with their run rows); resolves with how many this call wrote. */
  private async write(runs: ExecutionRecord[]): Promise<number> {
    if (runs.length === 0) return 0;
    const { store, rows, log, options } = this.deps;
    const have = new Set((await store.getExecutions(runs.map((r) => r.id))).map((r) => r.id));
    const fresh = runs.filter((r) => !have.has(r.id));
    if (fresh.length === 0) return 0;
    // The target's concurrency policy and the queue quotas hold for chained runs as for fires.
    const queued = fresh.filter((r) => r.status === 'queued');
    if (queued.length) {
      const active = await store.activeExecutionsOf([...new Set(queued.map((r) => r.job_id!))]);
      const targets = new Map((await store.getJobs([...new Set(queued.map((r) => r.job_id!))])).map((j) => [j.job_id, j]));
      let room = (options.maxQueuedRuns ?? Infinity) - (await store.queuedCount());
      for (const r of queued) {
        const mine = active.filter((a) => a.job_id === r.job_id);
        const target = targets.get(r.job_id!);
        let reason: string | null = null;
        if (target && mine.length && policyOf(target) === 'forbid')
          reason = `missed: run ${mine[0].id} of job '${r.job_id}' is ${mine[0].status} and the job's concurrency_policy is forbid`;
        else if (mine.filter((a) => a.status === 'queued').length >= (options.maxQueuedRunsPerJob ?? Infinity))
          reason = `missed: job '${r.job_id}' has ${options.maxQueuedRunsPerJob} queued runs, the limit (JOBS_MAX_QUEUED_RUNS_PER_JOB)`;
        else if (room <= 0) reason = `missed: ${options.maxQueuedRuns} runs were queued in all, the limit (JOBS_MAX_QUEUED_RUNS)`;
        else room -= 1;
        if (reason) Object.assign(r, { status: 'missed', finished_at: r.created_at, error: reason, chains_pending: false });
      }
    }
    const toQueue = fresh.filter((r) => r.status === 'queued');
    const ended = fresh.filter((r) => r.status !== 'queued');
    try {
      if (ended.length) await store.insertExecutions(ended);
      if (toQueue.length) await rows.queue(toQueue);
    } catch (err) {
      // Written meanwhile by another try of the same end: nothing is left to write.
      if (!isDuplicateKey(err)) throw err;
      const now = new Set((await store.getExecutions(fresh.map((r) => r.id))).map((r) => r.id));
      const missing = fresh.filter((r) => !now.has(r.id));
      if (missing.length) throw err;
      return 0;
    }
    for (const r of fresh) {
      log.info(
        { execution_id: r.id, job_id: r.job_id, status: r.status, triggered_by: r.triggered_by, error: r.error },
        r.status === 'queued' ? 'chained run queued' : 'chained run not started',
      );
    }
    return fresh.length;
  }
}
