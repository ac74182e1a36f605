import type { Execution, Job, ListJobsQuery } from 'jobs-service/client';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Empty, Link, Status, StatusStrip, Time, useAsync, useMay, usePager, useSession } from '../components.js';
import { relative, scheduleOf } from '../format.js';

const stripLength = 10;

/** The last runs of each job on the page, fetched a few at a time once the list shows. */
function useStrips(jobs: Job[]): Record<string, Execution[]> {
  const { client } = useSession();
  const [strips, setStrips] = useState<Record<string, Execution[]>>({});
  const key = jobs.map((j) => `${j.job_id}:${j.last_run_time}`).join(',');
  useEffect(() => {
    let gone = false;
    const queue = [...jobs];
    const worker = async () => {
      for (let job = queue.shift(); job && !gone; job = queue.shift()) {
        const id = job.job_id;
        if (!job.last_run_time) continue;
        try {
          const page = await client.jobs.executions(id, { limit: stripLength });
          if (!gone) setStrips((s) => ({ ...s, [id]: page.executions }));
        } catch {
          // The strip is a hint; the job's page says what went wrong.
        }
      }
    };
    void Promise.all(Array.from({ length: 4 }, worker));
    return () => {
      gone = true;
    };
  }, [key]);
  return strips;
}

const params = () => new URLSearchParams(location.search);

export function JobsPage() {
  const { client, navigate } = useSession();
  const may = useMay();
  const p = params();
  const [filters, setFilters] = useState({
    search: p.get('search') ?? '',
    handler: p.get('handler') ?? '',
    state: p.get('state') ?? '',
    source: p.get('source') ?? '',
    last_status: p.get('last_status') ?? '',
  });
  const { cursor, Pager, reset } = usePager();
  const handlers = useAsync(() => client.handlers.list(), []);
  const query: ListJobsQuery = { job_type: 'user', limit: 50, ...(cursor ? { cursor } : {}) };
  for (const [k, v] of Object.entries(filters)) if (v) Object.assign(query, { [k]: v });
  const page = useAsync(() => client.jobs.list(query), [cursor, JSON.stringify(filters)], 10000);
  const jobs = (page.data?.jobs ?? []) as Job[];
  const strips = useStrips(jobs);
  const set = (k: keyof typeof filters, v: string) => {
    const next = { ...filters, [k]: v };
    setFilters(next);
    reset();
    const q = new URLSearchParams(Object.entries(next).filter(([, x]) => x));
    history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
  };
  return (
    <section>
      <div class="title-row">
        <h1>Jobs</h1>
        {may('createJob') && (
          <button type="button" class="primary" onClick={() => navigate('/jobs/new')}>
            New job
          </button>
        )}
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="jobs-search">Job id starts with</label>
          <input id="jobs-search" type="search" value={filters.search} onChange={(e) => set('search', e.currentTarget.value.trim())} />
        </div>
        <div class="field">
          <label for="jobs-handler">Handler</label>
          <select id="jobs-handler" value={filters.handler} onChange={(e) => set('handler', e.currentTarget.value)}>
            <option value="">any</option>
            {handlers.data?.handlers.map((h) => (
              <option key={h.name} value={h.name}>
                {h.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="jobs-state">State</label>
          <select id="jobs-state" value={filters.state} onChange={(e) => set('state', e.currentTarget.value)}>
            <option value="">any</option>
            <option value="running">running</option>
            <option value="paused">paused</option>
          </select>
        </div>
        <div class="field">
          <label for="jobs-source">Source</label>
          <select id="jobs-source" value={filters.source} onChange={(e) => set('source', e.currentTarget.value)}>
            <option value="">any</option>
            <option value="api">API</option>
            <option value="file">file</option>
          </select>
        </div>
        <div class="field">
          <label for="jobs-last-status">Last status</label>
          <select id="jobs-last-status" value={filters.last_status} onChange={(e) => set('last_status', e.currentTarget.value)}>
            <option value="">any</option>
            {['succeeded', 'failed', 'timed_out', 'lost', 'cancelled', 'missed', 'running', 'queued'].map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBox error={page.error} />
      {page.data && jobs.length === 0 && <Empty>No jobs match.</Empty>}
      {jobs.length > 0 && (
        <div class="table-wrap">
          <table class="jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Handler</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next run</th>
                <th scope="col">Last run</th>
                <th scope="col">Last status</th>
                <th scope="col">Recent runs</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.job_id} class={j.state === 'paused' ? 'paused' : ''}>
                  <td>
                    <Link to={`/jobs/${encodeURIComponent(j.job_id)}`}>{j.job_id}</Link>
                    {j.state === 'paused' && <span class="tag">paused</span>}
                    {j.source === 'file' && (
                      <span class="tag" title="defined in a default-jobs file">
                        file
                      </span>
                    )}
                  </td>
                  <td>{j.handler}</td>
                  <td>{scheduleOf(j)}</td>
                  <td>
                    {j.next_run_time ? (
                      <span title={new Date(j.next_run_time).toISOString()}>
                        <Time iso={j.next_run_time} /> <span class="muted small">({relative(j.next_run_time)})</span>
                      </span>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td>
                    <Time iso={j.last_run_time} />
                  </td>
                  <td>
                    <Status status={j.last_status} />
                  </td>
                  <td>
                    {strips[j.job_id] ? (
                      <StatusStrip statuses={[...strips[j.job_id]].reverse()} />
                    ) : j.last_run_time ? (
                      <span class="muted">…</span>
                    ) : (
                      <span class="muted">no runs</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {page.data && <Pager next={page.data.next_cursor} />}
    </section>
  );
}
