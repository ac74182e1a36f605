/**
 * A script's output is bounded where it is read: 70 MB without a newline and 3 MB of short
 * lines leave the service's memory about where it was and its API answering, and the run ends
 * with its head, a line saying what was left out, and its tail.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scaled, sleep, startService, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

const api = '/api/v1';
const MB = 1024 * 1024;

describe('run-script output bounded at the source', { timeout: 300_000 }, () => {
  let db: TestDatabase;
  let scripts: string;
  let svc: Running;

  before(async () => {
    db = await testDatabase('embedded');
    scripts = await tempDir('flood');
    // 600 KB of lines at once, then a long sleep.
    await fs.writeFile(path.join(scripts, 'burst.sh'), "#!/bin/sh\nyes 'a line of a burst' | head -n 30000\necho burst done\nexec sleep 60\n", { mode: 0o755 });
    await fs.writeFile(
      path.join(scripts, 'flood.sh'),
      [
        '#!/bin/sh',
        'echo first line',
        // 70 MB without a newline, then 3 MB of short lines, on stdout and stderr.
        "head -c 73400320 /dev/zero | tr '\\0' x",
        "yes 'a short line of output' | head -c 2097152",
        "yes 'a short line on stderr' | head -c 1048576 >&2",
        "printf '\\nlast line\\n'",
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    // run-script reads its settings from the environment at every call.
    process.env.JOBS_SCRIPTS_DIR = scripts;
    svc = await startService(db, { JOBS_OUTPUT_LINES: '5000' });
  });

  after(async () => {
    await svc?.close();
    delete process.env.JOBS_SCRIPTS_DIR;
    await db.drop();
    await fs.rm(scripts, { recursive: true, force: true });
  });

  it('keeps memory bounded, the API answering, and the head and tail of the output', async () => {
    await svc.http.post(`${api}/jobs/run-script?job_id=flood&state=paused`).send({ script: 'flood.sh' }).expect(201);
    // One flood first, unmeasured: the first time PGlite's hottest WebAssembly functions run
    // this much, V8 compiles them again in its optimising tier, and that compilation's memory
    // (hundreds of MB on some machines) stays in the process's malloc arenas. The measured
    // flood then shows what the service itself keeps.
    const first = (await svc.http.post(`${api}/jobs/flood/executions`).expect(202)).body.execution_ids[0];
    await waitFor(
      'the first flood run to end',
      async () => !['queued', 'running'].includes((await svc.http.get(`${api}/executions/${first}`).expect(200)).body.status),
      120_000,
      200,
    );
    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    let slowest = 0;
    let answers = 0;
    let done = false;
    const prober = (async () => {
      while (!done) {
        const t0 = Date.now();
        await svc.http.get(`${api}/liveness`).expect(200);
        slowest = Math.max(slowest, Date.now() - t0);
        answers += 1;
        await sleep(100);
      }
    })();
    let run: { status: string; error?: string };
    let id: string;
    try {
      id = (await svc.http.post(`${api}/jobs/flood/executions`).expect(202)).body.execution_ids[0];
      run = await waitFor(
        'the flood run to end',
        async () => {
          const r = (await svc.http.get(`${api}/executions/${id}`).expect(200)).body;
          return ['queued', 'running'].includes(r.status) ? null : r;
        },
        120_000,
        200,
      );
    } finally {
      done = true;
      await prober;
      clearInterval(sampler);
    }
    const growth = (peak - base) / MB;
    console.log(`# rss growth ${growth.toFixed(1)} MB, slowest liveness ${slowest} ms over ${answers} answers`);
    assert.ok(growth < 150, `rss grew by ${growth.toFixed(1)} MB`);
    assert.ok(answers >= 3, `${answers} liveness answers`);
    assert.ok(slowest < scaled(2000), `a liveness answer took ${slowest} ms`);

    const output = (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body;
    const lines: string[] = output.lines;
    const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    assert.equal(run.status, 'succeeded', run.error);
    assert.ok(bytes < 1.5 * MB, `${bytes} bytes of output stored, the budget is 1 MiB`);
    assert.match(lines[0], / info first line$/);
    // stdout and stderr are two pipes: their ends may come in either order.
    assert.ok(
      lines.slice(-3).some((l) => / info last line$/.test(l)),
      lines.slice(-3).join('\n'),
    );
    const note = lines.find((l) => l.includes('left out here'));
    assert.ok(note, 'a line says what was left out');
    assert.match(note!, / warn \[run-script\] output of flood\.sh beyond 1048576 bytes or 2000 lines/);
    assert.ok(lines.some((l) => l.endsWith(' warn a short line on stderr')));
  });

  it('writes a burst of output without waiting for the heartbeat', async () => {
    await svc.close();
    // Heartbeats far apart (the lock lives longer still): only the burst's size can write it.
    svc = await startService(db, { JOBS_OUTPUT_LINES: '5000', JOBS_HEARTBEAT_MS: '120000', JOBS_LOCK_LIFETIME_MS: '600000' });
    // A budget the burst fits in, so all of it is logged as it comes.
    process.env.JOBS_SCRIPT_OUTPUT_LINES = '100000';
    process.env.JOBS_SCRIPT_OUTPUT_BYTES = String(16 * MB);
    await svc.http.post(`${api}/jobs/run-script?job_id=burst&state=paused`).send({ script: 'burst.sh' }).expect(201);
    const id = (await svc.http.post(`${api}/jobs/burst/executions`).expect(202)).body.execution_ids[0];
    try {
      const lines = await waitFor(
        'the burst in the stored output while the script sleeps',
        async () => {
          const out = (await svc.http.get(`${api}/executions/${id}/output`).expect(200)).body.lines as string[];
          return out.some((l) => l.endsWith(' info a line of a burst')) ? out : null;
        },
        20_000,
        200,
      );
      assert.ok(lines.length >= 1000, `${lines.length} lines written`);
      assert.equal((await svc.http.get(`${api}/executions/${id}`).expect(200)).body.status, 'running');
    } finally {
      delete process.env.JOBS_SCRIPT_OUTPUT_LINES;
      delete process.env.JOBS_SCRIPT_OUTPUT_BYTES;
      await svc.http.post(`${api}/executions/${id}/cancel`);
    }
  });
});
