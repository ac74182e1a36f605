import { isFinal, type Execution } from 'jobs-service/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from '../api.js';
import { ActionButton, ErrorBox, JsonView, Link, Status, Time, useAsync, useMay, useSession } from '../components.js';
import { duration } from '../format.js';

/**
 * The run's output: while the run is active, followed live through the output stream (the
 * client's followOutput: server-sent events, resumed after a lost connection); once it has
 * ended, read once. Should the stream be refused, each look asks for the output again.
 */
function useOutput(run: Execution | undefined, onStatus: () => void) {
  const { client } = useSession();
  const [lines, setLines] = useState<string[]>([]);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [streaming, setStreaming] = useState(false);
  const id = run?.id;
  const active = run ? !isFinal(run.status) : false;
  useEffect(() => {
    if (!id) return;
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const look = async () => {
      try {
        const out = await client.executions.output(id);
        if (stop.signal.aborted) return;
        setLines(out.lines);
        setTruncated(out.truncated);
        setError(null);
      } catch (err) {
        if (!stop.signal.aborted) setError(messageOf(err));
      }
      if (!stop.signal.aborted && active) timer = setTimeout(look, 1000);
    };
    const follow = async () => {
      let kept: string[] = [];
      try {
        setStreaming(true);
        for await (const e of client.followOutput(id, { signal: stop.signal })) {
          if (e.event === 'output') {
            if (e.data.dropped > 0 || e.data.offset > kept.length) setTruncated(true);
            kept = [...kept.slice(0, Math.min(kept.length, e.data.offset)), ...e.data.lines];
            setLines(kept);
            setError(null);
          } else onStatus();
        }
        setStreaming(false);
        await look();
      } catch (err) {
        setStreaming(false);
        if (stop.signal.aborted) return;
        setError(`live output unavailable (${messageOf(err)}); looking every second`);
        await look();
      }
    };
    void (active ? follow() : look());
    return () => {
      stop.abort();
      clearTimeout(timer);
    };
  }, [id, active, client]);
  return { lines, truncated, error, live: active, streaming };
}

function Output({ run, onStatus }: { run: Execution; onStatus: () => void }) {
  const { lines, truncated, error, live, streaming } = useOutput(run, onStatus);
  const box = useRef<HTMLPreElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  return (
    <>
      <div class="title-row">
        <h2>
          Output{' '}
          {live && <span class="live-dot" role="img" aria-label="live" title={streaming ? "streaming the run's output as it is written" : 'looking for new output every second'} />}
        </h2>
        <label class="field-check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
      </div>
      <ErrorBox error={error} />
      {truncated && <p class="muted small">Older lines were dropped to keep the newest within the service's limit.</p>}
      <pre class="output code" ref={box} aria-live={live ? 'polite' : 'off'} data-testid="run-output" tabIndex={0}>
        {lines.length ? lines.join('\n') : live ? 'waiting for output…' : '(no output)'}
      </pre>
    </>
  );
}

export function RunPage({ executionId }: { executionId: string }) {
  const { client } = useSession();
  const may = useMay();
  const [active, setActive] = useState(true);
  const run = useAsync(() => client.executions.get(executionId), [executionId], active ? 5000 : undefined);
  const handlers = useAsync(() => client.handlers.list(), []);
  const r = run.data;
  useEffect(() => {
    if (r) setActive(!isFinal(r.status));
  }, [r?.status]);
  if (!r)
    return (
      <section>
        <h1>Run {executionId}</h1>
        <ErrorBox error={run.error} />
      </section>
    );
  const steps = handlers.data?.handlers.find((h) => h.name === r.handler)?.steps ?? [];
  const selected = r.selection?.task_names;
  return (
    <section>
      <div class="title-row">
        <h1>
          Run <span class="mono">{r.id.slice(0, 8)}</span> <Status status={r.status} />
        </h1>
        <div class="buttons">
          {may('cancelExecution') && !isFinal(r.status) && (
            <ActionButton
              class="danger"
              onAction={async () => {
                await client.executions.cancel(r.id);
                run.reload();
              }}
            >
              Cancel run
            </ActionButton>
          )}
        </div>
      </div>
      <p>
        {r.job_id ? (
          <>
            Job <Link to={`/jobs/${encodeURIComponent(r.job_id)}`}>{r.job_id}</Link>
          </>
        ) : (
          <>A run of handler {r.handler}</>
        )}
        {' · '}
        {r.handler} · trigger {r.trigger} · attempt {r.attempt}
        {r.batch_id && (
          <>
            {' · '}
            <Link to={`/batches/${r.batch_id}`}>its batch</Link>
          </>
        )}
        {r.parent_id && (
          <>
            {' · '}
            <Link to={`/runs/${r.parent_id}`}>parent run</Link>
          </>
        )}
      </p>
      {r.status === 'running' && r.progress !== null && (
        <p>
          <label for="run-progress">Progress </label>
          <progress id="run-progress" max={100} value={r.progress} /> {Math.round(r.progress)} %
        </p>
      )}
      <ol class="timeline" aria-label="timeline">
        <li>
          <span>Due</span> <Time iso={r.scheduled_at} />
        </li>
        <li>
          <span>Queued</span> <Time iso={r.created_at} />
        </li>
        <li class={r.started_at ? '' : 'pending'}>
          <span>Started</span> <Time iso={r.started_at} />
          {r.worker_id && <span class="muted small"> on worker {r.worker_id.slice(0, 8)}</span>}
        </li>
        {r.cancel_requested_at && (
          <li>
            <span>Cancel asked</span> <Time iso={r.cancel_requested_at} />
          </li>
        )}
        <li class={r.finished_at ? '' : 'pending'}>
          <span>Ended</span> <Time iso={r.finished_at} />
          {r.duration_ms !== null && <span class="muted small"> after {duration(r.duration_ms)}</span>}
        </li>
      </ol>
      {steps.length > 0 && (
        <>
          <h2>Steps</h2>
          <ol class="steps">
            {steps.map((s) => (
              <li key={s} class={selected && !selected.includes(s) && !r.selection?.run_subsequent ? 'muted' : ''}>
                {s}
              </li>
            ))}
          </ol>
        </>
      )}
      {r.error && (
        <>
          <h2>Error</h2>
          <p class="error-text">{r.error}</p>
          {r.stack && (
            <details>
              <summary>Stack</summary>
              <pre class="code">{r.stack}</pre>
            </details>
          )}
        </>
      )}
      <Output run={r} onStatus={run.reload} />
      <h2>Kwargs</h2>
      <JsonView value={r.kwargs} />
    </section>
  );
}
