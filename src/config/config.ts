import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { secretsKeyring, type SecretsKeyring } from './secrets-key.js';
import { parseApiTokens, type ApiToken, type AuthMode } from './tokens.js';

export { ConfigError };

/** Where the project's own folders are, whether running from `src/config/` (tsx) or `dist/src/config/` (compiled). */
const here = path.dirname(fileURLToPath(import.meta.url));
const compiled = path.basename(path.resolve(here, '..', '..')) === 'dist';
export const projectRoot = compiled ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
const handlersRoot = compiled ? path.resolve(here, '..', '..', 'handlers') : path.resolve(projectRoot, 'handlers');

/** The deepest nesting of objects and arrays accepted in a request body unless JOBS_BODY_MAX_DEPTH says. */
export const defaultBodyMaxDepth = 64;

export type StoreKind = 'embedded' | 'postgres' | 'mongodb';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  storeKind: StoreKind;
  dataDir: string;
  defaultJobsDir: string;
  handlersDir: string;
  /** JOB_SERVICE_PAUSED: true starts paused, false starts running, unset keeps the stored state. */
  startPaused: boolean | null;
  logLevel: LogLevel;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Deepest nesting of objects and arrays accepted in a request body. */
  bodyMaxDepth: number;
  /** How often an idle worker looks for due runs, in ms (notifications make most runs start sooner). */
  pollIntervalMs: number;
  /** shared_buffers of the embedded PostgreSQL (PGlite). */
  embeddedSharedBuffers: string;
  /** Lines of output kept per run. */
  maxOutputLines: number;
  /** Runs at once per worker process. */
  concurrency: number;
  /** Whether this process runs jobs (false: API only). */
  worker: boolean;
  /** Name shown for this worker; host:pid by default. */
  workerName: string | null;
  /** How often a worker reports itself, in ms. */
  heartbeatIntervalMs: number;
  /** Seconds a worker may be silent before it is declared gone (at least three heartbeats). */
  workerGoneAfterSeconds: number;
  /** Seconds a gone worker's row is kept after its last heartbeat. */
  workerRetentionSeconds: number;
  /** Seconds a run may take when neither its job nor its handler says. */
  defaultTimeoutSeconds: number;
  /** How long a cancelled or timed-out run is waited for before it is recorded anyway, in ms. */
  cancelGraceMs: number;
  /** Seconds running runs may go on at shutdown before they are cancelled. */
  shutdownGraceSeconds: number;
  /** How long a run's lock lives without a heartbeat, in ms. */
  lockLifetimeMs: number;
  auth: { mode: AuthMode; tokens: ApiToken[] };
  /** A queued run without a run row for this long (ms) is given one, or cancelled when its job is gone. */
  undispatchedAgeMs: number;
  /** Longest wait between two tries of a run's end that could not be written, in ms. */
  endRetryMaxMs: number;
  /** How often ended runs whose chains were not written, and fan-in jobs, are checked, in ms. */
  chainSweepMs: number;
  /** JOBS_METRICS_AUTH: /metrics needs a read token. */
  metricsAuth: boolean;
  /** JOBS_HEALTH_AUTH: liveness and readiness need a read token. */
  healthAuth: boolean;
  /** Bytes of output kept per run (the newest lines, after a note line), so a run's end always fits one MongoDB document. */
  maxOutputBytes: number;
  /** How long the dispatch engine may take to connect to its database at boot, in ms. */
  engineReadyTimeoutMs: number;
  /** JOBS_SECRETS_KEY (and JOBS_SECRETS_OLD_KEYS): seals secret values at rest; null when unset (secrets cannot be stored or read). */
  secretsKeyring: SecretsKeyring | null;
  /** What one request may ask for and how much the service holds (quotas). */
  limits: Limits;
  /** The HTTP server's connection cap and timeouts. */
  http: HttpServerSettings;
  /** The live event streams (JOBS_SSE_*). */
  sse: SseSettings;
  /** How audit records are kept. */
  audit: AuditSettings;
  /** The outbound policy of http-request (handlers/_outbound.ts). */
  outbound: OutboundSettings;
  /** run-script's limits and isolation. */
  scripts: ScriptSettings;
  /** Notifications: their delivery, retries, rules and the SMTP server for e-mail. */
  notify: NotifySettings;
  containers: ContainerSettings;
  /** JOBS_ALLOWED_HOSTS: Host names accepted besides loopback ones when no tokens are configured. */
  allowedHosts: string[];
  // Outages and storage.
  /** Longest wait between attempts to connect again to a database that went away, in ms. */
  dbRetryMaxMs: number;
  /** JOBS_ANNOUNCE_GAP_MS: PostgreSQL: the shortest time between two NOTIFYs a process sends on one channel after its writes, in ms. */
  announceGapMs: number;
  /** How long a boot keeps trying to reach the database before it gives up, in seconds. */
  dbBootWaitSeconds: number;
  /** JOBS_CLAIM_AHEAD: due rows a worker claims beyond its free concurrency (SQL stores), started as runs end; 0 (off) unless set. */
  claimAhead: number;
  /** JOBS_CLAIM_EARLY_MS: how long before a row is due a worker may claim it (SQL stores), holding it until its time. */
  claimEarlyMs: number;
  /** JOBS_FIRE_LEAD_MS: how long before a row claimed early is due its fire may be written (SQL stores), its handler still starting at its time; 0 (off) unless set. */
  fireLeadMs: number;
  /** JOBS_ANALYZE_AFTER_ROWS: rows written to a table (and a fifth of its size) before it is analysed again on SQL stores; 0: never. */
  analyzeAfterRows: number;
  /** JOBS_VACUUM_*: VACUUM of the tables where nothing else runs it (PGlite; PostgreSQL with autovacuum off). */
  vacuum: { afterRows: number; intervalMs: number; freezeAge: number };
  /** JOBS_PREPARED_STATEMENTS: the most statement texts a process prepares on SQL stores; 0: none. */
  preparedStatements: number;
}

/** JOBS_PREPARED_STATEMENTS's default. */
export const defaultPreparedStatements = 1000;

/** Quotas: every one answers a request beyond it with a 4xx naming its setting. */
export interface Limits {
  /** JOBS_MAX_KWARGS_BYTES: a job's or a run's kwargs as JSON, in bytes. */
  maxKwargsBytes: number;
  /** JOBS_MAX_KWARGS_DEPTH: nesting of objects and arrays in kwargs. */
  maxKwargsDepth: number;
  /** JOBS_MAX_FLOW_DEPTH: flows of flows, levels of child runs below a run. */
  maxFlowDepth: number;
  /** JOBS_MAX_FLOW_RUNS: child runs one run may lead to over every level, times the runs asked for. */
  maxFlowRuns: number;
  /** JOBS_MAX_QUEUED_RUNS_PER_JOB: queued runs of one job. */
  maxQueuedRunsPerJob: number;
  /** JOBS_MAX_QUEUED_RUNS: queued runs in all. */
  maxQueuedRuns: number;
  /** JOBS_MIN_INTERVAL_SECONDS: the shortest `periodically`. */
  minIntervalSeconds: number;
  /** JOBS_MAX_RETRIES: the largest `retries`. */
  maxRetries: number;
  /** JOBS_MAX_RETRY_BACKOFF_SECONDS: the largest `retry_backoff`. */
  maxRetryBackoffSeconds: number;
  /** JOBS_PAGE_MAX_BYTES: a list page's items as JSON, in bytes (fewer items and the cursor past it). */
  pageMaxBytes: number;
  /** JOBS_MAX_BULK_JOBS: jobs one `POST /jobs/bulk` may create. */
  maxBulkJobs: number;
  /** JOBS_LEDGER_MAX_FIRES: fires one answer of the fire ledger lists (the rest from its `next_since`). */
  ledgerMaxFires: number;
  /** JOBS_LEDGER_MAX_RANGE_SECONDS: the longest `until - since` the fire ledger is asked for. */
  ledgerMaxRangeSeconds: number;
  /** JOBS_CATCH_UP_MAX_FIRES: runs one catch-up (`catch_up: all`) or one backfill may start. */
  maxCatchUpFires: number;
  /** JOBS_MAX_NEXT_FIRES: the largest `count` of next-fires and a schedule preview. */
  maxNextFires: number;
  /** JOBS_MAX_JITTER_SECONDS: the largest `jitter`. */
  maxJitterSeconds: number;
  /** JOBS_MAX_BULK_RUNS: runs one bulk retry or cancel may match. */
  maxBulkRuns: number;
}

export interface SseSettings {
  /** JOBS_SSE_MAX_CLIENTS: open event streams at once in this process; more answer 503. */
  maxClients: number;
  /** JOBS_SSE_BUFFER_BYTES: bytes of events a stream may have waiting for its client; a client further behind is disconnected. */
  bufferBytes: number;
  /** JOBS_SSE_HEARTBEAT: seconds between two comment lines that keep a quiet stream (and proxies) open. */
  heartbeatMs: number;
  /** JOBS_SSE_POLL_INTERVAL_MS: how often this process looks for new events besides the database's notifications (the only way on MongoDB). */
  pollIntervalMs: number;
  /** JOBS_SSE_RETENTION: seconds events are kept for Last-Event-ID to resume from. */
  retentionMs: number;
}

export interface HttpServerSettings {
  /** JOBS_HTTP_MAX_CONNECTIONS: open connections at once; more are closed as they come. */
  maxConnections: number;
  /** JOBS_HTTP_HEADERS_TIMEOUT_MS: time to send a request's headers. */
  headersTimeoutMs: number;
  /** JOBS_HTTP_REQUEST_TIMEOUT_MS: time to send a whole request, body included. */
  requestTimeoutMs: number;
  /** JOBS_HTTP_KEEP_ALIVE_TIMEOUT_MS: how long an idle kept-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

export interface AuditSettings {
  /** JOBS_AUDIT_RETENTION_DAYS: audit records older than this are deleted; 0 keeps them. */
  retentionDays: number;
  /** JOBS_AUDIT_DENIED_WINDOW_SECONDS: calls without a valid token are counted in one record per operation, client and window. */
  deniedWindowSeconds: number;
  /** JOBS_AUDIT_PATH_MAX_LENGTH: characters of a path kept in an audit record. */
  pathMaxLength: number;
  /** JOBS_TRUSTED_PROXIES: addresses whose X-Forwarded-For names the client. */
  trustedProxies: string[];
}

/** The defaults of the quotas, the HTTP server and the audit, documented in README and docs/security.md. */
export const limitDefaults = {
  JOBS_MAX_KWARGS_BYTES: 65536,
  JOBS_MAX_KWARGS_DEPTH: 32,
  JOBS_MAX_FLOW_DEPTH: 3,
  JOBS_MAX_FLOW_RUNS: 10000,
  JOBS_MAX_QUEUED_RUNS_PER_JOB: 1000,
  JOBS_MAX_QUEUED_RUNS: 10000,
  JOBS_MIN_INTERVAL_SECONDS: 1,
  JOBS_MAX_RETRIES: 100,
  JOBS_MAX_RETRY_BACKOFF_SECONDS: 86400,
  JOBS_PAGE_MAX_BYTES: 1048576,
  JOBS_MAX_BULK_JOBS: 10000,
  JOBS_LEDGER_MAX_FIRES: 1000,
  JOBS_LEDGER_MAX_RANGE_SECONDS: 2678400,
  JOBS_CATCH_UP_MAX_FIRES: 100,
  JOBS_MAX_NEXT_FIRES: 1000,
  JOBS_MAX_JITTER_SECONDS: 3600,
  JOBS_MAX_BULK_RUNS: 1000,
  JOBS_HTTP_MAX_CONNECTIONS: 1000,
  JOBS_HTTP_HEADERS_TIMEOUT_MS: 10000,
  JOBS_HTTP_REQUEST_TIMEOUT_MS: 30000,
  JOBS_HTTP_KEEP_ALIVE_TIMEOUT_MS: 5000,
  JOBS_SSE_MAX_CLIENTS: 100,
  JOBS_SSE_BUFFER_BYTES: 1048576,
  JOBS_SSE_HEARTBEAT: 15,
  JOBS_SSE_POLL_INTERVAL_MS: 1000,
  JOBS_SSE_RETENTION: 3600,
  JOBS_AUDIT_RETENTION_DAYS: 90,
  JOBS_AUDIT_DENIED_WINDOW_SECONDS: 60,
  JOBS_AUDIT_PATH_MAX_LENGTH: 1000,
} as const;

function limitsOf(env: Env): Pick<Config, 'limits' | 'http' | 'sse' | 'audit'> {
  const d = limitDefaults;
  const n = (name: keyof typeof limitDefaults, min: number, max: number) => integer(env, name, d[name], min, max);
  const trustedProxies = (env.JOBS_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const a of trustedProxies) if (net.isIP(a) === 0) throw new ConfigError('JOBS_TRUSTED_PROXIES', `must list IP addresses, got '${a}'`);
  return {
    limits: {
      maxKwargsBytes: n('JOBS_MAX_KWARGS_BYTES', 256, 64 * 1024 * 1024),
      maxKwargsDepth: n('JOBS_MAX_KWARGS_DEPTH', 1, 1000),
      maxFlowDepth: n('JOBS_MAX_FLOW_DEPTH', 1, 100),
      maxFlowRuns: n('JOBS_MAX_FLOW_RUNS', 1, 10_000_000),
      maxQueuedRunsPerJob: n('JOBS_MAX_QUEUED_RUNS_PER_JOB', 1, 10_000_000),
      maxQueuedRuns: n('JOBS_MAX_QUEUED_RUNS', 1, 100_000_000),
      minIntervalSeconds: n('JOBS_MIN_INTERVAL_SECONDS', 1, 31_536_000),
      maxRetries: n('JOBS_MAX_RETRIES', 0, 100),
      maxRetryBackoffSeconds: n('JOBS_MAX_RETRY_BACKOFF_SECONDS', 0, 86400),
      pageMaxBytes: n('JOBS_PAGE_MAX_BYTES', 1024, 1024 * 1024 * 1024),
      maxBulkJobs: n('JOBS_MAX_BULK_JOBS', 1, 1_000_000),
      ledgerMaxFires: n('JOBS_LEDGER_MAX_FIRES', 1, 100_000),
      ledgerMaxRangeSeconds: n('JOBS_LEDGER_MAX_RANGE_SECONDS', 60, 31_622_400 * 10),
      maxCatchUpFires: n('JOBS_CATCH_UP_MAX_FIRES', 1, 100_000),
      maxNextFires: n('JOBS_MAX_NEXT_FIRES', 1, 100_000),
      maxJitterSeconds: n('JOBS_MAX_JITTER_SECONDS', 0, 604_800),
      maxBulkRuns: n('JOBS_MAX_BULK_RUNS', 1, 1_000_000),
    },
    http: {
      maxConnections: n('JOBS_HTTP_MAX_CONNECTIONS', 1, 1_000_000),
      headersTimeoutMs: n('JOBS_HTTP_HEADERS_TIMEOUT_MS', 100, 600_000),
      requestTimeoutMs: n('JOBS_HTTP_REQUEST_TIMEOUT_MS', 100, 3_600_000),
      keepAliveTimeoutMs: n('JOBS_HTTP_KEEP_ALIVE_TIMEOUT_MS', 100, 600_000),
    },
    sse: {
      maxClients: n('JOBS_SSE_MAX_CLIENTS', 1, 100_000),
      bufferBytes: n('JOBS_SSE_BUFFER_BYTES', 1024, 256 * 1024 * 1024),
      heartbeatMs: n('JOBS_SSE_HEARTBEAT', 1, 3600) * 1000,
      pollIntervalMs: n('JOBS_SSE_POLL_INTERVAL_MS', 20, 60_000),
      retentionMs: n('JOBS_SSE_RETENTION', 1, 30 * 86400) * 1000,
    },
    audit: {
      retentionDays: n('JOBS_AUDIT_RETENTION_DAYS', 0, 36500),
      deniedWindowSeconds: n('JOBS_AUDIT_DENIED_WINDOW_SECONDS', 1, 86400),
      pathMaxLength: n('JOBS_AUDIT_PATH_MAX_LENGTH', 100, 100_000),
      trustedProxies,
    },
  };
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got '${raw}'`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/**
 * integer() of a setting renamed to carry its unit: the new name wins, the old one is still
 * read when the new one is unset.
 */
function integerAlias(env: Env, name: string, oldName: string, fallback: number, min: number, max: number): number {
  const set = (n: string) => env[n] !== undefined && env[n] !== '';
  return integer(env, set(name) || !set(oldName) ? name : oldName, fallback, min, max);
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `must be true or false, got '${raw}'`);
}

function memorySize(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+(kB|MB|GB)$/.test(raw)) throw new ConfigError(name, `must be a size such as 16MB or 1GB, got '${raw}'`);
  return raw;
}

export function storeKindOf(url: string | undefined): StoreKind {
  if (!url) return 'embedded';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  if (/^mongodb(\+srv)?:\/\//.test(url)) return 'mongodb';
  throw new ConfigError('DATABASE_URL', `must start with postgres://, postgresql://, mongodb:// or mongodb+srv://, got '${url.replace(/\/\/[^@]*@/, '//***@')}'`);
}

/** Whether an address to bind is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

function authOf(env: Env, host: string): Config['auth'] {
  const tokens = parseApiTokens(env.JOBS_API_TOKENS);
  const raw = env.JOBS_AUTH?.trim().toLowerCase() ?? '';
  if (raw !== '' && raw !== 'on' && raw !== 'off') throw new ConfigError('JOBS_AUTH', `must be on or off, got '${env.JOBS_AUTH}'`);
  if (raw === 'off') return { mode: 'off', tokens: [] };
  if (tokens.length > 0) return { mode: 'tokens', tokens };
  if (raw === 'on') throw new ConfigError('JOBS_AUTH', 'is on, but JOBS_API_TOKENS holds no token');
  if (!isLoopback(host)) {
    throw new ConfigError(
      'JOBS_API_TOKENS',
      `is not set, so the API would be open to anyone who reaches ${host}; set tokens (name:token:role), bind to loopback (HOST=127.0.0.1), or set JOBS_AUTH=off to serve without checks`,
    );
  }
  return { mode: 'open', tokens: [] };
}

// Outbound calls (http-request) and scripts (run-script). The handlers read these variables
// at every call (they import nothing of the service); here the same rules check them once, so
// a bad value stops the boot naming the variable.

export interface OutboundSettings {
  /** JOBS_OUTBOUND_ALLOW: entries every hop must match; empty: any not denied. */
  allow: string[];
  /** JOBS_OUTBOUND_DENY: entries no hop may match, beside the built-in denial (link-local, metadata...). */
  deny: string[];
  /** JOBS_OUTBOUND_PORTS: `*` or ports and ranges. */
  ports: string;
  /** JOBS_OUTBOUND_SCHEMES: http, https or both. */
  schemes: string[];
  /** JOBS_OUTBOUND_MAX_BYTES: body bytes read at most. */
  maxBytes: number;
  /** JOBS_OUTBOUND_CAPTURE_BYTES: body bytes logged with capture_body. */
  captureBytes: number;
  /** JOBS_OUTBOUND_MAX_REDIRECTS: redirects followed at most. */
  maxRedirects: number;
}

export interface SmtpSettings {
  /** JOBS_SMTP_HOST: the SMTP server e-mail notifications go through; e-mail rules are refused without it. */
  host: string;
  /** JOBS_SMTP_PORT (default 587, or 465 with JOBS_SMTP_SECURE). */
  port: number;
  /** JOBS_SMTP_SECURE: TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** JOBS_SMTP_USER and JOBS_SMTP_PASSWORD: login, when both are set. */
  user: string | null;
  password: string | null;
  /** JOBS_SMTP_PASSWORD_SECRET: the name of a stored secret holding the password, instead of JOBS_SMTP_PASSWORD. */
  passwordSecret: string | null;
  /** JOBS_SMTP_FROM: the sender address. */
  from: string;
  /** JOBS_SMTP_TLS_REJECT_UNAUTHORIZED: refuse a server certificate that does not verify (default true). */
  rejectUnauthorized: boolean;
}

export interface NotifySettings {
  /** JOBS_NOTIFY_POLL_MS: how often each process sends due deliveries, looks for late runs and reads the default rules. */
  pollMs: number;
  /** JOBS_NOTIFY_MAX_ATTEMPTS: tries of a delivery before it is recorded as failed. */
  maxAttempts: number;
  /** JOBS_NOTIFY_BACKOFF_MS: wait before the second try, doubled for each further one... */
  backoffMs: number;
  /** JOBS_NOTIFY_MAX_BACKOFF_MS: ...up to this. */
  maxBackoffMs: number;
  /** JOBS_NOTIFY_TIMEOUT_MS: how long one try may take. */
  timeoutMs: number;
  /** JOBS_NOTIFY_BATCH: deliveries a process takes at once. */
  batch: number;
  /** JOBS_NOTIFY_MAX_RULES: rules per job, and in the service's defaults. */
  maxRules: number;
  /** JOBS_NOTIFY_MAX_RECIPIENTS: addresses per e-mail rule. */
  maxRecipients: number;
  /** JOBS_NOTIFY_MAX_PAUSE_AFTER_FAILURES: the largest pause_after_failures. */
  maxPauseAfterFailures: number;
  /** JOBS_NOTIFY_RETENTION_DAYS: delivered and failed deliveries older than this are deleted; 0 keeps them. */
  retentionDays: number;
  /** null when JOBS_SMTP_HOST is unset. */
  smtp: SmtpSettings | null;
}

export interface ScriptSettings {
  /** JOBS_SCRIPT_ENV_ALLOW: names kwargs.env may set. */
  envAllow: string[];
  /** JOBS_SCRIPT_OUTPUT_BYTES and _LINES: output kept per run. */
  outputBytes: number;
  outputLines: number;
  /** JOBS_SCRIPT_ISOLATION: auto (PID namespace where possible), pidns or group. */
  isolation: 'auto' | 'pidns' | 'group';
}

const outboundGroups = ['loopback', 'private', 'link-local', 'metadata'];
const outboundHostName = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function outboundList(env: Env, name: string): string[] {
  const entries = (env[name] ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase().replace(/\.$/, ''))
    .filter(Boolean);
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    if (outboundGroups.includes(entry)) continue;
    if (net.isIP(address) && extra === undefined) {
      const max = net.isIPv6(address) ? 128 : 32;
      if (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max)) continue;
      throw new ConfigError(name, `'${entry}' has a prefix length outside 0-${max}`);
    }
    if (prefix === undefined && outboundHostName.test(entry)) continue;
    throw new ConfigError(name, `'${entry}' is not an address, CIDR block, host name, *.domain or one of ${outboundGroups.join(', ')}`);
  }
  return entries;
}

function outboundSettings(env: Env): OutboundSettings {
  const ports = env.JOBS_OUTBOUND_PORTS?.trim() || '*';
  if (ports !== '*') {
    for (const item of ports.split(',')) {
      const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(item);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m?.[2] ? Number(m[2]) : lo;
      if (!m || lo < 1 || hi > 65535 || lo > hi) throw new ConfigError('JOBS_OUTBOUND_PORTS', `'${item.trim()}' is not a port or range within 1-65535 (or * for any)`);
    }
  }
  const schemes = (env.JOBS_OUTBOUND_SCHEMES?.trim() || 'http,https')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const s of schemes) if (s !== 'http' && s !== 'https') throw new ConfigError('JOBS_OUTBOUND_SCHEMES', `'${s}' is not http or https`);
  return {
    allow: outboundList(env, 'JOBS_OUTBOUND_ALLOW'),
    deny: outboundList(env, 'JOBS_OUTBOUND_DENY'),
    ports,
    schemes,
    maxBytes: integer(env, 'JOBS_OUTBOUND_MAX_BYTES', 1024 * 1024, 0, 1024 * 1024 * 1024),
    captureBytes: integer(env, 'JOBS_OUTBOUND_CAPTURE_BYTES', 2000, 0, 1024 * 1024),
    maxRedirects: integer(env, 'JOBS_OUTBOUND_MAX_REDIRECTS', 10, 0, 100),
  };
}

/**
 * Names a script's environment may never take from kwargs.env: they change what the dynamic
 * loader, a shell or an interpreter loads and runs (handlers/run-script.ts refuses them too).
 */
const unsafeScriptEnvNames = [
  'PATH',
  'BASH_ENV',
  'ENV',
  'IFS',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'CDPATH',
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  'RESOLV_HOST_CONF',
  'RUBYOPT',
  'RUBYLIB',
  'PERLLIB',
  'JAVA_TOOL_OPTIONS',
];
const unsafeScriptEnvPrefixes = ['LD_', 'DYLD_', 'NODE_', 'PYTHON', 'PERL5', 'RUBY', 'BASH_FUNC_', 'GLIBC_', 'MALLOC_', '_JAVA_', 'GIT_'];

function notifySettings(env: Env): NotifySettings {
  const host = env.JOBS_SMTP_HOST?.trim();
  const secure = boolean(env, 'JOBS_SMTP_SECURE', false);
  const user = env.JOBS_SMTP_USER?.trim() || null;
  const password = env.JOBS_SMTP_PASSWORD || null;
  const passwordSecret = env.JOBS_SMTP_PASSWORD_SECRET?.trim() || null;
  if (password && passwordSecret) throw new ConfigError('JOBS_SMTP_PASSWORD_SECRET', 'cannot be combined with JOBS_SMTP_PASSWORD: set one of them');
  const from = env.JOBS_SMTP_FROM?.trim() || `jobs-service@${os.hostname()}`;
  if (host && !/^[^\s@<>]+@[^\s@<>]+$/.test(from)) throw new ConfigError('JOBS_SMTP_FROM', `must be an e-mail address, got '${from}'`);
  return {
    pollMs: integer(env, 'JOBS_NOTIFY_POLL_MS', 2000, 50, 600_000),
    maxAttempts: integer(env, 'JOBS_NOTIFY_MAX_ATTEMPTS', 6, 1, 100),
    backoffMs: integer(env, 'JOBS_NOTIFY_BACKOFF_MS', 10_000, 0, 86_400_000),
    maxBackoffMs: integer(env, 'JOBS_NOTIFY_MAX_BACKOFF_MS', 3_600_000, 0, 86_400_000),
    timeoutMs: integer(env, 'JOBS_NOTIFY_TIMEOUT_MS', 10_000, 100, 600_000),
    batch: integer(env, 'JOBS_NOTIFY_BATCH', 20, 1, 1000),
    maxRules: integer(env, 'JOBS_NOTIFY_MAX_RULES', 10, 0, 1000),
    maxRecipients: integer(env, 'JOBS_NOTIFY_MAX_RECIPIENTS', 10, 1, 1000),
    maxPauseAfterFailures: integer(env, 'JOBS_NOTIFY_MAX_PAUSE_AFTER_FAILURES', 1000, 1, 1_000_000),
    retentionDays: integer(env, 'JOBS_NOTIFY_RETENTION_DAYS', 30, 0, 36500),
    smtp: host
      ? {
          host,
          port: integer(env, 'JOBS_SMTP_PORT', secure ? 465 : 587, 1, 65535),
          secure,
          user,
          password,
          passwordSecret,
          from,
          rejectUnauthorized: boolean(env, 'JOBS_SMTP_TLS_REJECT_UNAUTHORIZED', true),
        }
      : null,
  };
}

function scriptSettings(env: Env): ScriptSettings {
  const envAllow = (env.JOBS_SCRIPT_ENV_ALLOW ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of envAllow) {
    const upper = name.toUpperCase();
    const prefix = unsafeScriptEnvPrefixes.find((p) => upper.startsWith(p));
    if (unsafeScriptEnvNames.includes(upper) || prefix) {
      throw new ConfigError(
        'JOBS_SCRIPT_ENV_ALLOW',
        `lists ${name}, which a job must never set: ${prefix ? `${prefix}* variables change what the loader or an interpreter loads` : `${name} changes how the script or its shell is found or run`}`,
      );
    }
  }
  const isolation = env.JOBS_SCRIPT_ISOLATION?.trim().toLowerCase() || 'auto';
  if (isolation !== 'auto' && isolation !== 'pidns' && isolation !== 'group') {
    throw new ConfigError('JOBS_SCRIPT_ISOLATION', `must be auto, pidns or group, got '${env.JOBS_SCRIPT_ISOLATION}'`);
  }
  return {
    envAllow,
    outputBytes: integer(env, 'JOBS_SCRIPT_OUTPUT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    outputLines: integer(env, 'JOBS_SCRIPT_OUTPUT_LINES', 2000, 10, 10_000_000),
    isolation,
  };
}

export interface ContainerSettings {
  /** JOBS_CONTAINER_ENGINE: the Docker Engine API's socket path or URL. */
  engine: string;
  /** JOBS_CONTAINER_ROLE: the role creating, changing or running container jobs needs. */
  role: 'read' | 'write' | 'admin';
  /** JOBS_CONTAINER_NETWORKS: networks kwargs.network may name besides none. */
  networks: string[];
  /** JOBS_CONTAINER_STOP_GRACE_SECONDS: SIGTERM-to-SIGKILL grace of a stopped container. */
  stopGraceSeconds: number;
  /** JOBS_CONTAINER_PULL_TIMEOUT_SECONDS: a pull longer than this is an error. */
  pullTimeoutSeconds: number;
  /** JOBS_CONTAINER_OUTPUT_BYTES and _LINES: output kept per run. */
  outputBytes: number;
  outputLines: number;
}

function containerSettings(env: Env): ContainerSettings {
  const engine = env.JOBS_CONTAINER_ENGINE?.trim() || '/var/run/docker.sock';
  if (!engine.startsWith('/') && !/^unix:\/\/\//.test(engine)) {
    let url: URL | null;
    try {
      url = new URL(engine);
    } catch {
      url = null;
    }
    if (!url || !['http:', 'https:', 'tcp:'].includes(url.protocol) || !url.hostname) {
      throw new ConfigError('JOBS_CONTAINER_ENGINE', `must be a socket path, unix:///path, http://host:port, https://host:port or tcp://host:port, got '${engine}'`);
    }
  }
  const role = env.JOBS_CONTAINER_ROLE?.trim().toLowerCase() || 'admin';
  if (role !== 'read' && role !== 'write' && role !== 'admin') throw new ConfigError('JOBS_CONTAINER_ROLE', `must be read, write or admin, got '${env.JOBS_CONTAINER_ROLE}'`);
  const networks = (env.JOBS_CONTAINER_NETWORKS?.trim() || 'none,bridge')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const n of networks) if (!['none', 'bridge', 'host'].includes(n)) throw new ConfigError('JOBS_CONTAINER_NETWORKS', `'${n}' is not none, bridge or host`);
  return {
    engine,
    role,
    networks,
    stopGraceSeconds: integer(env, 'JOBS_CONTAINER_STOP_GRACE_SECONDS', 5, 0, 3600),
    pullTimeoutSeconds: integer(env, 'JOBS_CONTAINER_PULL_TIMEOUT_SECONDS', 600, 1, 86_400),
    outputBytes: integer(env, 'JOBS_CONTAINER_OUTPUT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    outputLines: integer(env, 'JOBS_CONTAINER_OUTPUT_LINES', 2000, 10, 10_000_000),
  };
}

/** A comma-separated list of host names (no port), lowercased. */
function hostNames(env: Env, name: string): string[] {
  const names = (env[name] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  for (const h of names) {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h) || h.length > 253) {
      throw new ConfigError(name, `'${h}' is not a host name (letters, digits, dots and dashes; no port)`);
    }
  }
  return names;
}

const levels: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and checks the configuration; throws ConfigError naming the variable on bad input. */
export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  const logLevel = (env.LOG_LEVEL?.trim().toLowerCase() || 'info') as LogLevel;
  if (!levels.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${levels.join(', ')}, got '${env.LOG_LEVEL}'`);
  const host = env.HOST?.trim() || '127.0.0.1';
  return {
    port: integer(env, 'PORT', 34000, 0, 65535),
    host,
    databaseUrl,
    storeKind: storeKindOf(databaseUrl),
    dataDir: path.resolve(env.JOBS_DATA_DIR?.trim() || '.data'),
    defaultJobsDir: path.resolve(env.JOBS_DEFAULT_JOBS_DIR?.trim() || path.join(projectRoot, 'default-jobs')),
    handlersDir: path.resolve(env.JOBS_HANDLERS_DIR?.trim() || handlersRoot),
    startPaused: env.JOB_SERVICE_PAUSED?.trim() ? boolean(env, 'JOB_SERVICE_PAUSED', false) : null,
    embeddedSharedBuffers: memorySize(env, 'JOBS_EMBEDDED_SHARED_BUFFERS', '16MB'),
    maxOutputLines: integer(env, 'JOBS_OUTPUT_LINES', 1000, 10, 1_000_000),
    concurrency: integer(env, 'JOBS_CONCURRENCY', 20, 1, 10_000),
    logLevel,
    bodyLimit: integer(env, 'JOBS_BODY_LIMIT', 1024 * 1024, 1024, 64 * 1024 * 1024),
    bodyMaxDepth: integer(env, 'JOBS_BODY_MAX_DEPTH', defaultBodyMaxDepth, 2, 1000),
    pollIntervalMs: integer(env, 'JOBS_POLL_INTERVAL_MS', 1000, 20, 60_000),
    worker: boolean(env, 'JOBS_WORKER', true),
    workerName: env.JOBS_WORKER_NAME?.trim() || null,
    heartbeatIntervalMs: integer(env, 'JOBS_HEARTBEAT_MS', 5000, 100, 600_000),
    // Worker liveness: the window a silent worker is given, and how long gone workers are kept.
    workerGoneAfterSeconds: integer(env, 'JOBS_WORKER_GONE_AFTER_SECONDS', 30, 1, 86_400),
    workerRetentionSeconds: integer(env, 'JOBS_WORKER_RETENTION_SECONDS', 7 * 86_400, 1, 3650 * 86_400),
    defaultTimeoutSeconds: integerAlias(env, 'JOBS_DEFAULT_TIMEOUT_SECONDS', 'JOBS_DEFAULT_TIMEOUT', 3600, 1, 30 * 86400),
    cancelGraceMs: integer(env, 'JOBS_CANCEL_GRACE_MS', 10_000, 0, 3_600_000),
    shutdownGraceSeconds: integerAlias(env, 'JOBS_SHUTDOWN_GRACE_SECONDS', 'JOBS_SHUTDOWN_GRACE', 30, 0, 86400),
    lockLifetimeMs: integer(env, 'JOBS_LOCK_LIFETIME_MS', 30_000, 1000, 3_600_000),
    auth: authOf(env, host),
    undispatchedAgeMs: integer(env, 'JOBS_UNDISPATCHED_AGE_MS', 10_000, 100, 3_600_000),
    endRetryMaxMs: integer(env, 'JOBS_END_RETRY_MAX_MS', 5000, 10, 600_000),
    chainSweepMs: integer(env, 'JOBS_CHAIN_SWEEP_MS', 1000, 100, 3_600_000),
    metricsAuth: boolean(env, 'JOBS_METRICS_AUTH', false),
    healthAuth: boolean(env, 'JOBS_HEALTH_AUTH', false),
    maxOutputBytes: integer(env, 'JOBS_OUTPUT_MAX_BYTES', 4 * 1024 * 1024, 1024, 12 * 1024 * 1024),
    engineReadyTimeoutMs: integer(env, 'JOBS_ENGINE_READY_TIMEOUT_MS', 30_000, 1000, 600_000),
    secretsKeyring: secretsKeyring(env),
    ...limitsOf(env),
    outbound: outboundSettings(env),
    scripts: scriptSettings(env),
    notify: notifySettings(env),
    containers: containerSettings(env),
    allowedHosts: hostNames(env, 'JOBS_ALLOWED_HOSTS'),
    // Outages and storage.
    dbRetryMaxMs: integer(env, 'JOBS_DB_RETRY_MAX_MS', 5000, 100, 600_000),
    announceGapMs: integer(env, 'JOBS_ANNOUNCE_GAP_MS', 20, 0, 10_000),
    dbBootWaitSeconds: integer(env, 'JOBS_DB_BOOT_WAIT_SECONDS', 60, 0, 86400),
    claimAhead: integer(env, 'JOBS_CLAIM_AHEAD', 0, 0, 100_000),
    claimEarlyMs: integer(env, 'JOBS_CLAIM_EARLY_MS', 250, 0, 60_000),
    fireLeadMs: integer(env, 'JOBS_FIRE_LEAD_MS', 0, 0, 60_000),
    analyzeAfterRows: integer(env, 'JOBS_ANALYZE_AFTER_ROWS', 5000, 0, 1_000_000_000),
    vacuum: {
      afterRows: integer(env, 'JOBS_VACUUM_AFTER_ROWS', 1000, 0, 1_000_000_000),
      intervalMs: integer(env, 'JOBS_VACUUM_INTERVAL_SECONDS', 10, 1, 86400) * 1000,
      freezeAge: integer(env, 'JOBS_VACUUM_FREEZE_AGE', 150_000_000, 1, 1_500_000_000),
    },
    preparedStatements: integer(env, 'JOBS_PREPARED_STATEMENTS', defaultPreparedStatements, 0, 100_000),
  };
}
