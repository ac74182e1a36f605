/** How jobsctl shows things to people: tables, times, durations and problems. */
import Table from 'cli-table3';
import type { Batch, Event, Execution, FieldError, Job, JobDetail, Problem, Worker } from '../client/index.js';

/** Borderless, like `kubectl get`: columns two spaces apart, no colours. */
const plain = {
  chars: {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '  ',
  },
  style: { 'padding-left': 0, 'padding-right': 0, head: [] as string[], border: [] as string[] },
};

type Cell = string | number | boolean | null | undefined;

/** A table with a header row; an empty list says so instead. */
export function table(head: string[], rows: Cell[][], empty = 'nothing to show'): string {
  if (rows.length === 0) return `${empty}\n`;
  const t = new Table({ ...plain, head });
  t.push(...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c)))));
  return trimEnds(t.toString());
}

/** Name/value pairs, one per line. */
export function details(pairs: Array<[string, Cell]>): string {
  const t = new Table(plain);
  for (const [k, v] of pairs) t.push([`${k}:`, v === null || v === undefined || v === '' ? '-' : String(v)]);
  return trimEnds(t.toString());
}

const trimEnds = (s: string) =>
  s
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n') + '\n';

/** `2027-01-31 14:05:09Z`: UTC to the second. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)}${units[i]}`;
}

/** Counts by status as `succeeded 3, failed 1`, largest first. */
export function counts(byStatus: Record<string, number | undefined>): string {
  const entries = Object.entries(byStatus).filter(([, n]) => n);
  if (entries.length === 0) return 'none';
  return entries
    .sort((a, b) => b[1]! - a[1]! || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

export function schedule(job: Job): string {
  if (job.periodically) return `every ${job.periodically}`;
  if (job.cron) return `cron ${job.cron}${job.timezone && job.timezone !== 'UTC' ? ` (${job.timezone})` : ''}`;
  return job.when ? `once at ${time(job.when)}` : 'once';
}

export function jobsTable(jobs: Job[]): string {
  return table(
    ['JOB', 'HANDLER', 'STATE', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'LAST STATUS'],
    jobs.map((j) => [j.job_id, j.handler, j.state, schedule(j), time(j.next_run_time), time(j.last_run_time), j.last_status]),
    'no jobs',
  );
}

export function jobDetails(job: Job | JobDetail): string {
  const pairs: Array<[string, Cell]> = [
    ['job', job.job_id],
    ['handler', job.handler],
    ['state', job.state],
    ['schedule', schedule(job)],
    ['next run', time(job.next_run_time)],
    ['last run', time(job.last_run_time)],
    ['last status', job.last_status],
    ['kwargs', JSON.stringify(job.kwargs)],
    ['misfire grace', job.misfire_grace_time === null ? null : `${job.misfire_grace_time}s`],
    ['timeout', job.timeout === null ? null : `${job.timeout}s`],
    ['concurrency', job.concurrency_policy],
    ['retries', job.retries ? `${job.retries} (backoff ${job.retry_backoff}s)` : '0'],
    ['source', job.source],
    ['version', String(job.version)],
    ['created', time(job.created_at)],
  ];
  if ('stats' in job) {
    const s = job.stats;
    pairs.push(
      ['runs', `${s.total} (succeeded ${s.succeeded}, failed ${s.failed})`],
      ['average duration', duration(s.average_duration_ms)],
      ['latest run', s.latest_execution ? `${s.latest_execution.id} ${s.latest_execution.status}` : null],
    );
  }
  return details(pairs);
}

export function executionsTable(executions: Execution[]): string {
  return table(
    ['RUN', 'JOB', 'HANDLER', 'STATUS', 'TRIGGER', 'ATTEMPT', 'CREATED', 'DURATION', 'ERROR'],
    executions.map((e) => [e.id, e.job_id, e.handler, e.status, e.trigger, e.attempt, time(e.created_at), duration(e.duration_ms), firstLine(e.error)]),
    'no runs',
  );
}

export function executionDetails(e: Execution): string {
  return details([
    ['run', e.id],
    ['job', e.job_id],
    ['handler', e.handler],
    ['status', e.status],
    ['trigger', e.trigger],
    ['attempt', e.attempt],
    ['batch', e.batch_id],
    ['parent', e.parent_id],
    ['worker', e.worker_id],
    ['scheduled', time(e.scheduled_at)],
    ['started', time(e.started_at)],
    ['finished', time(e.finished_at)],
    ['duration', duration(e.duration_ms)],
    ['progress', e.progress === null ? null : `${e.progress}%`],
    ['kwargs', JSON.stringify(e.kwargs)],
    ['error', e.error],
  ]);
}

export function batchDetails(b: Batch): string {
  return details([
    ['batch', b.batch_id],
    ['job', b.job_id],
    ['runs', `${b.total} (${counts(b.counts)})`],
    ['submitted', time(b.submitted_at)],
    ['started', time(b.started_at)],
    ['finished', time(b.finished_at)],
    ['duration', duration(b.duration_ms)],
  ]);
}

export function workersTable(workers: Worker[]): string {
  return table(
    ['WORKER', 'NAME', 'STATE', 'RUNNING', 'LOAD', 'MEMORY', 'VERSION', 'HEARTBEAT'],
    workers.map((w) => [w.id, w.name, w.state, w.running, w.cpu_load.toFixed(2), bytes(w.memory.process_rss), w.version, time(w.heartbeat_at)]),
    'no workers',
  );
}

export function workerDetails(w: Worker): string {
  return details([
    ['worker', w.id],
    ['name', w.name],
    ['state', w.state],
    ['host', w.host],
    ['pid', w.pid],
    ['version', w.version],
    ['started', time(w.started_at)],
    ['heartbeat', time(w.heartbeat_at)],
    ['running', w.running],
    ['load', w.cpu_load.toFixed(2)],
    ['memory', `${bytes(w.memory.process_rss)} (system ${bytes(w.memory.system_free)} free of ${bytes(w.memory.system_total)})`],
    ['handlers', w.handlers.join(', ')],
  ]);
}

const firstLine = (s: string | null) => (s ? s.split('\n')[0].slice(0, 80) : null);

/** A problem for people: the title and status, then the detail or every failing field. */
/** One event of `jobsctl events`: its time, type, and the ids and state it is about. */
export function eventLine(e: Event): string {
  const parts = [time(e.at), e.type];
  if (e.job_id !== null) parts.push(`job=${e.job_id}`);
  if (e.execution_id !== null) parts.push(`run=${e.execution_id}`);
  if (e.batch_id !== null) parts.push(`batch=${e.batch_id}`);
  if (e.status !== null) parts.push(`status=${e.status}`);
  if (e.progress !== null) parts.push(`progress=${e.progress}`);
  if (e.state !== null) parts.push(`state=${e.state}`);
  return parts.join(' ');
}

export function problemText(p: Problem): string {
  const lines = [`${p.title} (${p.status})`];
  const errors: FieldError[] = p.errors ?? [];
  if (errors.length) for (const e of errors) lines.push(`  ${e.field}: ${e.reason}`);
  else if (p.detail) lines.push(`  ${p.detail}`);
  return lines.join('\n');
}
