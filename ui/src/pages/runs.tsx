import { isFinal, type ExecutionStatus, type ListExecutionsQuery } from 'jobs-service/client';
import { useState } from 'preact/hooks';
import { operationAt } from '../api.js';
import { ActionButton, ErrorBox, Empty, useAsync, useMay, usePager, useSession } from '../components.js';
import { RunsTable } from './job.js';
import { statusOrder } from './overview.js';

const keys = ['status', 'handler', 'job_id', 'batch_id', 'since', 'until'] as const;
type Filters = Record<(typeof keys)[number], string>;

/** datetime-local (the viewer's zone) to ISO and back. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso: string) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

export function RunsPage() {
  const { client } = useSession();
  const may = useMay();
  const p = new URLSearchParams(location.search);
  const [filters, setFilters] = useState<Filters>(Object.fromEntries(keys.map((k) => [k, p.get(k) ?? ''])) as Filters);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [note, setNote] = useState<string | null>(null);
  const { cursor, Pager, reset } = usePager();
  const query: ListExecutionsQuery = { limit: 50, ...(cursor ? { cursor } : {}) };
  for (const k of keys) if (filters[k]) (query as Record<string, string>)[k] = filters[k];
  const page = useAsync(() => client.executions.list(query), [cursor, JSON.stringify(filters)], 3000);
  const handlers = useAsync(() => client.handlers.list(), []);
  const set = (k: keyof Filters, v: string) => {
    const next = { ...filters, [k]: v };
    setFilters(next);
    setSelected(new Set());
    reset();
    const q = new URLSearchParams(Object.entries(next).filter(([, x]) => x));
    history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
  };
  const runs = page.data?.executions ?? [];
  const chosen = runs.filter((r) => selected.has(r.id));
  const restart = operationAt('post', '/executions/{execution_id}/restart');
  const bulk = (path: '/executions/retry' | '/executions/cancel') => operationAt('post', path);
  const filterBody = Object.fromEntries(keys.filter((k) => filters[k] && k !== 'since' && k !== 'until').map((k) => [k, filters[k]]));
  return (
    <section>
      <h1>Runs</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="runs-status">Status</label>
          <select id="runs-status" value={filters.status} onChange={(e) => set('status', e.currentTarget.value)}>
            <option value="">any</option>
            {statusOrder.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="runs-handler">Handler</label>
          <select id="runs-handler" value={filters.handler} onChange={(e) => set('handler', e.currentTarget.value)}>
            <option value="">any</option>
            {handlers.data?.handlers.map((h) => (
              <option key={h.name} value={h.name}>
                {h.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="runs-job">Job id</label>
          <input id="runs-job" value={filters.job_id} onChange={(e) => set('job_id', e.currentTarget.value.trim())} />
        </div>
        <div class="field">
          <label for="runs-batch">Batch id</label>
          <input id="runs-batch" value={filters.batch_id} onChange={(e) => set('batch_id', e.currentTarget.value.trim())} />
        </div>
        <div class="field">
          <label for="runs-since">Created from</label>
          <input id="runs-since" type="datetime-local" value={toLocal(filters.since)} onChange={(e) => set('since', toIso(e.currentTarget.value))} />
        </div>
        <div class="field">
          <label for="runs-until">Created before</label>
          <input id="runs-until" type="datetime-local" value={toLocal(filters.until)} onChange={(e) => set('until', toIso(e.currentTarget.value))} />
        </div>
      </form>
      <div class="buttons bulk" aria-live="polite">
        {may('cancelExecution') && (
          <ActionButton
            disabled={!chosen.some((r) => !isFinal(r.status))}
            onAction={async () => {
              const active = chosen.filter((r) => !isFinal(r.status));
              const results = await Promise.allSettled(active.map((r) => client.executions.cancel(r.id)));
              const failed = results.filter((r) => r.status === 'rejected').length;
              setNote(`Cancel asked for ${active.length - failed} run(s)${failed ? `; ${failed} refused (already ended?)` : ''}.`);
              setSelected(new Set());
              page.reload();
            }}
          >
            Cancel selected ({chosen.filter((r) => !isFinal(r.status)).length})
          </ActionButton>
        )}
        {restart && may(restart) && (
          <ActionButton
            disabled={!chosen.some((r) => isFinal(r.status))}
            onAction={async () => {
              const ended = chosen.filter((r) => isFinal(r.status));
              const results = await Promise.allSettled(
                ended.map(
                  (r) => client.api.POST('/executions/{execution_id}/restart' as never, { params: { path: { execution_id: r.id } } } as never) as Promise<{ response: Response }>,
                ),
              );
              const ok = results.filter((r) => r.status === 'fulfilled' && r.value.response.ok).length;
              setNote(`Retried ${ok} of ${ended.length} run(s).`);
              setSelected(new Set());
              page.reload();
            }}
          >
            Retry selected ({chosen.filter((r) => isFinal(r.status)).length})
          </ActionButton>
        )}
        {(['/executions/retry', '/executions/cancel'] as const).map((path) => {
          const op = bulk(path);
          if (!op || !may(op)) return null;
          const verb = path.endsWith('retry') ? 'Retry' : 'Cancel';
          return (
            <ActionButton
              key={path}
              confirm={`${verb} every run matching these filters?`}
              onAction={async () => {
                const r = (await client.api.POST(path as never, { body: filterBody } as never)) as { data?: { count: number }; response: Response };
                setNote(r.response.ok ? `${verb}: ${r.data?.count ?? 0} run(s).` : `${verb} refused (${r.response.status}).`);
                page.reload();
              }}
            >
              {verb} all matching
            </ActionButton>
          );
        })}
      </div>
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <ErrorBox error={page.error} />
      {page.data && runs.length === 0 && <Empty>No runs match.</Empty>}
      {runs.length > 0 && <RunsTable runs={runs} selected={selected} onSelect={may('cancelExecution') ? setSelected : undefined} />}
      {page.data && <Pager next={page.data.next_cursor} />}
    </section>
  );
}

export type { ExecutionStatus };
