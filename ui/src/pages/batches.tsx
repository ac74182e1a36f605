import { batchFinished, type Execution } from 'jobs-service/client';
import { useState } from 'preact/hooks';
import { BarChart, ErrorBox, Empty, Link, Status, Time, useAsync, usePager, useSession } from '../components.js';
import { duration } from '../format.js';
import { RunsTable } from './job.js';
import { statusOrder } from './overview.js';

function Batch({ batchId }: { batchId: string }) {
  const { client } = useSession();
  const [done, setDone] = useState(false);
  const batch = useAsync(
    async () => {
      const b = await client.batches.get(batchId);
      setDone(batchFinished(b));
      return b;
    },
    [batchId],
    done ? undefined : 1000,
  );
  const { cursor, Pager } = usePager();
  const runs = useAsync(() => client.executions.list({ batch_id: batchId, limit: 100, ...(cursor ? { cursor } : {}) }), [batchId, cursor], done ? undefined : 2000);
  const b = batch.data;
  return (
    <section>
      <h1>
        Batch <span class="mono">{batchId.slice(0, 8)}</span>
      </h1>
      <ErrorBox error={batch.error} />
      {b && (
        <>
          <p>
            {b.job_id && (
              <>
                Job <Link to={`/jobs/${encodeURIComponent(b.job_id)}`}>{b.job_id}</Link> ·{' '}
              </>
            )}
            {b.total} runs · submitted <Time iso={b.submitted_at} /> · started <Time iso={b.started_at} /> ·{' '}
            {b.finished_at ? (
              <>
                ended <Time iso={b.finished_at} />
              </>
            ) : (
              'in progress'
            )}
            {b.duration_ms !== null && ` · took ${duration(b.duration_ms)}`}
          </p>
          <div
            class="meter"
            role="img"
            aria-label={statusOrder
              .map((s) => (b.counts[s] ? `${s} ${b.counts[s]}` : ''))
              .filter(Boolean)
              .join(', ')}
          >
            {statusOrder.map((s) => (b.counts[s] ? <span key={s} class={`meter-part fill-${s}`} style={{ flexGrow: b.counts[s] }} title={`${s}: ${b.counts[s]}`} /> : null))}
          </div>
          <ul class="legend">
            {statusOrder.map((s) =>
              b.counts[s] ? (
                <li key={s}>
                  <Status status={s} /> {b.counts[s]}
                </li>
              ) : null,
            )}
          </ul>
        </>
      )}
      {runs.data && runs.data.executions.length > 0 && (
        <BarChart
          title="Duration of each run"
          unit=" ms"
          bars={[...runs.data.executions]
            .reverse()
            .map((r) => ({ label: r.id.slice(0, 8), parts: [{ value: Math.max(1, r.duration_ms ?? 0), cls: `fill-${r.status}`, title: r.status }] }))}
        />
      )}
      {runs.data && <RunsTable runs={runs.data.executions} />}
      {runs.data && <Pager next={runs.data.next_cursor} />}
    </section>
  );
}

/** The batches among the newest runs, newest first. */
function recentBatches(runs: Execution[]) {
  const seen = new Map<string, { batch_id: string; job_id: string | null; created_at: string; runs: number }>();
  for (const r of runs) {
    if (!r.batch_id) continue;
    const b = seen.get(r.batch_id);
    if (b) b.runs++;
    else seen.set(r.batch_id, { batch_id: r.batch_id, job_id: r.job_id, created_at: r.created_at, runs: 1 });
  }
  return [...seen.values()];
}

export function BatchesPage({ batchId }: { batchId: string | null }) {
  const { client, navigate } = useSession();
  const [lookup, setLookup] = useState('');
  const recent = useAsync(() => (batchId ? Promise.resolve(null) : client.executions.list({ limit: 1000 })), [batchId], 10000);
  if (batchId) return <Batch batchId={batchId} />;
  const batches = recent.data ? recentBatches(recent.data.executions) : [];
  return (
    <section>
      <h1>Batches</h1>
      <p class="muted">A batch is the runs one "Run now" with times &gt; 1 started together.</p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (lookup.trim()) navigate(`/batches/${lookup.trim()}`);
        }}
      >
        <div class="field">
          <label for="batch-id">Batch id</label>
          <input id="batch-id" value={lookup} onInput={(e) => setLookup(e.currentTarget.value)} />
        </div>
        <button type="submit">Open</button>
      </form>
      <h2>Among the newest 1000 runs</h2>
      <ErrorBox error={recent.error} />
      {recent.data && batches.length === 0 && <Empty>No batches among the newest runs.</Empty>}
      {batches.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Batch</th>
                <th scope="col">Job</th>
                <th scope="col">Created</th>
                <th scope="col">Runs seen</th>
              </tr>
            </thead>
            <tbody>
              {batches.map((b) => (
                <tr key={b.batch_id}>
                  <td>
                    <Link to={`/batches/${b.batch_id}`} class="mono">
                      {b.batch_id.slice(0, 8)}
                    </Link>
                  </td>
                  <td>{b.job_id ?? '—'}</td>
                  <td>
                    <Time iso={b.created_at} />
                  </td>
                  <td>{b.runs}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
