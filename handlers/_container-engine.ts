/**
 * The container engine, through the Docker Engine API (not a handler: the catalog skips files
 * starting with `_`). Docker and Podman's Docker-compatible service (`podman system service`)
 * both answer it.
 *
 * Read at every call (never at import), checked at boot too (src/config/config.ts):
 *   JOBS_CONTAINER_ENGINE                 unix socket path, unix:///path, or http(s)://host:port,
 *                                         tcp://host:port; default /var/run/docker.sock
 *   JOBS_CONTAINER_PULL_TIMEOUT_SECONDS   a pull longer than this is an error; default 600
 */
import os from 'node:os';
import Docker from 'dockerode';

export const DEFAULT_ENGINE = '/var/run/docker.sock';
/** Labels every container of a run carries: a worker at boot finds leftovers by them. */
export const LABEL_EXECUTION = 'jobs-service.execution';
export const LABEL_JOB = 'jobs-service.job';
export const LABEL_HOST = 'jobs-service.host';
export const LABEL_PID = 'jobs-service.pid';

export function engineAddress(): string {
  return process.env.JOBS_CONTAINER_ENGINE?.trim() || DEFAULT_ENGINE;
}

/** Docker's options for an address, or a reason it is not one. */
export function engineOptions(address: string): Docker.DockerOptions | { reason: string } {
  if (address.startsWith('/')) return { socketPath: address };
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    return socketPath.startsWith('/') ? { socketPath } : { reason: 'unix:// must be followed by an absolute socket path' };
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return { reason: 'must be a socket path, unix:///path, http://host:port, https://host:port or tcp://host:port' };
  }
  if (!['http:', 'https:', 'tcp:'].includes(url.protocol)) return { reason: `scheme ${url.protocol} is not unix, http, https or tcp` };
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port ? Number(url.port) : protocol === 'https' ? 2376 : 2375;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, protocol };
}

const clients = new Map<string, Docker>();

/** The client of the configured engine (one per address). */
export function engine(): Docker {
  const address = engineAddress();
  let client = clients.get(address);
  if (!client) {
    const options = engineOptions(address);
    if ('reason' in options) throw new Error(`JOBS_CONTAINER_ENGINE ${address}: ${options.reason}`);
    client = new Docker(options);
    clients.set(address, client);
  }
  return client;
}

function pullTimeoutMs(): number {
  const raw = process.env.JOBS_CONTAINER_PULL_TIMEOUT_SECONDS?.trim();
  const n = raw ? Number(raw) : NaN;
  return (Number.isFinite(n) && n > 0 ? n : 600) * 1000;
}

/** The engine's message of an error of the API, without dockerode's prefixes. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string; cause?: string }; reason?: string; message?: string; code?: string; statusCode?: number };
  const message = e?.json?.message ?? e?.json?.cause ?? e?.message ?? String(err);
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED' || e?.code === 'EACCES') {
    return `the container engine at ${engineAddress()} cannot be reached (${e.code}): set JOBS_CONTAINER_ENGINE to a running Docker or Podman service`;
  }
  return message.replace(/^\(HTTP code \d+\)\s*[a-z ]*-\s*/i, '').trim();
}

/** A repository name with `:latest` added when it names neither tag nor digest (as the engine reads it). */
export function imageRef(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  return image.slice(lastSlash + 1).includes(':') ? image : `${image}:latest`;
}

/** True when the engine has the image; false when it does not (404). */
export async function hasImage(image: string): Promise<boolean> {
  try {
    await engine().getImage(imageRef(image)).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw new Error(engineMessage(err), { cause: err });
  }
}

const pulls = new Map<string, Promise<void>>();

/**
 * Pulls an image; rejects with the engine's reason (an unreachable registry, an unknown
 * image) or after JOBS_CONTAINER_PULL_TIMEOUT_SECONDS, never hangs. Pulls of one image at the
 * same time in this process share one request.
 */
export function pullImage(image: string): Promise<void> {
  const ref = imageRef(image);
  const key = `${engineAddress()}\0${ref}`;
  let pending = pulls.get(key);
  if (!pending) {
    pending = pullOnce(ref).finally(() => pulls.delete(key));
    pulls.set(key, pending);
  }
  return pending;
}

function pullOnce(ref: string): Promise<void> {
  const limit = pullTimeoutMs();
  return new Promise<void>((resolve, reject) => {
    let stream: NodeJS.ReadableStream | undefined;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        (stream as { destroy?: () => void } | undefined)?.destroy?.();
        reject(err);
      } else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`pulling ${ref} took longer than ${limit / 1000} s (JOBS_CONTAINER_PULL_TIMEOUT_SECONDS)`)), limit);
    engine().pull(ref, {}, (err: unknown, s?: NodeJS.ReadableStream) => {
      if (err || !s) return finish(new Error(`pulling ${ref} failed: ${engineMessage(err ?? 'no answer')}`));
      stream = s;
      // The answer is 200 at once; an error comes as an event of the progress stream.
      engine().modem.followProgress(
        s,
        (e: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
          const failed = events?.find((ev) => ev.error || ev.errorDetail);
          if (e) finish(new Error(`pulling ${ref} failed: ${engineMessage(e)}`));
          else if (failed) finish(new Error(`pulling ${ref} failed: ${failed.errorDetail?.message ?? failed.error}`));
          else finish();
        },
        () => undefined,
      );
    });
  });
}

/** Makes the image ready per the pull policy: pulled always, when missing, or never (then it must be there). */
export async function ensureImage(image: string, pull: 'always' | 'missing' | 'never'): Promise<void> {
  if (pull === 'always') return pullImage(image);
  if (await hasImage(image)) return;
  if (pull === 'never') throw new Error(`image ${imageRef(image)} is not on the container engine, and pull is never: load it there first (docker pull, podman pull or import)`);
  return pullImage(image);
}

/** Labels of a run's container. */
export function runLabels(executionId: string, jobId: string | null): Record<string, string> {
  return { [LABEL_EXECUTION]: executionId, [LABEL_JOB]: jobId ?? '', [LABEL_HOST]: os.hostname(), [LABEL_PID]: String(process.pid) };
}

/** True when a process of this pid runs on this host (a worker's, until it died). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes containers of runs that no live worker is running: a run of this service that ended
 * or whose worker is gone, or any run whose worker process on this host has died. A container
 * of a run this service does not know, whose worker may be alive, is another service's: left
 * alone. Answers what was removed.
 */
export async function removeLeftovers(runs: (ids: string[]) => Promise<Map<string, 'running' | 'ended'>>): Promise<Array<{ container: string; execution: string }>> {
  const listed = await engine().listContainers({ all: true, filters: JSON.stringify({ label: [LABEL_EXECUTION] }) });
  if (listed.length === 0) return [];
  const ids = [...new Set(listed.map((c) => c.Labels?.[LABEL_EXECUTION]).filter((x): x is string => Boolean(x)))];
  const known = await runs(ids);
  const host = os.hostname();
  const removed: Array<{ container: string; execution: string }> = [];
  for (const c of listed) {
    const execution = c.Labels?.[LABEL_EXECUTION];
    if (!execution) continue;
    const pid = Number(c.Labels?.[LABEL_PID]);
    const deadHere = c.Labels?.[LABEL_HOST] === host && pid !== process.pid && !processAlive(pid);
    if (!deadHere && known.get(execution) !== 'ended') continue;
    try {
      await engine().getContainer(c.Id).remove({ force: true, v: true });
      removed.push({ container: c.Id, execution });
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404)
        throw new Error(`removing container ${c.Id.slice(0, 12)} of run ${execution} failed: ${engineMessage(err)}`, { cause: err });
    }
  }
  return removed;
}
