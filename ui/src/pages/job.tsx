import type { Execution, HandlerInfo, JobDetail, UpdateJobRequest } from 'jobs-service/client';
import { useState } from 'preact/hooks';
import { operationAt } from '../api.js';
import { ActionButton, BarChart, ErrorBox, Empty, JsonView, Link, Status, Time, useAsync, useMay, usePager, useSession } from '../components.js';
import { cronInWords, duration, percent, percentile, scheduleOf } from '../format.js';
import { deref, errorsFor, fieldsOf, initialValues, readValues, SchemaForm, type FormValues, type JsonSchema } from '../schema-form.js';
import { messageOf, ProblemError } from '../api.js';

/** The kwargs a run may override (x-run-overridable): the form of "Run now". */
export function overridableSchema(schema: JsonSchema): JsonSchema | null {
  const names = (schema['x-run-overridable'] as string[] | undefined) ?? [];
  if (names.includes('*')) return { ...schema, properties: schema.properties ?? {} };
  if (names.length === 0) return null;
  const properties: Record<string, JsonSchema> = {};
  for (const n of names) if (schema.properties?.[n]) properties[n] = schema.properties[n];
  return { type: 'object', properties };
}

function RunNow({ job, handler, onRan }: { job: JobDetail; handler: HandlerInfo | undefined; onRan: (ids: string[], batch: string | null) => void }) {
  const { client } = useSession();
  const schema = handler ? overridableSchema(handler.kwargs_schema as JsonSchema) : null;
  const fields = schema ? fieldsOf(schema) : [];
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields, schema ?? {}, fields[0]?.name === '' ? job.kwargs : job.kwargs));
  const [times, setTimes] = useState('1');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!open)
    return (
      <button type="button" class="primary" onClick={() => setOpen(true)}>
        Run now…
      </button>
    );
  return (
    <form
      class="panel"
      aria-label="Run now"
      onSubmit={async (e) => {
        e.preventDefault();
        const read = readValues(fields, values);
        const n = Number(times);
        const local = { ...read.errors, ...(Number.isInteger(n) && n >= 1 && n <= 1000 ? {} : { times: 'must be a whole number from 1 to 1000' }) };
        setErrors(local);
        if (Object.keys(local).length) return;
        // Only what differs from the job's own kwargs is sent as an override.
        const overrides = Object.fromEntries(Object.entries(read.value).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(job.kwargs[k])));
        setBusy(true);
        setError(null);
        try {
          const r = await client.jobs.run(job.job_id, { times: n, ...(Object.keys(overrides).length ? { kwargs: overrides } : {}) });
          onRan(r.execution_ids, r.batch_id);
        } catch (err) {
          if (err instanceof ProblemError) {
            setErrors({ ...errorsFor(err.errors, fields, 'kwargs'), ...errorsFor(err.errors, [{ name: 'times', kind: 'integer', required: false, schema: {} }], null) });
          }
          setError(messageOf(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3>Run now</h3>
      {fields.length > 0 ? (
        <SchemaForm id="run" fields={fields} values={values} errors={errors} onChange={setValues} disabled={busy} wholeLabel="kwargs (merged over the job's)" />
      ) : (
        <p class="muted">This handler takes no kwargs overrides: the run uses the job's.</p>
      )}
      <div class={`field ${errors.times ? 'has-error' : ''}`}>
        <label for="run-times">Times</label>
        <input
          id="run-times"
          type="text"
          inputMode="numeric"
          value={times}
          onInput={(e) => setTimes(e.currentTarget.value)}
          aria-describedby="run-times-help"
          aria-invalid={errors.times ? 'true' : undefined}
        />
        <small id="run-times-help" class="help">
          How many runs; more than one makes a batch.
        </small>
        {errors.times && (
          <small class="field-error" role="alert">
            {errors.times}
          </small>
        )}
      </div>
      <ErrorBox error={error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          Run
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Close
        </button>
      </div>
    </form>
  );
}

type ScheduleKind = 'periodically' | 'cron' | 'when';

/**
 * Edit: the kwargs (the handler's form, filled with the job's own) and the schedule, sent as
 * PATCH /jobs/{job_id} made to the version shown (If-Match): a job changed since answers 412,
 * said as such; a job from a default-jobs file changes only when detached from it.
 */
function EditJob({ job, handler, onSaved }: { job: JobDetail; handler: HandlerInfo | undefined; onSaved: () => void }) {
  const { client, schemas } = useSession();
  const schema = deref((handler?.kwargs_schema ?? {}) as JsonSchema, schemas);
  const fields = fieldsOf(schema);
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<FormValues>(() => initialValues(fields, schema, job.kwargs));
  const [kind, setKind] = useState<ScheduleKind>(job.cron ? 'cron' : job.when && !job.periodically ? 'when' : 'periodically');
  const [schedule, setSchedule] = useState({ periodically: job.periodically ?? '', cron: job.cron ?? '', when: job.when ?? '', timezone: job.timezone ?? '' });
  const [detach, setDetach] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Edit…
      </button>
    );
  const words = kind === 'cron' && schedule.cron ? cronInWords(schedule.cron) : null;
  return (
    <form
      class="panel"
      aria-label="Edit job"
      onSubmit={async (e) => {
        e.preventDefault();
        const read = readValues(fields, values);
        setErrors(read.errors);
        if (Object.keys(read.errors).length) return;
        const change: Record<string, unknown> = {
          kwargs: read.value,
          periodically: kind === 'periodically' ? schedule.periodically : null,
          cron: kind === 'cron' ? schedule.cron : null,
          when: kind === 'when' ? schedule.when : null,
          timezone: kind !== 'periodically' && schedule.timezone ? schedule.timezone : null,
          ...(detach ? { detach: true } : {}),
        };
        setBusy(true);
        setError(null);
        try {
          await client.jobs.update(job.job_id, change as UpdateJobRequest, { ifVersion: job.version });
          setOpen(false);
          onSaved();
        } catch (err) {
          if (err instanceof ProblemError) {
            setErrors(errorsFor(err.errors, fields, 'kwargs'));
            if (err.status === 412) return setError('The job changed since this page read it: reload the page and edit again.');
          }
          setError(messageOf(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h3>Edit {job.job_id}</h3>
      <SchemaForm id="edit" fields={fields} values={values} errors={errors} onChange={setValues} disabled={busy} wholeLabel="kwargs (JSON object)" />
      <div class="radios" role="radiogroup" aria-label="kind of schedule">
        {(
          [
            ['periodically', 'Interval'],
            ['cron', 'Cron'],
            ['when', 'Once'],
          ] as const
        ).map(([value, label]) => (
          <label key={value}>
            <input type="radio" name="edit-kind" checked={kind === value} onChange={() => setKind(value)} /> {label}
          </label>
        ))}
      </div>
      <div class="field">
        <label for="edit-schedule">{kind === 'periodically' ? 'Every' : kind === 'cron' ? 'Cron expression' : 'At'}</label>
        <input id="edit-schedule" value={schedule[kind]} onInput={(e) => setSchedule({ ...schedule, [kind]: e.currentTarget.value })} />
        {words && <small class={words.ok ? 'help' : 'field-error'}>{words.text}</small>}
      </div>
      {kind !== 'periodically' && (
        <div class="field">
          <label for="edit-timezone">Time zone</label>
          <input id="edit-timezone" value={schedule.timezone} placeholder="UTC" onInput={(e) => setSchedule({ ...schedule, timezone: e.currentTarget.value })} />
        </div>
      )}
      {job.source === 'file' && (
        <label class="field-check">
          <input type="checkbox" checked={detach} onChange={(e) => setDetach(e.currentTarget.checked)} /> Detach from its default-jobs file (the next boot leaves it alone)
        </label>
      )}
      <ErrorBox error={error} />
      <div class="buttons">
        <button type="submit" class="primary" disabled={busy}>
          Save
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Close
        </button>
      </div>
    </form>
  );
}

/** Durations of the runs over time, coloured by status: oldest first. */
function RunsChart({ runs }: { runs: Execution[] }) {
  const ordered = [...runs].reverse();
  return (
    <BarChart
      title="Duration of each run (newest right), coloured by status"
      unit=" ms"
      bars={ordered.map((r) => ({ label: new Date(r.created_at).toLocaleString(), parts: [{ value: Math.max(r.duration_ms ?? 0, 1), cls: `fill-${r.status}`, title: r.status }] }))}
    />
  );
}

function NextFires({ job }: { job: JobDetail }) {
  const { client } = useSession();
  const route = operationAt('get', '/jobs/{job_id}/next-fires');
  const fires = useAsync(async () => {
    if (!route) return null;
    const r = (await client.api.GET('/jobs/{job_id}/next-fires' as never, { params: { path: { job_id: job.job_id }, query: { count: 10 } } } as never)) as {
      data?: { fires: string[] };
    };
    return r.data?.fires ?? null;
  }, [job.job_id, job.updated_at]);
  const list = fires.data ?? (job.next_run_time ? [job.next_run_time] : []);
  if (list.length === 0) return <p class="muted">No run is scheduled.</p>;
  return (
    <ol class="fires">
      {list.map((f) => (
        <li key={f}>
          <Time iso={f} />
        </li>
      ))}
    </ol>
  );
}

export function JobPage({ jobId }: { jobId: string }) {
  const { client, navigate } = useSession();
  const may = useMay();
  const job = useAsync(() => client.jobs.get(jobId), [jobId], 5000);
  const handlers = useAsync(() => client.handlers.list(), []);
  const { cursor, Pager } = usePager();
  const runs = useAsync(() => client.jobs.executions(jobId, { limit: 50, ...(cursor ? { cursor } : {}) }), [jobId, cursor], 3000);
  const [message, setMessage] = useState<string | null>(null);
  if (job.error && !job.data)
    return (
      <section>
        <h1>{jobId}</h1>
        <ErrorBox error={job.error} />
      </section>
    );
  const j = job.data;
  if (!j) return <p>Loading…</p>;
  const handler = handlers.data?.handlers.find((h) => h.name === j.handler);
  const finished = (runs.data?.executions ?? []).filter((r) => r.status === 'succeeded' && r.duration_ms !== null).map((r) => r.duration_ms!);
  const p95 = percentile(finished, 95);
  const handlerRole = (handler?.kwargs_schema as JsonSchema | undefined)?.['x-role'] as string | undefined;
  const mayHandler = !handlerRole || handlerRole === 'write' || may('listAudit');
  return (
    <section>
      <div class="title-row">
        <h1>
          {j.job_id} {j.state === 'paused' && <span class="tag">paused</span>}
        </h1>
        <div class="buttons">
          {may('runJob') && mayHandler && handler && (
            <RunNow
              job={j}
              handler={handler}
              onRan={(ids, batch) => {
                runs.reload();
                if (batch) navigate(`/batches/${batch}`);
                else if (ids[0]) navigate(`/runs/${ids[0]}`);
              }}
            />
          )}
          {may('updateJob') && mayHandler && handler && <EditJob key={j.version} job={j} handler={handler} onSaved={job.reload} />}
          {may('setJobState') && mayHandler && (
            <ActionButton
              onAction={async () => {
                await (j.state === 'paused' ? client.jobs.resume(j.job_id) : client.jobs.pause(j.job_id));
                job.reload();
              }}
            >
              {j.state === 'paused' ? 'Resume job' : 'Pause job'}
            </ActionButton>
          )}
          {may('deleteJob') && mayHandler && (
            <ActionButton
              class="danger"
              confirm={`Delete job ${j.job_id}? Its schedule ends; its recorded runs stay.`}
              onAction={async () => {
                await client.jobs.delete(j.job_id);
                navigate('/jobs');
              }}
            >
              Delete job
            </ActionButton>
          )}
        </div>
      </div>
      {message && <p class="note">{message}</p>}
      <div class="cards">
        <div class="card">
          <h2>Runs</h2>
          <p class="big">{j.stats.total}</p>
        </div>
        <div class="card">
          <h2>Success rate</h2>
          <p class="big">{percent(j.stats.succeeded, j.stats.succeeded + j.stats.failed)}</p>
          <p class="small">
            {j.stats.succeeded} succeeded · {j.stats.failed} failed
          </p>
        </div>
        <div class="card">
          <h2>Duration</h2>
          <p class="big">{duration(j.stats.average_duration_ms)}</p>
          <p class="small" title="over the succeeded runs on this page of runs">
            average · p95 {duration(p95)}
          </p>
        </div>
      </div>
      <div class="two">
        <div>
          <h2>Definition</h2>
          <dl class="details">
            <dt>Handler</dt>
            <dd>{j.handler}</dd>
            <dt>Schedule</dt>
            <dd>
              {scheduleOf(j)}
              {j.cron && <span class="mono muted small"> ({j.cron})</span>}
            </dd>
            <dt>Source</dt>
            <dd>{j.source === 'file' ? 'a default-jobs file' : 'the API'}</dd>
            <dt>Timeout</dt>
            <dd>{j.timeout ? duration(j.timeout * 1000) : 'default'}</dd>
            <dt>Retries</dt>
            <dd>
              {j.retries}
              {j.retries > 0 && ` (first after ${duration(j.retry_backoff * 1000)}, doubling)`}
            </dd>
            <dt>Concurrency</dt>
            <dd>{j.concurrency_policy ?? (j.periodically || j.cron ? 'forbid' : 'allow')}</dd>
            <dt>Misfire grace</dt>
            <dd>{j.misfire_grace_time !== null ? duration(j.misfire_grace_time * 1000) : 'default'}</dd>
            <dt>Created</dt>
            <dd>
              <Time iso={j.created_at} />
            </dd>
            <dt>Updated</dt>
            <dd>
              <Time iso={j.updated_at} />
            </dd>
          </dl>
          <h3>Kwargs</h3>
          <JsonView value={j.kwargs} />
        </div>
        <div>
          <h2>Next fires</h2>
          <NextFires job={j} />
          <h2>Last run</h2>
          {j.stats.latest_execution ? (
            <p>
              <Link to={`/runs/${j.stats.latest_execution.id}`}>
                <Status status={j.stats.latest_execution.status} /> <Time iso={j.stats.latest_execution.created_at} />
              </Link>
            </p>
          ) : (
            <p class="muted">Not run yet.</p>
          )}
        </div>
      </div>
      <h2>Runs</h2>
      <ErrorBox error={runs.error} />
      {runs.data && runs.data.executions.length > 0 && <RunsChart runs={runs.data.executions} />}
      {runs.data && runs.data.executions.length === 0 && <Empty>No runs yet.</Empty>}
      {runs.data && runs.data.executions.length > 0 && <RunsTable runs={runs.data.executions} showJob={false} onMessage={setMessage} />}
      {runs.data && <Pager next={runs.data.next_cursor} />}
    </section>
  );
}

/** A table of runs, with a box per row when the viewer may act on several at once. */
export function RunsTable({
  runs,
  showJob = true,
  selected,
  onSelect,
}: {
  runs: Execution[];
  showJob?: boolean;
  onMessage?: (m: string) => void;
  selected?: Set<string>;
  onSelect?: (ids: Set<string>) => void;
}) {
  const all = selected && runs.length > 0 && runs.every((r) => selected.has(r.id));
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {onSelect && (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="select every run on this page"
                  checked={all}
                  onChange={(e) => onSelect(new Set(e.currentTarget.checked ? runs.map((r) => r.id) : []))}
                />
              </th>
            )}
            <th scope="col">Run</th>
            {showJob && <th scope="col">Job</th>}
            <th scope="col">Status</th>
            <th scope="col">Trigger</th>
            <th scope="col">Created</th>
            <th scope="col">Duration</th>
            <th scope="col">Attempt</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              {onSelect && selected && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select run ${r.id}`}
                    checked={selected.has(r.id)}
                    onChange={(e) => {
                      const next = new Set(selected);
                      if (e.currentTarget.checked) next.add(r.id);
                      else next.delete(r.id);
                      onSelect(next);
                    }}
                  />
                </td>
              )}
              <td>
                <Link to={`/runs/${r.id}`} class="mono">
                  {r.id.slice(0, 8)}
                </Link>
                {r.batch_id && (
                  <Link to={`/batches/${r.batch_id}`} class="tag" title="one of a batch">
                    batch
                  </Link>
                )}
              </td>
              {showJob && <td>{r.job_id ? <Link to={`/jobs/${encodeURIComponent(r.job_id)}`}>{r.job_id}</Link> : <span class="muted">{r.handler}</span>}</td>}
              <td>
                <Status status={r.status} />
                {r.progress !== null && r.status === 'running' && <span class="muted small"> {Math.round(r.progress)} %</span>}
              </td>
              <td>{r.trigger}</td>
              <td>
                <Time iso={r.created_at} />
              </td>
              <td>{duration(r.duration_ms)}</td>
              <td>{r.attempt}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
