/**
 * Child processes of the bench: every system runs in processes of its own, compiled
 * JavaScript (dist/bench/children) run by plain node with the flags of `npm start`, and an
 * IPC channel. A child answers commands ({id, cmd, args}) and sends run events
 * ({type: 'events'}) that the bench handlers record.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { distBenchDir, projectRoot } from './paths.js';
import { startFlags } from './build.js';

export { projectRoot } from './paths.js';

/** One handler invocation as a child saw it. */
export interface RunEvent {
  /** The job's id in its system (jobs-service job_id, data.id for the peers). */
  id: string;
  /** ms since epoch when the handler started. */
  t: number;
  /** When the job was due (ms since epoch), when the job carried it. */
  due?: number;
  pid: number;
  kind?: string;
}

export interface ChildOptions {
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Node flags after those of `npm start` (--cpu-prof ...). */
  nodeFlags?: string[];
  label: string;
}

export class Child {
  readonly proc: ChildProcess;
  readonly events: RunEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly output: string[] = [];
  private readyResolve!: (msg: Record<string, unknown>) => void;
  private readyReject!: (e: Error) => void;
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
  eventListener?: (e: RunEvent) => void;

  constructor(
    script: string,
    readonly options: ChildOptions,
  ) {
    this.ready = new Promise((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => undefined);
    this.proc = fork(script, options.args ?? [], {
      execArgv: [...startFlags(), ...(options.nodeFlags ?? [])],
      env: { ...process.env, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: projectRoot,
    });
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.shift();
    };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    this.proc.on('message', (m: Record<string, unknown>) => this.onMessage(m));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        const err = new Error(`${options.label} exited (${signal ?? code}) ${this.tail()}`);
        this.readyReject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve(code);
      });
    });
  }

  get pid() {
    return this.proc.pid!;
  }

  tail(): string {
    return this.output.join('').slice(-2000);
  }

  private onMessage(m: Record<string, unknown>) {
    if (m.type === 'ready') this.readyResolve(m);
    else if (m.type === 'fatal') this.readyReject(new Error(`${this.options.label}: ${m.message as string}`));
    else if (m.type === 'events') {
      for (const e of m.events as RunEvent[]) {
        this.events.push(e);
        this.eventListener?.(e);
      }
    } else if (m.type === 'reply') {
      const p = this.pending.get(m.id as number);
      if (!p) return;
      this.pending.delete(m.id as number);
      if (m.error) p.reject(new Error(`${this.options.label} ${m.cmd as string}: ${m.error as string}`));
      else p.resolve(m.result);
    }
  }

  rpc<T = unknown>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.exitCode !== undefined) return reject(new Error(`${this.options.label} has exited`));
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, args });
    });
  }

  /** Resident set size of the child in bytes, from /proc. */
  rss(): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  }

  kill9() {
    this.proc.kill('SIGKILL');
  }

  /** Asks the child to stop cleanly; kills it when it does not within `ms`. */
  async stop(ms = 15000): Promise<void> {
    if (this.exitCode !== undefined) return;
    // The limit covers the close itself too: a close that never answers must not hold the bench.
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await Promise.race([this.rpc('close').catch(() => undefined), this.exited]);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A child that runs a program of bench/children, compiled. */
export function startChild(name: string, options: ChildOptions): Child {
  return new Child(path.join(distBenchDir, 'children', `${name}.js`), options);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function waitUntil<T>(fn: () => Promise<T> | T, timeoutMs: number, everyMs = 25, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs `fn` over items with at most `limit` at once. */
export async function pool<T>(items: number, limit: number, fn: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items) }, worker));
}
