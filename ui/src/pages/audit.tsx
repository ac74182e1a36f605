import type { ListAuditQuery } from 'jobs-service/client';
import { useState } from 'preact/hooks';
import { ErrorBox, Empty, Link, Time, useAsync, usePager, useSession } from '../components.js';

export function AuditPage() {
  const { client } = useSession();
  const [operation, setOperation] = useState('');
  const { cursor, Pager, reset } = usePager();
  const query: ListAuditQuery = { limit: 50, ...(cursor ? { cursor } : {}), ...(operation ? { operation } : {}) };
  const page = useAsync(() => client.audit.list(query), [cursor, operation]);
  return (
    <section>
      <h1>Audit</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="audit-operation">Operation</label>
          <input
            id="audit-operation"
            value={operation}
            placeholder="e.g. createJob"
            onChange={(e) => {
              setOperation(e.currentTarget.value.trim());
              reset();
            }}
          />
        </div>
      </form>
      <ErrorBox error={page.error} />
      {page.data && page.data.audit.length === 0 && <Empty>No audit records.</Empty>}
      {page.data && page.data.audit.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Token</th>
                <th scope="col">Operation</th>
                <th scope="col">Path</th>
                <th scope="col">Status</th>
                <th scope="col">Client</th>
              </tr>
            </thead>
            <tbody>
              {page.data.audit.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Time iso={a.time} />
                  </td>
                  <td>{a.token_name ?? <span class="muted">none</span>}</td>
                  <td>{a.operation}</td>
                  <td class="mono">
                    {a.method} {a.path}
                    {a.job_id && (
                      <>
                        {' '}
                        · <Link to={`/jobs/${encodeURIComponent(a.job_id)}`}>job</Link>
                      </>
                    )}
                    {a.execution_id && (
                      <>
                        {' '}
                        · <Link to={`/runs/${a.execution_id}`}>run</Link>
                      </>
                    )}
                  </td>
                  <td>
                    <span class={`outcome outcome-${a.outcome}`}>{a.status}</span>
                    {a.count > 1 && <span class="muted"> ×{a.count}</span>}
                  </td>
                  <td class="mono">{a.client_address ?? '—'}</td>
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
