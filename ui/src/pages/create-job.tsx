import type { CreateJobRequest, HandlerInfo } from 'jobs-service/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { messageOf, operationAt, ProblemError, roleAtLeast, type Role } from '../api.js';
import { ErrorBox, Time, useAsync, useSession } from '../components.js';
import { cronInWords } from '../format.js';
import { deref, errorsFor, fieldsOf, initialValues, readValues, SchemaForm, type Field, type FormValues, type JsonSchema } from '../schema-form.js';

type ScheduleKind = 'periodically' | 'cron' | 'when' | 'none';
const scheduleFields = ['periodically', 'cron', 'when', 'timezone'] as const;
/** The create options shown under "Options": every field of CreateJobRequest but these. */
const notOptions = ['handler', 'kwargs', 'job_id', ...scheduleFields];

/** The fire times a schedule would give, from POST /schedules/preview once the contract has it. */
function usePreview(body: Record<string, unknown> | null) {
  const { client } = useSession();
  const route = operationAt('post', '/schedules/preview');
  const [fires, setFires] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(body);
  useEffect(() => {
    if (!route || !body) {
      setFires(null);
      return;
    }
    let gone = false;
    const timer = setTimeout(async () => {
      const r = (await client.api.POST('/schedules/preview' as never, { body: { ...body, count: 5 } } as never)) as { data?: { fires: string[] }; error?: { detail?: string } };
      if (gone) return;
      setFires(r.data?.fires ?? null);
      setError(r.data ? null : (r.error?.detail ?? 'no preview'));
    }, 300);
    return () => {
      gone = true;
      clearTimeout(timer);
    };
  }, [key, route]);
  return { fires, error, available: route !== null };
}

function CreateForm({ handler, optionsSchema }: { handler: HandlerInfo; optionsSchema: JsonSchema }) {
  const { client, navigate, schemas } = useSession();
  const schema = useMemo(() => deref(handler.kwargs_schema as JsonSchema, schemas), [handler.name]);
  const kwargFields = useMemo(() => fieldsOf(schema), [handler.name]);
  const optionFields = useMemo(() => fieldsOf(optionsSchema, notOptions), [optionsSchema]);
  const [kwargs, setKwargs] = useState<FormValues>(() => initialValues(kwargFields, schema));
  const [options, setOptions] = useState<FormValues>(() => initialValues(optionFields, optionsSchema, {}));
  const idFields = useMemo(() => fieldsOf(optionsSchema).filter((f) => f.name === 'job_id'), [optionsSchema]);
  const [id, setId] = useState<FormValues>({ job_id: '' });
  const [kind, setKind] = useState<ScheduleKind>('periodically');
  const [schedule, setSchedule] = useState<Record<(typeof scheduleFields)[number], string>>({ periodically: '1 hour', cron: '0 3 * * *', when: '', timezone: '' });
  const [errors, setErrors] = useState<Record<'kwargs' | 'options' | 'schedule' | 'id', Record<string, string>>>({
    kwargs: {},
    options: {},
    schedule: {},
    id: {},
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const scheduleBody: Record<string, unknown> | null =
    kind === 'none' ? null : { [kind]: schedule[kind], ...(kind !== 'periodically' && schedule.timezone ? { timezone: schedule.timezone } : {}) };
  const preview = usePreview(kind !== 'none' && schedule[kind] ? scheduleBody : null);
  const words = kind === 'cron' && schedule.cron ? cronInWords(schedule.cron) : null;
  const scheduleErrorFields: Field[] = scheduleFields.map((name) => ({ name, kind: 'text', required: false, schema: {} }));

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = readValues(kwargFields, kwargs);
    const o = readValues(optionFields, options);
    const i = readValues(idFields, id);
    setErrors({ kwargs: k.errors, options: o.errors, schedule: {}, id: {} });
    setError(null);
    if (Object.keys(k.errors).length || Object.keys(o.errors).length) return;
    const body = { handler: handler.name, ...i.value, kwargs: k.value, ...(scheduleBody ?? {}), ...o.value } as CreateJobRequest;
    setBusy(true);
    try {
      const { job } = await client.jobs.create(body);
      navigate(`/jobs/${encodeURIComponent(job.job_id)}`);
    } catch (err) {
      if (err instanceof ProblemError && err.errors.length) {
        setErrors({
          kwargs: errorsFor(err.errors, kwargFields, 'kwargs'),
          options: errorsFor(err.errors, optionFields, null),
          schedule: errorsFor(err.errors, scheduleErrorFields, null),
          id: errorsFor(err.errors, idFields, null),
        });
      }
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const scheduleInput = (name: 'periodically' | 'cron' | 'when' | 'timezone', label: string, help: string, placeholder?: string) => (
    <div class={`field ${errors.schedule[name] ? 'has-error' : ''}`}>
      <label for={`schedule-${name}`}>{label}</label>
      <input
        id={`schedule-${name}`}
        value={schedule[name]}
        placeholder={placeholder}
        onInput={(e) => setSchedule({ ...schedule, [name]: e.currentTarget.value })}
        aria-describedby={`schedule-${name}-help${errors.schedule[name] ? ` schedule-${name}-error` : ''}`}
        aria-invalid={errors.schedule[name] ? 'true' : undefined}
      />
      <small id={`schedule-${name}-help`} class="help">
        {help}
      </small>
      {errors.schedule[name] && (
        <small id={`schedule-${name}-error`} class="field-error" role="alert">
          {errors.schedule[name]}
        </small>
      )}
    </div>
  );

  return (
    <form onSubmit={submit} aria-label="new job" noValidate>
      <p class="muted">{handler.description}</p>
      <SchemaForm id="job" fields={idFields} values={id} errors={errors.id} onChange={setId} disabled={busy} />
      <fieldset>
        <legend>Kwargs of {handler.name}</legend>
        <SchemaForm id="kwargs" fields={kwargFields} values={kwargs} errors={errors.kwargs} onChange={setKwargs} disabled={busy} wholeLabel="kwargs (JSON object)" />
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <div class="radios" role="radiogroup" aria-label="kind of schedule">
          {(
            [
              ['periodically', 'Interval'],
              ['cron', 'Cron'],
              ['when', 'Once'],
              ['none', 'Now'],
            ] as const
          ).map(([value, label]) => (
            <label key={value}>
              <input type="radio" name="schedule-kind" value={value} checked={kind === value} onChange={() => setKind(value)} /> {label}
            </label>
          ))}
        </div>
        {kind === 'periodically' && scheduleInput('periodically', 'Every', 'An interval such as "30 seconds", "2 hours" or "1 day".', '1 hour')}
        {kind === 'cron' && (
          <>
            {scheduleInput('cron', 'Cron expression', 'Five fields: minute hour day-of-month month day-of-week.', '0 3 * * *')}
            {words && (
              <p class={words.ok ? 'cron-words' : 'field-error'} aria-live="polite" data-testid="cron-words">
                {words.text}
              </p>
            )}
          </>
        )}
        {kind === 'when' && scheduleInput('when', 'At', 'A date and time, e.g. 2027-01-04T09:00:00Z or "Mon Feb 20, 14:56".')}
        {(kind === 'cron' || kind === 'when') && scheduleInput('timezone', 'Time zone', 'An IANA zone such as Europe/Paris; UTC when empty.', 'UTC')}
        {kind === 'none' && <p class="muted">No schedule: the job runs once, right away. Run it again any time with Run now.</p>}
        {preview.available && scheduleBody && (
          <div aria-live="polite">
            <h3>Next fires</h3>
            {preview.error && <p class="field-error">{preview.error}</p>}
            {preview.fires && (
              <ol class="fires">
                {preview.fires.map((f) => (
                  <li key={f}>
                    <Time iso={f} />
                  </li>
                ))}
              </ol>
            )}
          </div>
        )}
      </fieldset>
      <details>
        <summary>Options</summary>
        <SchemaForm id="option" fields={optionFields} values={options} errors={errors.options} onChange={setOptions} disabled={busy} />
      </details>
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy}>
        Create job
      </button>
    </form>
  );
}

export function CreateJobPage() {
  const { client, role, schemas } = useSession();
  const handlers = useAsync(() => client.handlers.list(), []);
  const p = new URLSearchParams(location.search);
  const [name, setName] = useState(p.get('handler') ?? '');
  // Handlers whose kwargs schema needs a role above the viewer's are not offered.
  const offered = (handlers.data?.handlers ?? []).filter((h) => roleAtLeast(role, ((h.kwargs_schema as JsonSchema)['x-role'] as Role | undefined) ?? 'write'));
  const handler = offered.find((h) => h.name === name) ?? offered[0];
  const optionsSchema = useMemo(() => deref((schemas.CreateJobRequest ?? {}) as JsonSchema, schemas), [schemas]);
  return (
    <section>
      <h1>New job</h1>
      <ErrorBox error={handlers.error} />
      <div class="field">
        <label for="handler">Handler</label>
        <select
          id="handler"
          value={handler?.name ?? ''}
          onChange={(e) => {
            setName(e.currentTarget.value);
            history.replaceState(null, '', `${location.pathname}?handler=${encodeURIComponent(e.currentTarget.value)}`);
          }}
        >
          {offered.map((h) => (
            <option key={h.name} value={h.name}>
              {h.name}
            </option>
          ))}
        </select>
      </div>
      {handler && <CreateForm key={handler.name} handler={handler} optionsSchema={optionsSchema} />}
    </section>
  );
}
