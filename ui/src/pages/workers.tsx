import type { Worker } from 'jobs-service/client';
import { ActionButton, ErrorBox, Empty, Time, useAsync, useMay, usePager, useSession } from '../components.js';
import { bytes } from '../format.js';

export function WorkerRow({ w, onChange }: { w: Worker; onChange: () => void }) {
  const { client } = useSession();
  const may = useMay();
  const usedMemory = w.memory.system_total - w.memory.system_free;
  return (
    <tr>
      <td>
        <span class="mono">{w.name}</span>
        <div class="muted small">
          {w.host} · pid {w.pid} · v{w.version}
        </div>
      </td>
      <td>
        <span class={`status worker-${w.state}`}>{w.state}</span>
      </td>
      <td>{w.running}</td>
      <td title="one-minute load average per core">{w.cpu_load.toFixed(2)}</td>
      <td title={`this worker's process: ${bytes(w.memory.process_rss)}`}>
        {bytes(w.memory.process_rss)} <span class="muted small">(host {Math.round((100 * usedMemory) / Math.max(1, w.memory.system_total))} % used)</span>
      </td>
      <td>
        <Time iso={w.heartbeat_at} />
      </td>
      <td>
        {may('setWorkerState') && w.state !== 'gone' && (
          <ActionButton
            onAction={async () => {
              await client.workers.setState(w.id, w.state === 'blocked' ? 'active' : 'blocked');
              onChange();
            }}
            label={`${w.state === 'blocked' ? 'Unblock' : 'Block'} worker ${w.name}`}
          >
            {w.state === 'blocked' ? 'Unblock' : 'Block'}
          </ActionButton>
        )}
      </td>
    </tr>
  );
}

export function WorkersTable({ workers, onChange }: { workers: Worker[]; onChange: () => void }) {
  if (workers.length === 0) return <Empty>No workers have registered.</Empty>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">State</th>
            <th scope="col">Running</th>
            <th scope="col">CPU load</th>
            <th scope="col">Memory</th>
            <th scope="col">Heartbeat</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <WorkerRow key={w.id} w={w} onChange={onChange} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function WorkersPage() {
  const { client } = useSession();
  const { cursor, Pager } = usePager();
  const page = useAsync(() => client.workers.list({ limit: 100, ...(cursor ? { cursor } : {}) }), [cursor], 5000);
  return (
    <section>
      <h1>Workers</h1>
      <p class="muted">A blocked worker takes no new runs; its runs in progress finish.</p>
      <ErrorBox error={page.error} />
      {page.data && <WorkersTable workers={page.data.workers} onChange={page.reload} />}
      {page.data && <Pager next={page.data.next_cursor} />}
    </section>
  );
}
