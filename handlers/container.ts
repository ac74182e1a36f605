import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { defineHandler, type FieldError, type HandlerContext, type Kwargs } from '../src/handlers/index.js';
import { engine, engineMessage, ensureImage, imageRef, removeLeftovers, runLabels } from './_container-engine.js';
import { deliverRest, FrameReader, type EngineStream } from './_engine-stream.js';
import { lineReader, OutputBudget } from './_output-budget.js';

type Pull = 'always' | 'missing' | 'never';

interface ContainerKwargs extends Kwargs {
  image: string;
  command?: string[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  cpus?: number;
  memory?: number;
  network?: 'none' | 'bridge' | 'host';
  pull?: Pull;
}

/*
 * Besides the engine's settings (handlers/_container-engine.ts), read at every call and checked
 * at boot (src/config/config.ts):
 *   JOBS_CONTAINER_ROLE                  the role its jobs need; default admin (read once, at boot)
 *   JOBS_CONTAINER_NETWORKS              networks kwargs.network may name; default none,bridge
 *   JOBS_CONTAINER_STOP_GRACE_SECONDS    SIGTERM-to-SIGKILL grace of a stopped container; default 5
 *   JOBS_CONTAINER_OUTPUT_BYTES, _LINES  output kept per run; default 1048576 bytes, 2000 lines
 */
function wholeNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  const n = raw ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= min ? n : fallback;
}

function allowedNetworks(): Set<string> {
  const raw = process.env.JOBS_CONTAINER_NETWORKS?.trim() || 'none,bridge';
  return new Set(
    raw
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** Set by the service for every run; kwargs.env cannot override them. */
const RESERVED_ENV = new Set(['JOBS_EXECUTION_ID', 'JOBS_JOB_ID', 'JOBS_IDEMPOTENCY_KEY', 'JOBS_FENCING_TOKEN']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,199}$/;
/** After the container has exited, how long its output may still be arriving. */
const DRAIN_MS = 2000;

function problems(kwargs: ContainerKwargs): FieldError[] {
  const errors: FieldError[] = [];
  const network = kwargs.network ?? 'none';
  const allowed = allowedNetworks();
  if (network !== 'none' && !allowed.has(network)) {
    errors.push({ field: 'network', reason: `${network} is not allowed: JOBS_CONTAINER_NETWORKS lists ${[...allowed].join(', ') || 'none'}` });
  }
  for (const [name, value] of Object.entries(kwargs.env ?? {})) {
    if (!ENV_NAME.test(name))
      errors.push({ field: `env.${name}`, reason: 'is not a valid environment variable name (letters, digits and _, not starting with a digit, at most 200)' });
    else if (RESERVED_ENV.has(name)) errors.push({ field: `env.${name}`, reason: 'is set by the service for every run and cannot be overridden' });
    else if (typeof value === 'string' && value.includes('\0')) errors.push({ field: `env.${name}`, reason: 'must not contain a NUL character' });
  }
  (kwargs.command ?? []).forEach((a, i) => {
    if (a.includes('\0')) errors.push({ field: `command.${i}`, reason: 'must not contain a NUL character' });
  });
  return errors;
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string') return reason;
  return '';
}

/** What the engine is asked to create: no host mounts, no privileges, the network and limits asked for. */
function createOptions(kwargs: ContainerKwargs, context: HandlerContext): Docker.ContainerCreateOptions {
  const env = { ...(kwargs.env ?? {}) };
  env.JOBS_EXECUTION_ID = context.executionId;
  env.JOBS_JOB_ID = context.jobId ?? '';
  env.JOBS_IDEMPOTENCY_KEY = context.idempotencyKey;
  env.JOBS_FENCING_TOKEN = String(context.fencingToken);
  const hostConfig: Docker.HostConfig = {
    NetworkMode: kwargs.network ?? 'none',
    Privileged: false,
    SecurityOpt: ['no-new-privileges'],
    Binds: [],
    AutoRemove: false,
  };
  if (kwargs.cpus !== undefined) hostConfig.NanoCpus = Math.round(kwargs.cpus * 1e9);
  if (kwargs.memory !== undefined) hostConfig.Memory = kwargs.memory;
  return {
    Image: imageRef(kwargs.image),
    ...(kwargs.command ? { Cmd: kwargs.command } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(kwargs.workdir ? { WorkingDir: kwargs.workdir } : {}),
    ...(kwargs.user ? { User: kwargs.user } : {}),
    Labels: runLabels(context.executionId, context.jobId),
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    HostConfig: hostConfig,
  };
}

/** Rejects when the signal fires first, so a pull or create of a stopped run is not waited for. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error(`${what}: stopped (${describeReason(signal.reason)})`));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error(`${what}: stopped (${describeReason(signal.reason)})`));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * One run: create, start, stream stdout and stderr from the container's log into the output
 * (bounded), wait, remove. On cancel or timeout the container is stopped (SIGTERM, then SIGKILL after the grace)
 * and removed; a non-zero exit fails the run with its code.
 */
async function run(kwargs: ContainerKwargs, context: HandlerContext) {
  const { signal, log } = context;
  const ref = imageRef(kwargs.image);
  const docker = engine();
  const grace = wholeNumber('JOBS_CONTAINER_STOP_GRACE_SECONDS', 5, 0);
  const budget = new OutputBudget(
    wholeNumber('JOBS_CONTAINER_OUTPUT_BYTES', 1024 * 1024, 1024),
    wholeNumber('JOBS_CONTAINER_OUTPUT_LINES', 2000, 10),
    (level, line) => log[level](line),
    { tag: 'container', settings: 'JOBS_CONTAINER_OUTPUT_BYTES, JOBS_CONTAINER_OUTPUT_LINES' },
  );

  await untilAborted(ensureImage(kwargs.image, kwargs.pull ?? 'missing'), signal, `image ${ref}`);
  let container: Docker.Container;
  try {
    container = await docker.createContainer(createOptions(kwargs, context));
  } catch (err) {
    throw new Error(`creating a container of ${ref} failed: ${engineMessage(err)}`, { cause: err });
  }
  let stopped = false;
  const stopContainer = () =>
    container.stop({ t: grace }).catch((err: unknown) => {
      const code = (err as { statusCode?: number }).statusCode;
      // 304: already stopped; 404: already gone.
      if (code !== 304 && code !== 404) log.warn(`[container] stopping the container of ${ref} failed: ${engineMessage(err)}`);
    });
  const onAbort = () => {
    stopped = true;
    const why = describeReason(signal.reason);
    log.warn(`[container] stopping the container of ${ref}${why ? ` (${why})` : ''}: SIGTERM, then SIGKILL after ${grace} s`);
    void stopContainer();
  };
  try {
    let lastStderr = '';
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = lineReader(stdout, budget.pieceChars, (line) => budget.line('info', line));
    const err = lineReader(stderr, budget.pieceChars, (line) => {
      if (line.trim()) lastStderr = line.slice(0, 1000);
      budget.line('warn', line);
    });
    if (signal.aborted) throw new Error(`the container of ${ref} was stopped before it started (${describeReason(signal.reason)})`);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await container.start();
    } catch (e) {
      throw new Error(`starting a container of ${ref} failed: ${engineMessage(e)}`, { cause: e });
    }
    // A stop that reached the engine before the start did nothing: stop the started container.
    if (stopped) void stopContainer();
    // The output is read from the engine's log of the container, followed until it exits, then
    // completed from the whole log once it has: each way of reading it live can lose it to a
    // container that exits at once on Podman (an attach now and then got the service's own
    // error, "read unixpacket ...: connection reset by peer", in place of the output; a
    // followed log, "failed to obtain logs ... no such process"), and a stopped container's
    // log does not race.
    const toReaders = (stream: EngineStream, bytes: Buffer) => (stream === 1 ? stdout : stderr).write(bytes);
    const live = new FrameReader(toReaders);
    let ended: Promise<void> = Promise.resolve();
    let following: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    try {
      following = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & { destroy?: () => void };
      const stream = following;
      ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        // What the live read misses is read from the whole log below.
        stream.on('error', () => resolve());
      });
      stream.on('data', (chunk: Buffer) => live.push(chunk));
    } catch {
      // Read from the whole log below.
    }
    const result = (await container.wait()) as { StatusCode?: number; Error?: { Message?: string } | null };
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, DRAIN_MS)))]);
    clearTimeout(drainTimer);
    following?.destroy?.();
    try {
      const whole = (await container.logs({ follow: false, stdout: true, stderr: true })) as unknown as Buffer;
      deliverRest(Buffer.isBuffer(whole) ? whole : Buffer.from(whole), live.delivered, toReaders);
    } catch (e) {
      log.warn(`[container] reading the output of ${ref} failed: ${engineMessage(e)}`);
    }
    // The line readers take what was written to their streams on a later turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    out.flush();
    err.flush();
    budget.end(ref);
    const code = result.StatusCode ?? -1;
    if (stopped) {
      const why = describeReason(signal.reason);
      throw new Error(`the container of ${ref} was stopped${why ? ` (${why})` : ''} and exited with code ${code}`);
    }
    if (result.Error?.Message) throw new Error(`the container of ${ref} failed: ${result.Error.Message}`);
    if (code !== 0) throw new Error(`the container of ${ref} exited with code ${code}${lastStderr ? `: ${lastStderr}` : ''}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
    try {
      await container.remove({ force: true, v: true });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) {
        log.warn(`[container] removing the container of ${ref} failed: ${engineMessage(e)}; a worker removes it when it next starts`);
      }
    }
  }
}

/** Runs an image on the container engine (Docker Engine API: Docker, or Podman's service). */
export default defineHandler<ContainerKwargs>({
  name: 'container',
  description:
    'Runs an image on the container engine at JOBS_CONTAINER_ENGINE (Docker or Podman): command as argv, env, workdir, user, cpus and memory limits, ' +
    'network none unless asked. stdout and stderr become the output; exit code 0 is success. On cancel or timeout the container is stopped and removed.',
  kwargsSchema: 'ContainerKwargs',
  role() {
    const raw = process.env.JOBS_CONTAINER_ROLE?.trim().toLowerCase();
    return raw === 'read' || raw === 'write' || raw === 'admin' ? raw : 'admin';
  },
  check(kwargs) {
    return problems(kwargs);
  },
  async prepare(kwargs) {
    await ensureImage(kwargs.image, kwargs.pull ?? 'missing');
  },
  async recover(view) {
    const removed = await removeLeftovers((ids) => view.runs(ids));
    for (const r of removed) view.log.warn(`[container] removed container ${r.container.slice(0, 12)} left by run ${r.execution}, which no live worker runs`);
  },
  async execute(kwargs, context) {
    // Checked again: the allowed networks may have changed since creation.
    const errors = problems(kwargs);
    if (errors.length) throw new Error(`container refused: ${errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`);
    await run(kwargs, context);
  },
});
