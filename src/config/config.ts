import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
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
  /** How often a worker reports itself, in ms; three missed beats mark it gone. */
  heartbeatIntervalMs: number;
  /** Seconds a run may take when neither its job nor its handler says. */
  defaultTimeoutSeconds: number;
  /** How long a cancelled or timed-out run is waited for before it is recorded anyway, in ms. */
  cancelGraceMs: number;
  /** Seconds running runs may go on at shutdown before they are cancelled. */
  shutdownGraceSeconds: number;
  /** How long a run's lock lives without a heartbeat, in ms. */
  lockLifetimeMs: number;
  auth: { mode: AuthMode; tokens: ApiToken[] };
  /** JOBS_METRICS_AUTH: /metrics needs a read token. */
  metricsAuth: boolean;
  /** JOBS_HEALTH_AUTH: liveness and readiness need a read token. */
  healthAuth: boolean;
  // Outages and storage.
  /** Longest wait between attempts to connect again to a database that went away, in ms. */
  dbRetryMaxMs: number;
  /** How long a boot keeps trying to reach the database before it gives up, in seconds. */
  dbBootWaitSeconds: number;
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
    defaultTimeoutSeconds: integerAlias(env, 'JOBS_DEFAULT_TIMEOUT_SECONDS', 'JOBS_DEFAULT_TIMEOUT', 3600, 1, 30 * 86400),
    cancelGraceMs: integer(env, 'JOBS_CANCEL_GRACE_MS', 10_000, 0, 3_600_000),
    shutdownGraceSeconds: integerAlias(env, 'JOBS_SHUTDOWN_GRACE_SECONDS', 'JOBS_SHUTDOWN_GRACE', 30, 0, 86400),
    lockLifetimeMs: integer(env, 'JOBS_LOCK_LIFETIME_MS', 30_000, 1000, 3_600_000),
    auth: authOf(env, host),
    metricsAuth: boolean(env, 'JOBS_METRICS_AUTH', false),
    healthAuth: boolean(env, 'JOBS_HEALTH_AUTH', false),
    // Outages and storage.
    dbRetryMaxMs: integer(env, 'JOBS_DB_RETRY_MAX_MS', 5000, 100, 600_000),
    dbBootWaitSeconds: integer(env, 'JOBS_DB_BOOT_WAIT_SECONDS', 60, 0, 86400),
  };
}
