import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import handler from '../handlers/run-script.js';
import type { CatalogView, HandlerContext, Kwargs } from '../src/handlers/types.js';
import { scaled, sleep } from './support/time.js';

// The handler module is imported above, before any of the variables below are set: it must
// read its configuration at call time.

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENV_KEYS = [
  'JOBS_SCRIPTS_DIR',
  'JOBS_SCRIPT_ENV_ALLOW',
  'JOBS_SCRIPT_KILL_GRACE_MS',
  'JOBS_SCRIPT_ISOLATION',
  'JOBS_SCRIPT_OUTPUT_BYTES',
  'JOBS_SCRIPT_OUTPUT_LINES',
  'SERVICE_SECRET',
] as const;

interface Line {
  level: 'info' | 'warn' | 'error';
  message: string;
}

function notUsed(): never {
  throw new Error('not used');
}

function makeContext(signal: AbortSignal = new AbortController().signal) {
  const lines: Line[] = [];
  const progress: number[] = [];
  const context: HandlerContext = {
    executionId: 'exec-42',
    jobId: 'job-7',
    idempotencyKey: 'exec-41',
    fencingToken: 17,
    signal,
    log: {
      info: (message) => lines.push({ level: 'info', message }),
      warn: (message) => lines.push({ level: 'warn', message }),
      error: (message) => lines.push({ level: 'error', message }),
    },
    progress: async (percent) => {
      progress.push(percent);
    },
    startChild: async () => notUsed(),
    records: {
      deleteExecutionsBefore: async () => notUsed(),
      deleteFailuresBefore: async () => notUsed(),
    },
  };
  return { context, lines, progress };
}

const catalog: CatalogView = {
  has: () => notUsed(),
  stepsOf: () => notUsed(),
  validateKwargs: () => notUsed(),
};

const check = (kwargs: Kwargs) => handler.check!(kwargs as never, catalog);
const execute = (kwargs: Kwargs, context: HandlerContext) => handler.execute!(kwargs as never, context);
/** The script's own output: lines the handler adds about itself are prefixed [run-script]. */
const scriptLines = (lines: Line[]) => lines.filter((l) => !l.message.startsWith('[run-script]'));

/** Whether a process still runs: gone, or a zombie nobody has reaped yet, counts as dead. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** Waits until `process.kill(pid, 0)` throws ESRCH (an orphan zombie waits for init to reap it). */
async function waitGone(pid: number, ms = 5000) {
  ms = scaled(ms);
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ESRCH');
      return;
    }
    if (Date.now() > deadline) assert.fail(`process ${pid} still exists after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 5000) {
  const deadline = Date.now() + scaled(ms);
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const scripts: Record<string, string> = {
  'args.sh': '#!/bin/sh\nfor a in "$@"; do printf \'arg:%s\\n\' "$a"; done\nprintf \'cwd:%s\\n\' "$(pwd -P)"\n',
  'fail.sh': "#!/bin/sh\necho working\necho 'first problem' >&2\necho 'disk is full' >&2\nexit 3\n",
  'mixed.sh': "#!/bin/sh\necho out1\nsleep 0.1\necho err1 >&2\nsleep 0.1\necho out2\necho out3\nsleep 0.1\necho err2 >&2\nsleep 0.1\nprintf 'tail without newline'\n",
  'env.sh': '#!/bin/sh\necho "allowed=${ALLOWED_VAR-unset}"\necho "secret=${SERVICE_SECRET-unset}"\necho "ids=$JOBS_EXECUTION_ID/$JOBS_JOB_ID"\n',
  'suicide.sh': '#!/bin/sh\nkill -KILL $$\n',
  'marker.sh': '#!/bin/sh\ntouch "$1"\n',
  'polite.sh': '#!/bin/sh\necho going to sleep\nexec sleep 30\n',
  // Both the script and its background child ignore SIGTERM (a trap '' is inherited by the
  // commands the shell starts); each records its pid, then the script says it is ready.
  'stubborn.sh': [
    '#!/bin/bash',
    "trap '' TERM",
    'sleep 300 &',
    'echo $! > "$1/child.pid"',
    'echo $$ > "$1/script.pid"',
    'echo ready',
    'echo "stderr before abort" >&2',
    'wait',
    'echo "must not get here"',
    '',
  ].join('\n'),
  'numbers.sh': '#!/bin/sh\ni=1\nwhile [ $i -le 500 ]; do echo "line $i"; i=$((i+1)); done\nhead -c 300000 /dev/zero | tr \'\\0\' y\n',
  'leaves-child.sh': '#!/bin/sh\nsleep 300 &\necho $! > "$1/left.pid"\necho done\n',
  '.hidden': '#!/bin/sh\necho hidden\n',
};

// These run scripts as plain process groups (the fallback where PID namespaces cannot be made),
// so the pids a script writes are this process's pids; run-script-isolation.test.ts runs the
// same cases in PID namespaces.
describe('run-script handler', () => {
  let root: string;
  let dir: string;
  let pidDir: string;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'jobs-service-run-script-'));
    dir = path.join(root, 'scripts');
    pidDir = path.join(root, 'pids');
    await fs.mkdir(dir);
    await fs.mkdir(pidDir);
    for (const [name, body] of Object.entries(scripts)) await fs.writeFile(path.join(dir, name), body, { mode: 0o755 });
    await fs.writeFile(path.join(dir, 'plain.txt'), '#!/bin/sh\necho no\n', { mode: 0o644 });
    await fs.mkdir(path.join(dir, 'subdir'));
    await fs.writeFile(path.join(root, 'outside.sh'), '#!/bin/sh\necho outside\n', { mode: 0o755 });
    await fs.symlink(path.join(root, 'outside.sh'), path.join(dir, 'escape'));
    await fs.symlink('args.sh', path.join(dir, 'alias'));
    process.env.JOBS_SCRIPTS_DIR = dir;
    process.env.JOBS_SCRIPT_ISOLATION = 'group';
    delete process.env.JOBS_SCRIPT_ENV_ALLOW;
    delete process.env.JOBS_SCRIPT_KILL_GRACE_MS;
  });

  after(async () => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await fs.rm(root, { recursive: true, force: true });
  });

  it('passes argv verbatim, without a shell, in the scripts folder', async () => {
    const { context, lines } = makeContext();
    const args = ['plain', 'with  two spaces', '$(rm -rf /)', '`id`; echo pwned | cat > /tmp/x && $HOME', '\'quoted\' "double"', '*', ''];
    assert.deepEqual(check({ script: 'args.sh', args }), []);
    await execute({ script: 'args.sh', args }, context);
    assert.deepEqual(lines, [...args.map((a) => ({ level: 'info', message: `arg:${a}` })), { level: 'info', message: `cwd:${await fs.realpath(dir)}` }]);
  });

  it('runs a symlink that stays inside the folder', async () => {
    const { context, lines } = makeContext();
    assert.deepEqual(check({ script: 'alias', args: ['x'] }), []);
    await execute({ script: 'alias', args: ['x'] }, context);
    assert.equal(lines[0].message, 'arg:x');
  });

  it('fails on a non-zero exit with the code and the last stderr line', async () => {
    const { context, lines } = makeContext();
    await assert.rejects(execute({ script: 'fail.sh' }, context), (err: Error) => {
      assert.match(err.message, /exited with code 3/);
      assert.match(err.message, /disk is full/);
      return true;
    });
    assert.deepEqual(lines, [
      { level: 'info', message: 'working' },
      { level: 'warn', message: 'first problem' },
      { level: 'warn', message: 'disk is full' },
    ]);
  });

  it('fails naming the signal when the script is killed by one', async () => {
    const { context } = makeContext();
    await assert.rejects(execute({ script: 'suicide.sh' }, context), /killed by SIGKILL/);
  });

  it('captures stdout and stderr line by line, in order, with a trailing partial line', async () => {
    const { context, lines } = makeContext();
    await execute({ script: 'mixed.sh' }, context);
    assert.deepEqual(lines, [
      { level: 'info', message: 'out1' },
      { level: 'warn', message: 'err1' },
      { level: 'info', message: 'out2' },
      { level: 'info', message: 'out3' },
      { level: 'warn', message: 'err2' },
      { level: 'info', message: 'tail without newline' },
    ]);
  });

  it('keeps the output within JOBS_SCRIPT_OUTPUT_LINES and _BYTES: the head, a line on what was left out, the tail', async () => {
    process.env.JOBS_SCRIPT_OUTPUT_LINES = '100';
    process.env.JOBS_SCRIPT_OUTPUT_BYTES = '40000';
    try {
      const { context, lines } = makeContext();
      await execute({ script: 'numbers.sh' }, context);
      const messages = lines.map((l) => l.message);
      // The head: the first 50 lines (half the lines), as they came.
      assert.deepEqual(
        messages.slice(0, 50),
        Array.from({ length: 50 }, (_, i) => `line ${i + 1}`),
      );
      assert.match(messages[50], /^\[run-script\] output of numbers\.sh beyond 40000 bytes or 100 lines .*left out here/);
      // The tail: the 300,000 bytes without a newline, cut into pieces, the newest within 20,000 bytes.
      const tail = messages.slice(51);
      assert.ok(tail.length > 0 && tail.every((m) => /^y+$/.test(m) && m.length <= 5000), JSON.stringify(tail.map((m) => m.length)));
      const bytes = messages.reduce((n, m) => n + m.length + 1, 0);
      assert.ok(bytes <= 40000 + 1000, `${bytes} bytes logged`);
    } finally {
      delete process.env.JOBS_SCRIPT_OUTPUT_LINES;
      delete process.env.JOBS_SCRIPT_OUTPUT_BYTES;
    }
  });

  it('gives the script a minimal environment plus allowed kwargs.env and the run ids', async () => {
    process.env.SERVICE_SECRET = 'do-not-leak';
    process.env.JOBS_SCRIPT_ENV_ALLOW = ' OTHER , ALLOWED_VAR';
    try {
      const kwargs = { script: 'env.sh', env: { ALLOWED_VAR: 'yes: $(not run)' } };
      assert.deepEqual(check(kwargs), []);
      const { context, lines } = makeContext();
      await execute(kwargs, context);
      assert.deepEqual(
        lines.map((l) => l.message),
        ['allowed=yes: $(not run)', 'secret=unset', 'ids=exec-42/job-7'],
      );
    } finally {
      delete process.env.SERVICE_SECRET;
      delete process.env.JOBS_SCRIPT_ENV_ALLOW;
    }
  });

  it('refuses env names outside the allow-list, at creation and at run time', async () => {
    // Default: an empty allow-list refuses every name.
    assert.deepEqual(
      check({ script: 'env.sh', env: { ALLOWED_VAR: '1' } }).map((e) => e.field),
      ['env.ALLOWED_VAR'],
    );
    process.env.JOBS_SCRIPT_ENV_ALLOW = 'ALLOWED_VAR,JOBS_JOB_ID';
    try {
      const errors = check({ script: 'env.sh', env: { ALLOWED_VAR: '1', NOT_ALLOWED: '2', JOBS_JOB_ID: 'forged' } });
      assert.deepEqual(errors.map((e) => e.field).sort(), ['env.JOBS_JOB_ID', 'env.NOT_ALLOWED']);
      for (const e of errors) assert.ok(e.reason.length > 0);
      const { context, lines } = makeContext();
      await assert.rejects(execute({ script: 'env.sh', env: { NOT_ALLOWED: '2' } }, context), /env\.NOT_ALLOWED/);
      assert.deepEqual(lines, [], 'the script must not have run');
    } finally {
      delete process.env.JOBS_SCRIPT_ENV_ALLOW;
    }
  });

  it('check() refuses names that are not plain, missing, not executable or escaping the folder', () => {
    const reasonFor = (script: string) => {
      const errors = check({ script });
      assert.equal(errors.length, 1, `${script}: ${JSON.stringify(errors)}`);
      assert.equal(errors[0].field, 'script');
      return errors[0].reason;
    };
    assert.match(reasonFor('../x'), /\.\./);
    assert.match(reasonFor('../outside.sh'), /\.\./);
    assert.match(reasonFor('a/b'), /path separator/);
    assert.match(reasonFor('/bin/sh'), /path separator/);
    assert.match(reasonFor('.hidden'), /'\.'/);
    assert.match(reasonFor(''), /non-empty/);
    assert.match(reasonFor('has space'), /letters, digits/);
    assert.equal(reasonFor('nope'), `no script 'nope' in ${dir}`);
    assert.match(reasonFor('plain.txt'), /not executable/);
    assert.match(reasonFor('subdir'), /not a regular file/);
    assert.match(reasonFor('escape'), /outside the scripts folder/);
    assert.deepEqual(
      check({ script: 'args.sh', args: ['a\0b'] }).map((e) => e.field),
      ['args.0'],
    );
  });

  it('execute() refuses what check() refuses, without running anything', async () => {
    const { context } = makeContext();
    await assert.rejects(execute({ script: 'escape' }, context), /outside the scripts folder/);
    await assert.rejects(execute({ script: 'plain.txt' }, context), /not executable/);
  });

  it('reads the scripts folder at call time; the default is job-scripts under the working directory', async (t) => {
    const cwd = process.cwd();
    delete process.env.JOBS_SCRIPTS_DIR;
    try {
      process.chdir(projectRoot);
      assert.deepEqual(check({ script: 'hello.sh' }), []);
      assert.deepEqual(check({ script: 'args.sh' }), [{ field: 'script', reason: `no script 'args.sh' in ${path.join(projectRoot, 'job-scripts')}` }]);
      const { context, lines } = makeContext();
      await execute({ script: 'hello.sh', args: ['tester'] }, context);
      assert.deepEqual(lines, [{ level: 'info', message: 'Hello, tester!' }]);
      t.diagnostic('job-scripts/hello.sh ran');
    } finally {
      process.chdir(cwd);
      process.env.JOBS_SCRIPTS_DIR = dir;
    }
  });

  it('does not spawn when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled early'));
    const { context } = makeContext(controller.signal);
    const marker = path.join(pidDir, 'marker');
    await assert.rejects(execute({ script: 'marker.sh', args: [marker] }, context), /stopped before it started \(cancelled early\)/);
    await sleep(scaled(100));
    await assert.rejects(fs.access(marker), { code: 'ENOENT' });
  });

  it('on abort stops a script that honours SIGTERM without waiting out the grace', async () => {
    process.env.JOBS_SCRIPT_KILL_GRACE_MS = '5000';
    try {
      const controller = new AbortController();
      const { context, lines } = makeContext(controller.signal);
      const running = execute({ script: 'polite.sh' }, context);
      await waitFor('the script to start', () => lines.some((l) => l.message === 'going to sleep'));
      const t0 = Date.now();
      controller.abort('timed out');
      await assert.rejects(running, (err: Error) => {
        assert.match(err.message, /stopped \(timed out\)/);
        assert.doesNotMatch(err.message, /SIGKILL/);
        return true;
      });
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    } finally {
      delete process.env.JOBS_SCRIPT_KILL_GRACE_MS;
    }
  });

  it('on abort kills the whole process group, SIGKILL after the grace for what ignores SIGTERM', async () => {
    process.env.JOBS_SCRIPT_KILL_GRACE_MS = '300';
    try {
      const controller = new AbortController();
      const { context, lines } = makeContext(controller.signal);
      const running = execute({ script: 'stubborn.sh', args: [pidDir] }, context);
      let settled = false;
      running.then(
        () => (settled = true),
        () => (settled = true),
      );
      await waitFor('the script to be ready', () => lines.some((l) => l.message === 'ready'));
      const scriptPid = Number(await fs.readFile(path.join(pidDir, 'script.pid'), 'utf8'));
      const childPid = Number(await fs.readFile(path.join(pidDir, 'child.pid'), 'utf8'));
      assert.ok(scriptPid > 0 && childPid > 0 && scriptPid !== childPid);
      assert.ok(isRunning(scriptPid) && isRunning(childPid));
      await waitFor('stderr before the abort', () => lines.some((l) => l.message === 'stderr before abort'));

      const t0 = Date.now();
      controller.abort(new Error('cancelled by test'));
      // Within the 300 ms grace: this wait does not scale.
      await sleep(150);
      assert.equal(settled, false, 'must not settle while the group ignores SIGTERM');
      assert.ok(isRunning(scriptPid) && isRunning(childPid), 'SIGTERM is ignored by both');

      await assert.rejects(running, (err: Error) => {
        assert.match(err.message, /stubborn\.sh was stopped \(cancelled by test\)/);
        assert.match(err.message, /SIGKILL after 300 ms/);
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took >= 280 && took < 3000, `took ${took} ms, the grace is 300 ms`);
      // Dead the moment the handler settles (an orphan may wait a moment as a zombie for init).
      assert.equal(isRunning(scriptPid), false, 'the script survived');
      assert.equal(isRunning(childPid), false, "the script's child survived");
      await waitGone(scriptPid);
      await waitGone(childPid);

      assert.deepEqual(scriptLines(lines), [
        { level: 'info', message: 'ready' },
        { level: 'warn', message: 'stderr before abort' },
      ]);
      const own = lines.filter((l) => l.message.startsWith('[run-script]')).map((l) => l.message);
      assert.equal(own.length, 2, JSON.stringify(own));
      assert.match(own[0], /stopping stubborn\.sh \(cancelled by test\): SIGTERM/);
      assert.match(own[1], /sent SIGKILL/);
    } finally {
      delete process.env.JOBS_SCRIPT_KILL_GRACE_MS;
    }
  });

  it('stops what a successful script leaves running in its group', async () => {
    process.env.JOBS_SCRIPT_KILL_GRACE_MS = '300';
    try {
      const { context, lines } = makeContext();
      await execute({ script: 'leaves-child.sh', args: [pidDir] }, context);
      const leftPid = Number(await fs.readFile(path.join(pidDir, 'left.pid'), 'utf8'));
      assert.equal(isRunning(leftPid), false, 'the background child survived');
      await waitGone(leftPid);
      assert.deepEqual(scriptLines(lines), [{ level: 'info', message: 'done' }]);
      assert.ok(lines.some((l) => l.level === 'warn' && /leaving processes/.test(l.message)));
    } finally {
      delete process.env.JOBS_SCRIPT_KILL_GRACE_MS;
    }
  });
});
