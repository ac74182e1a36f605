/** How jobsctl shows things to people: tables, times, durations and problems. */
import Table from 'cli-table3';
import type { Batch, Delivery, Event, Execution, FieldError, Job, JobDetail, NotifyRule, Problem, Worker } from '../client/index.js';

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

const links = (l: Job['on_success']) => (l.length ? l.map((x) => (x.kwargs ? `${x.job_id} ${JSON.stringify(x.kwargs)}` : x.job_id)).join(', ') : null);
/** A notification rule on one line: `failed, late -> webhook https://host/[redacted]`. */
export function ruleText(r: NotifyRule): string {
  const url = (u: unknown) => (typeof u === 'string' ? u : `secret ${(u as { $secret: string }).$secret}`);
  const to = r.webhook ? `webhook ${url(r.webhook.url)}` : r.slack ? `slack ${url(r.slack.url)}` : `email ${[r.email?.to ?? []].flat().join(', ')}`;
  return `${r.on.join(', ')} -> ${to}`;
}

function deadlineText(d: NonNullable<Job['deadline']>): string {
  return [d.start_within ? `start within ${d.start_within}s` : null, d.run_within ? `run within ${d.run_within}s` : null].filter(Boolean).join(', ');
}

export function deliveriesTable(deliveries: Delivery[]): string {
  return table(
    ['CREATED', 'JOB', 'EVENT', 'CHANNEL', 'STATUS', 'TRIES', 'LAST ERROR', 'ID'],
    deliveries.map((d) => [time(d.created_at), d.job_id, d.event, d.channel, d.status, d.attempts.length, d.attempts.at(-1)?.error ?? null, d.id]),
    'no deliveries',
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
    ['notify', job.notify.length ? job.notify.map(ruleText).join('; ') : null],
    ['pause after', job.pause_after_failures === null ? null : `${job.pause_after_failures} failed runs in a row`],
    ['deadline', job.deadline ? deadlineText(job.deadline) : null],
    ['source', job.source],
    ['version', String(job.version)],
    // Chains only when set, so a job without them reads as before.
    ...(
      [
        ['on success', links(job.on_success)],
        ['on failure', links(job.on_failure)],
        ['on finish', links(job.on_finish)],
        ['after all', job.after_all.length ? job.after_all.join(', ') : null],
      ] as Array<[string, Cell]>
    ).filter(([, v]) => v !== null),
    ['created', time(job.created_at)],
  ];
  // The schedule's bounds only when set, after the schedule line.
  const bounds: Array<[string, Cell]> = [];
  if (job.catch_up !== 'none') bounds.push(['catch-up', job.catch_up]);
  if (job.start_at || job.end_at) bounds.push(['window', `${time(job.start_at)} to ${time(job.end_at)}`]);
  if (job.max_runs !== null) bounds.push(['max runs', job.max_runs]);
  if (job.jitter) bounds.push(['jitter', `${job.jitter}s`]);
  if (job.schedule_ended) bounds.push(['schedule ended', job.schedule_ended]);
  pairs.splice(4, 0, ...bounds);
  // Container jobs only: the pull of their image.
  if (job.image_status) pairs.push(['image', job.image_error ? `${job.image_status}: ${job.image_error}` : job.image_status]);
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

/** Fire times in UTC and, for a schedule with a time zone, in that zone (with its offset). */
export function firesTable(fires: string[], timezone: string | null, empty: string): string {
  const local = (iso: string) =>
    new Intl.DateTimeFormat('sv-SE', {
      timeZone: timezone!,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'shortOffset',
    }).format(new Date(iso));
  const head = timezone ? ['FIRE (UTC)', `IN ${timezone}`] : ['FIRE (UTC)'];
  return table(
    head,
    fires.map((f) => (timezone ? [time(f), local(f)] : [time(f)])),
    empty,
  );
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
    ...(
      [
        ['restart of', e.restarted_from],
        ['triggered by', e.triggered_by ? `${e.triggered_by.execution_id} (job ${e.triggered_by.job_id}, on ${e.triggered_by.on})` : null],
      ] as Array<[string, Cell]>
    ).filter(([, v]) => v !== null),
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
