import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { ExecutionStatus, JobsClient } from 'jobs-service/client';
import { messageOf, may, type Contract, type Role, type Roles } from './api.js';
import { when } from './format.js';

export const base = '/dashboard';

export interface Session {
  client: JobsClient;
  role: Role;
  name: string | null;
  tokensChecked: boolean;
  roles: Roles;
  schemas: Contract['schemas'];
  navigate: (to: string) => void;
  logout: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  return useContext(SessionContext)!;
}

/** May the viewer call this operation? Actions it may not are not shown at all. */
export function useMay() {
  const s = useSession();
  return (operationId: string) => may(s.roles, s.role, operationId);
}

/** A link inside the dashboard, followed without reloading the page. */
export function Link({ to, children, class: cls, title }: { to: string; children: ComponentChildren; class?: string; title?: string }) {
  const { navigate } = useSession();
  return (
    <a
      href={base + to}
      class={cls}
      title={title}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** A time in the viewer's zone, with UTC on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  const t = when(iso);
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={t.utc}>
      {t.text}
    </time>
  );
}

export function Status({ status }: { status: ExecutionStatus | string | null | undefined }) {
  if (!status) return <span class="muted">—</span>;
  return <span class={`status status-${status}`}>{status.replace('_', ' ')}</span>;
}

/** The last runs' statuses as a strip of squares, oldest first. */
export function StatusStrip({ statuses }: { statuses: Array<{ status: string; id: string }> }) {
  if (statuses.length === 0) return <span class="muted">no runs</span>;
  return (
    <span class="strip" role="img" aria-label={`last runs: ${statuses.map((s) => s.status).join(', ')}`}>
      {statuses.map((s) => (
        <span key={s.id} class={`strip-cell status-${s.status}`} title={s.status} />
      ))}
    </span>
  );
}

export interface AsyncState<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads with `load` whenever `deps` change, and again every `everyMs` while the page is shown
 * (a view of live state). An earlier answer arriving late never replaces a newer one.
 */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setLoading(true);
    load().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== seq.current) return;
        setError(messageOf(err));
        setLoading(false);
      },
    );
  }, deps);
  useEffect(() => {
    run();
    if (!everyMs) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, everyMs);
    return () => clearInterval(timer);
  }, [run, everyMs]);
  return { data, error, loading, reload: run };
}

export function ErrorBox({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p class="error-box" role="alert">
      {error}
    </p>
  );
}

/** A button that runs an action, shows it busy, and reports its failure beside it. */
export function ActionButton({
  onAction,
  children,
  confirm,
  class: cls,
  disabled,
  label,
}: {
  onAction: () => Promise<unknown>;
  children: ComponentChildren;
  confirm?: string;
  class?: string;
  disabled?: boolean;
  label?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <span class="action">
      <button
        type="button"
        class={cls}
        aria-label={label}
        disabled={busy || disabled}
        onClick={async () => {
          if (confirm && !window.confirm(confirm)) return;
          setBusy(true);
          setError(null);
          try {
            await onAction();
          } catch (err) {
            setError(messageOf(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {children}
      </button>
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

export interface Bar {
  label: string;
  /** Stacked parts, each with the class that colours it. */
  parts: Array<{ value: number; cls: string; title: string }>;
  href?: string;
}

/** A bar chart as SVG: one stacked bar per entry, scaled to the largest. */
export function BarChart({ bars, title, height = 140, unit = '' }: { bars: Bar[]; title: string; height?: number; unit?: string }) {
  const max = Math.max(1, ...bars.map((b) => b.parts.reduce((a, p) => a + p.value, 0)));
  const w = 100 / Math.max(1, bars.length);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 100 ${height}`} preserveAspectRatio="none" role="img" aria-label={title} height={height}>
        {bars.map((b, i) => {
          let y = height;
          return (
            <g key={i}>
              {b.parts.map((p, j) => {
                const h = (p.value / max) * (height - 4);
                y -= h;
                return (
                  <rect key={j} class={p.cls} x={i * w + w * 0.1} y={y} width={w * 0.8} height={h}>
                    <title>{`${b.label}: ${p.title} ${p.value}${unit}`}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
      </svg>
      {bars.length > 2 && (
        <div class="axis" aria-hidden="true">
          <span>{bars[0].label}</span>
          <span>{bars[Math.floor(bars.length / 2)].label}</span>
          <span>{bars[bars.length - 1].label}</span>
        </div>
      )}
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** Back and next for a list paged by cursor: the cursors seen so far are the way back. */
export function usePager() {
  const [stack, setStack] = useState<Array<string | undefined>>([undefined]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    page: stack.length,
    reset: () => setStack([undefined]),
    Pager: ({ next }: { next: string | null | undefined }) => (
      <nav class="pager" aria-label="pages">
        <button type="button" disabled={stack.length === 1} onClick={() => setStack(stack.slice(0, -1))}>
          ‹ Previous
        </button>
        <span>Page {stack.length}</span>
        <button type="button" disabled={!next} onClick={() => next && setStack([...stack, next])}>
          Next ›
        </button>
      </nav>
    ),
  };
}

/** Pretty JSON where a secret reference shows as its name, never a value (values are never sent anyway). */
export function JsonView({ value }: { value: unknown }) {
  const text = JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && '$secret' in (v as object) ? `«secret ${(v as { $secret: string }).$secret}»` : v), 2);
  return <pre class="code">{text}</pre>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
