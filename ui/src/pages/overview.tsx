import type { Execution, ExecutionStatus, Failure } from 'jobs-service/client';
import { ActionButton, BarChart, ErrorBox, Link, Status, Time, useAsync, useMay, useSession, type Bar } from '../components.js';
import { duration, percentile } from '../format.js';
import { WorkersTable } from './workers.js';

export const statusOrder: ExecutionStatus[] = ['succeeded', 'failed', 'timed_out', 'lost', 'cancelled', 'missed', 'running', 'queued'];

/** Runs per hour of the last 24 hours, stacked by status, oldest hour first. */
export function hourlyBars(runs: Execution[], now = Date.now()): Bar[] {
  const hour = 3_600_000;
  const start = Math.floor(now / hour) * hour - 23 * hour;
  const buckets = Array.from({ length: 24 }, () => new Map<string, number>());
  for (const r of runs) {
    const i = Math.floor((new Date(r.created_at).getTime() - start) / hour);
    if (i >= 0 && i < 24) buckets[i].set(r.status, (buckets[i].get(r.status) ?? 0) + 1);
  }
  return buckets.map((b, i) => ({
    label: new Date(start + i * hour).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }),
    parts: statusOrder.filter((s) => b.get(s)).map((s) => ({ value: b.get(s)!, cls: `fill-${s}`, title: s })),
  }));
}

const dayRunsLimit = 1000;

export function OverviewPage() {
  const { client } = useSession();
  const may = useMay();
  const state = useAsync(() => client.service.status(), [], 5000);
  const stats = useAsync(() => client.service.stats(), [], 5000);
  const workers = useAsync(() => client.workers.list({ limit: 100 }), [], 5000);
  const day = useAsync(() => client.executions.list({ since: new Date(Date.now() - 86_400_000).toISOString(), limit: dayRunsLimit }), [], 15000);
  const failures = useAsync(() => client.jobs.list({ job_type: 'failed', limit: 5 }), [], 15000);
  const runs = day.data?.executions ?? [];
  const lags = runs.filter((r) => r.started_at).map((r) => new Date(r.started_at!).getTime() - new Date(r.scheduled_at).getTime());
  const paused = state.data?.state === 'paused';
  return (
    <section>
      <h1>Overview</h1>
      <ErrorBox error={state.error ?? stats.error} />
      <div class="cards">
        <div class={`card ${paused ? 'card-warn' : ''}`}>
          <h2>Service</h2>
          <p class="big" data-testid="service-state">
            {state.data?.state ?? '…'}
          </p>
          {paused && (
            <p class="small">
              since <Time iso={state.data?.paused_at} /> by {state.data?.paused_by ?? 'unknown'}
            </p>
          )}
          {may('setServiceState') && state.data && (
            <ActionButton
              class={paused ? 'primary' : 'danger'}
              confirm={paused ? undefined : 'Pause the service? No run starts anywhere until it is resumed; runs in progress finish.'}
              onAction={async () => {
                await client.service.setState(paused ? 'running' : 'paused');
                state.reload();
                stats.reload();
              }}
            >
              {paused ? 'Resume service' : 'Pause service'}
            </ActionButton>
          )}
        </div>
        <div class="card">
          <h2>Jobs</h2>
          <p class="big">{stats.data?.jobs ?? '…'}</p>
          <Link to="/jobs">All jobs</Link>
        </div>
        <div class="card">
          <h2>Queued</h2>
          <p class="big">{stats.data ? (stats.data.executions.queued ?? 0) : '…'}</p>
          <p class="small" title="from when a run was due to when it started, over the runs of the last 24 hours">
            start lag: median {duration(percentile(lags, 50))}, p95 {duration(percentile(lags, 95))}
          </p>
        </div>
        <div class="card">
          <h2>Running</h2>
          <p class="big">{stats.data ? (stats.data.executions.running ?? 0) : '…'}</p>
          <Link to="/runs?status=running">Running runs</Link>
        </div>
        <div class="card">
          <h2>Workers</h2>
          <p class="big">{stats.data ? (stats.data.workers.active ?? 0) : '…'}</p>
          <p class="small">
            active · {stats.data?.workers.blocked ?? 0} blocked · {stats.data?.workers.gone ?? 0} gone
          </p>
        </div>
      </div>
      <h2>Runs of the last 24 hours</h2>
      <ErrorBox error={day.error} />
      {day.data && (
        <>
          <BarChart bars={hourlyBars(runs)} title={`Runs per hour by status${day.data.next_cursor ? ` (the newest ${dayRunsLimit})` : ''}`} />
          <ul class="legend">
            {statusOrder.map((s) => {
              const n = runs.filter((r) => r.status === s).length;
              return n ? (
                <li key={s}>
                  <Link to={`/runs?status=${s}`}>
                    <Status status={s} /> {n}
                  </Link>
                </li>
              ) : null;
            })}
          </ul>
        </>
      )}
      <h2>Latest failures</h2>
      <ErrorBox error={failures.error} />
      {failures.data && failures.data.jobs.length === 0 && <p class="empty">No failures recorded.</p>}
      <ul class="failures">
        {((failures.data?.jobs ?? []) as Failure[]).map((f) => (
          <li key={f.execution_id}>
            <Link to={`/runs/${f.execution_id}`}>
              <Time iso={f.time} /> · {f.failed_job_id ?? f.handler}: <span class="error-text">{f.error}</span>
            </Link>
          </li>
        ))}
      </ul>
      <h2>Workers</h2>
      <ErrorBox error={workers.error} />
      {workers.data && <WorkersTable workers={workers.data.workers} onChange={workers.reload} />}
    </section>
  );
}
