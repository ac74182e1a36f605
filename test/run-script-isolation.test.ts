/**
 * run-script in PID namespaces: no process of a run outlives the run, whether it left the
 * script's process group (setsid) or the service was killed with SIGKILL. Processes are found
 * by a marker in /proc/<pid>/cmdline (a script's own pids are its namespace's, not ours).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import handler from '../handlers/run-script.js';
import { isolation } from '../handlers/_script-isolation.js';
import { loadConfig, projectRoot } from '../src/config/config.js';
import type { CatalogView, HandlerContext, Kwargs } from '../src/handlers/types.js';
import { scaled, sleep, testDatabase, waitFor } from './helpers.js';
import { waitForListening } from './support/listening.js';

const ENV_KEYS = ['JOBS_SCRIPTS_DIR', 'JOBS_SCRIPT_ENV_ALLOW', 'JOBS_SCRIPT_KILL_GRACE_MS', 'JOBS_SCRIPT_ISOLATION'] as const;

/** Pids of live processes (zombies left out) whose command line holds `marker`. */
function withMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) continue;
      pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * How long a run's processes may take to leave /proc once their namespace ends: the kernel kills
 * them with it, and each dies when next scheduled (on a loaded CI host, more than 5 s).
 */
const reapedWithinMs = 10_000;

let seq = 0;
/** A marker no other process has: `sleep <marker>` sleeps about 300 s. */
const newMarker = () => `300.${process.pid}${String(++seq).padStart(3, '0')}`;

interface Line {
  level: string;
  message: string;
}

function makeContext(signal: AbortSignal) {
  const lines: Line[] = [];
  const notUsed = (): never => {
    throw new Error('not used');
  };
  const context: HandlerContext = {
    executionId: 'exec-ns',
    jobId: 'job-ns',
    idempotencyKey: 'exec-ns',
    fencingToken: 1,
    signal,
    log: {
      info: (message) => lines.push({ level: 'info', message }),
      warn: (message) => lines.push({ level: 'warn', message }),
      error: (message) => lines.push({ level: 'error', message }),
    },
    progress: async () => undefined,
    startChild: async () => notUsed(),
    records: { deleteExecutionsBefore: async () => notUsed(), deleteFailuresBefore: async () => notUsed() },
  };
  return { context, lines };
}

const execute = (kwargs: Kwargs, context: HandlerContext) => handler.execute!(kwargs as never, context);
const catalog = {} as CatalogView;

const scripts: Record<string, string> = {
  // A child that leaves the process group and the session, then the script waits.
  'escape.sh': '#!/bin/sh\nsetsid sleep "$1" &\necho started\nsleep "$1"\n',
  // Exits at once, leaving an escaped child behind.
  'escape-exit.sh': '#!/bin/sh\nsetsid sleep "$1" &\necho started\n',
  'polite.sh': '#!/bin/sh\necho going to sleep\nexec sleep "$1"\n',
  'stubborn.sh': "#!/bin/bash\ntrap '' TERM\nsleep \"$1\" &\necho ready\nwait\necho 'must not get here'\n",
  'suicide.sh': '#!/bin/sh\nkill -KILL $$\n',
  'args.sh': '#!/bin/sh\nfor a in "$@"; do printf \'arg:%s\\n\' "$a"; done\n',
};

const available = (() => {
  try {
    const iso = isolation();
    return iso.kind === 'pidns' ? false : `PID namespaces cannot be made here: ${iso.why}`;
  } catch (err) {
    return (err as Error).message;
  }
})();
if (available) console.log(`# SKIPPED PID namespace tests: ${available}`);

describe('run-script in a PID namespace', { skip: available, timeout: 120_000 }, () => {
  let dir: string;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-service-isolation-'));
    for (const [name, body] of Object.entries(scripts)) await fs.writeFile(path.join(dir, name), body, { mode: 0o755 });
    process.env.JOBS_SCRIPTS_DIR = dir;
    process.env.JOBS_SCRIPT_ISOLATION = 'pidns';
    process.env.JOBS_SCRIPT_KILL_GRACE_MS = '300';
    delete process.env.JOBS_SCRIPT_ENV_ALLOW;
  });

  after(async () => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await fs.rm(dir, { recursive: true, force: true });
  });

  for (const reason of ['timeout', 'cancelled on request']) {
    it(`a child that called setsid dies when the run is stopped (${reason})`, async () => {
      const marker = newMarker();
      const controller = new AbortController();
      const { context, lines } = makeContext(controller.signal);
      const running = execute({ script: 'escape.sh', args: [marker] }, context);
      await waitFor('both sleeps', async () => withMarker(marker).length >= 2 && lines.some((l) => l.message === 'started'));
      controller.abort(reason);
      try {
        await assert.rejects(running, new RegExp(`escape\\.sh was stopped \\(${reason}\\)`));
        await waitFor('no process of the run left', async () => withMarker(marker).length === 0, reapedWithinMs, 20);
      } finally {
        for (const pid of withMarker(marker)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  it('a child that called setsid dies when the script exits; the output says so', async () => {
    const marker = newMarker();
    const { context, lines } = makeContext(new AbortController().signal);
    try {
      await execute({ script: 'escape-exit.sh', args: [marker] }, context);
      await waitFor('no process of the run left', async () => withMarker(marker).length === 0, reapedWithinMs, 20);
    } finally {
      for (const pid of withMarker(marker)) process.kill(pid, 'SIGKILL');
    }
    assert.equal(lines[0].message, 'started');
    assert.ok(
      lines.some((l) => l.level === 'warn' && /leaving processes in its PID namespace/.test(l.message)),
      JSON.stringify(lines),
    );
  });

  it('SIGTERM reaches the script first: one that honours it ends without the grace', async () => {
    process.env.JOBS_SCRIPT_KILL_GRACE_MS = '5000';
    try {
      const marker = newMarker();
      const controller = new AbortController();
      const { context, lines } = makeContext(controller.signal);
      const running = execute({ script: 'polite.sh', args: [marker] }, context);
      await waitFor('the script to start', async () => lines.some((l) => l.message === 'going to sleep') && withMarker(marker).length > 0);
      const t0 = Date.now();
      controller.abort('timeout');
      await assert.rejects(running, (err: Error) => /stopped \(timeout\)/.test(err.message) && !/SIGKILL/.test(err.message));
      assert.ok(Date.now() - t0 < scaled(2000), `took ${Date.now() - t0} ms`);
      assert.deepEqual(withMarker(marker), []);
    } finally {
      process.env.JOBS_SCRIPT_KILL_GRACE_MS = '300';
    }
  });

  it('what ignores SIGTERM gets SIGKILL after the grace', async () => {
    const marker = newMarker();
    const controller = new AbortController();
    const { context, lines } = makeContext(controller.signal);
    const running = execute({ script: 'stubborn.sh', args: [marker] }, context);
    await waitFor('the script to be ready', async () => lines.some((l) => l.message === 'ready') && withMarker(marker).length > 0);
    controller.abort(new Error('cancelled by test'));
    await sleep(150);
    assert.ok(withMarker(marker).length > 0, 'SIGTERM is ignored');
    await assert.rejects(running, /stubborn\.sh was stopped \(cancelled by test\).*SIGKILL after 300 ms/);
    await waitFor('no process of the run left', async () => withMarker(marker).length === 0, 2000, 20);
    assert.ok(!lines.some((l) => l.message === 'must not get here'));
  });

  it('names the signal that killed the script, passes argv verbatim', async () => {
    const { context } = makeContext(new AbortController().signal);
    await assert.rejects(execute({ script: 'suicide.sh' }, context), /killed by SIGKILL/);
    const args = ['a b', '$(id)', '', '*'];
    const ran = makeContext(new AbortController().signal);
    await execute({ script: 'args.sh', args }, ran.context);
    assert.deepEqual(
      ran.lines.map((l) => l.message),
      args.map((a) => `arg:${a}`),
    );
  });

  it('kills every process of a run when the service is killed with SIGKILL', async () => {
    const db = await testDatabase('embedded');
    const defaults = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-service-isolation-defaults-'));
    const service = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/main.ts')], {
      cwd: projectRoot,
      // At level info: it logs the port it listens on.
      env: { ...process.env, ...db.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', JOBS_DEFAULT_JOBS_DIR: defaults, JOBS_POLL_INTERVAL_MS: '100' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: string[] = [];
    service.stdout!.on('data', (b: Buffer) => stdout.push(b.toString()));
    let stderr = '';
    service.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const marker = newMarker();
    try {
      const port = await waitForListening(service, stdout, 60_000, () => stderr);
      const api = `http://127.0.0.1:${port}/api/v1`;
      await waitFor('the service', async () => (await fetch(`${api}/readiness`).catch(() => null))?.ok, 60_000, 200);
      const created = await fetch(`${api}/jobs/run-script?job_id=escapes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ script: 'escape.sh', args: [marker] }),
      });
      assert.equal(created.status, 201, await created.text());
      await waitFor('both sleeps of the run', async () => withMarker(marker).length >= 2, 30_000);
      service.kill('SIGKILL');
      await new Promise((r) => service.once('exit', r));
      await waitFor('no process of the run left', async () => withMarker(marker).length === 0, reapedWithinMs, 20);
    } finally {
      if (service.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
      for (const pid of withMarker(marker)) process.kill(pid, 'SIGKILL');
      await fs.rm(defaults, { recursive: true, force: true });
      await db.drop();
      if (process.exitCode) console.log(stderr);
    }
  });
});

describe('JOBS_SCRIPT_ENV_ALLOW', () => {
  const dangerous = [
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'PATH',
    'NODE_OPTIONS',
    'BASH_ENV',
    'ENV',
    'PYTHONPATH',
    'PYTHONSTARTUP',
    'PERL5OPT',
    'RUBYOPT',
    'IFS',
    'SHELLOPTS',
    'PS4',
    'GCONV_PATH',
    'BASH_FUNC_x%%',
  ];

  it('refuses a dangerous name at config load, naming the variable and the name', () => {
    for (const name of dangerous) {
      assert.throws(
        () => loadConfig({ JOBS_SCRIPT_ENV_ALLOW: `SAFE_ONE, ${name}` }),
        (err: Error) => err.message.includes('JOBS_SCRIPT_ENV_ALLOW') && err.message.includes(name),
        name,
      );
    }
    assert.doesNotThrow(() => loadConfig({ JOBS_SCRIPT_ENV_ALLOW: 'SAFE_ONE, REPORT_DATE' }));
  });

  it('a dangerous name is refused by the handler too, even if the allow-list names it', () => {
    const saved = process.env.JOBS_SCRIPT_ENV_ALLOW;
    process.env.JOBS_SCRIPT_ENV_ALLOW = 'LD_PRELOAD,PATH,REPORT_DATE';
    try {
      const errors = handler.check!({ script: 'x', env: { LD_PRELOAD: '/tmp/evil.so', PATH: '/tmp', REPORT_DATE: 'today' } } as never, catalog);
      const fields = errors.map((e) => e.field);
      assert.ok(fields.includes('env.LD_PRELOAD') && fields.includes('env.PATH'), JSON.stringify(errors));
      assert.ok(!fields.includes('env.REPORT_DATE'), JSON.stringify(errors));
    } finally {
      if (saved === undefined) delete process.env.JOBS_SCRIPT_ENV_ALLOW;
      else process.env.JOBS_SCRIPT_ENV_ALLOW = saved;
    }
  });
});
