import { render } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { loadContract, makeClient, messageOf, ProblemError, storedToken, storeToken, type Contract } from './api.js';
import { base, SessionContext, type Session } from './components.js';
import { AuditPage } from './pages/audit.js';
import { BatchesPage } from './pages/batches.js';
import { CreateJobPage } from './pages/create-job.js';
import { FailuresPage } from './pages/failures.js';
import { JobPage } from './pages/job.js';
import { JobsPage } from './pages/jobs.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { WorkersPage } from './pages/workers.js';
import './style.css';

const pathNow = () => (location.pathname.startsWith(base) ? location.pathname.slice(base.length) || '/' : '/') + location.search;

interface Nav {
  to: string;
  label: string;
  /** The operation the page reads; hidden when the viewer may not call it. */
  needs: string;
}
const nav: Nav[] = [
  { to: '/', label: 'Overview', needs: 'getStats' },
  { to: '/jobs', label: 'Jobs', needs: 'listJobs' },
  { to: '/runs', label: 'Runs', needs: 'listExecutions' },
  { to: '/batches', label: 'Batches', needs: 'listExecutions' },
  { to: '/workers', label: 'Workers', needs: 'listWorkers' },
  { to: '/failures', label: 'Failures', needs: 'listJobs' },
  { to: '/audit', label: 'Audit', needs: 'listAudit' },
];

function Page({ path }: { path: string }) {
  const [p] = path.split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return <OverviewPage />;
    case 'jobs':
      if (parts[1] === undefined) return <JobsPage />;
      if (parts[1] === 'new' && parts.length === 2) return <CreateJobPage />;
      return <JobPage jobId={parts.slice(1).join('/')} />;
    case 'runs':
      return parts[1] ? <RunPage executionId={parts[1]} /> : <RunsPage />;
    case 'batches':
      return <BatchesPage batchId={parts[1] ?? null} />;
    case 'workers':
      return <WorkersPage />;
    case 'failures':
      return <FailuresPage />;
    case 'audit':
      return <AuditPage />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>The dashboard has no page at {p}.</p>
        </section>
      );
  }
}

type Boot =
  { state: 'loading' } | { state: 'login'; error: string | null } | { state: 'failed'; error: string } | { state: 'ready'; session: Omit<Session, 'navigate' | 'logout'> };

function App() {
  const [path, setPath] = useState(pathNow());
  const [token, setToken] = useState(storedToken());
  const [boot, setBoot] = useState<Boot>({ state: 'loading' });
  const [theme, setTheme] = useState<string>(localStorage.getItem('jobs-service.theme') ?? 'auto');

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('jobs-service.theme', theme);
  }, [theme]);

  useEffect(() => {
    const onPop = () => setPath(pathNow());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  // Who the viewer is: without tokens configured, anyone on loopback is admin and no login is asked.
  useEffect(() => {
    let gone = false;
    const client = makeClient(token);
    setBoot({ state: 'loading' });
    Promise.all([client.service.caller(), loadContract(client)]).then(
      ([caller, contract]: [Awaited<ReturnType<typeof client.service.caller>>, Contract]) => {
        if (!gone) setBoot({ state: 'ready', session: { client, role: caller.role, name: caller.name, tokensChecked: caller.tokens_checked, ...contract } });
      },
      (err: unknown) => {
        if (gone) return;
        if (err instanceof ProblemError && err.status === 401) setBoot({ state: 'login', error: token ? 'That token is not valid.' : null });
        else setBoot({ state: 'failed', error: messageOf(err) });
      },
    );
    return () => {
      gone = true;
    };
  }, [token]);

  const navigate = useCallback((to: string) => {
    history.pushState(null, '', base + to);
    setPath(to);
    scrollTo(0, 0);
  }, []);
  const logout = useCallback(() => {
    storeToken(null);
    setToken(null);
  }, []);
  const session = useMemo<Session | null>(() => (boot.state === 'ready' ? { ...boot.session, navigate, logout } : null), [boot, navigate, logout]);

  useEffect(() => {
    const title = document.querySelector('main h1')?.textContent;
    document.title = title ? `${title} · jobs-service` : 'jobs-service';
  });

  if (boot.state === 'loading') return <p class="boot">Loading…</p>;
  if (boot.state === 'failed') return <p class="error-box boot">{boot.error}</p>;
  if (boot.state === 'login')
    return (
      <LoginPage
        error={boot.error}
        onToken={(t) => {
          storeToken(t);
          setToken(t);
        }}
      />
    );
  const s = session!;
  const current = path.split('?')[0];
  return (
    <SessionContext.Provider value={s}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a
          class="brand"
          href={`${base}/`}
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          jobs-service
        </a>
        <nav aria-label="main">
          <ul>
            {nav
              .filter((n) => s.roles[n.needs] !== undefined && (n.needs !== 'listAudit' || s.role === 'admin'))
              .map((n) => {
                const active = n.to === '/' ? current === '/' : current.startsWith(n.to);
                return (
                  <li key={n.to}>
                    <a
                      href={base + n.to}
                      aria-current={active ? 'page' : undefined}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(n.to);
                      }}
                    >
                      {n.label}
                    </a>
                  </li>
                );
              })}
          </ul>
        </nav>
        <div class="who">
          <label class="theme">
            <span class="sr-only">Theme</span>
            <select value={theme} onChange={(e) => setTheme(e.currentTarget.value)}>
              <option value="auto">Auto</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </label>
          <span class="role" title="your role">
            {s.tokensChecked ? `${s.name} · ${s.role}` : 'no tokens · admin'}
          </span>
          {s.tokensChecked && (
            <button type="button" onClick={logout}>
              Log out
            </button>
          )}
          <a href="/api/v1/ui" class="api-link">
            API
          </a>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
