import type { Failure } from 'jobs-service/client';
import { ActionButton, ErrorBox, Empty, Link, Time, useAsync, useMay, usePager, useSession } from '../components.js';

export function FailuresPage() {
  const { client } = useSession();
  const may = useMay();
  const { cursor, Pager, reset } = usePager();
  const page = useAsync(() => client.jobs.list({ job_type: 'failed', limit: 50, ...(cursor ? { cursor } : {}) }), [cursor]);
  const failures = (page.data?.jobs ?? []) as Failure[];
  return (
    <section>
      <h1>Failures</h1>
      <p class="muted">The record each failed, timed-out or lost run leaves, newest first.</p>
      {may('cleanFailed') && failures.length > 0 && (
        <ActionButton
          class="danger"
          confirm="Delete every failure record? The runs themselves stay."
          onAction={async () => {
            await client.jobs.cleanFailed();
            reset();
            page.reload();
          }}
        >
          Clean up all failure records
        </ActionButton>
      )}
      <ErrorBox error={page.error} />
      {page.data && failures.length === 0 && <Empty>No failures recorded.</Empty>}
      {failures.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Job</th>
                <th scope="col">Handler</th>
                <th scope="col">Error</th>
                <th scope="col">Run</th>
              </tr>
            </thead>
            <tbody>
              {failures.map((f) => (
                <tr key={f.execution_id}>
                  <td>
                    <Time iso={f.time} />
                  </td>
                  <td>{f.failed_job_id ? <Link to={`/jobs/${encodeURIComponent(f.failed_job_id)}`}>{f.failed_job_id}</Link> : <span class="muted">—</span>}</td>
                  <td>{f.handler}</td>
                  <td class="error-text">{f.error}</td>
                  <td>
                    <Link to={`/runs/${f.execution_id}`}>open run</Link>
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
