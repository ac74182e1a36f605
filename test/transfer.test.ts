import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, projectRoot } from '../src/config/config.js';
import { parseFile } from '../src/service/default-jobs.js';
import { openStore } from '../src/service/backend.js';
import type { JobRecord, Store } from '../src/store/types.js';
import { exportJobs, importJobs, jobDefinition, jobFileName, TransferError, type ExportResult } from '../src/transfer/transfer.js';
import { startService, stores, tempDir, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';

const api = '/api/v1';
const postgresSkip = stores.find((s) => s.name === 'postgres')?.skip ?? false;
if (postgresSkip) console.log(`# SKIPPED export to PostgreSQL: ${postgresSkip}`);

/** The jobs a source store holds, one of each kind the export must carry over. */
const jobs: Array<Record<string, unknown>> = [
  { job_id: 'interval-report', handler: 'echo', kwargs: { n: 1 }, periodically: '1 day, 2:30:00', misfire_grace_time: 60 },
  { job_id: 'nightly-cleanup', handler: 'cleanup-executions', kwargs: { older_than: '90 days' }, cron: '30 2 * * *', timezone: 'Europe/Prague' },
  { job_id: 'cron-utc', handler: 'echo', cron: '0 */5 * * * *' },
  {
    job_id: 'one-shot',
    handler: 'http-request',
    kwargs: { url: 'https://example.org/hook', method: 'POST', headers: { 'X-Request-Tag': 'abc' }, body: { ok: true } },
    when: '2099-03-04T05:06:07.890Z',
  },
  { job_id: 'parked', handler: 'echo', periodically: '5 minutes', state: 'paused' },
  {
    job_id: 'guarded',
    handler: 'http-request',
    kwargs: { url: 'https://example.org/slow', expected_status: [200, 204] },
    periodically: '1 hour',
    when: '2099-01-01T00:00:00Z',
    timeout: 120,
    retries: 3,
    retry_backoff: 30,
    concurrency_policy: 'replace',
    misfire_grace_time: 45,
    notify: [{ on: ['failed', 'late'], webhook: { url: 'https://hooks.example.org/jobs', secret: null } }],
    pause_after_failures: 4,
    deadline: { start_within: 60, run_within: null },
  },
  {
    job_id: 'bounded',
    handler: 'echo',
    cron: '0 * * * *',
    timezone: 'America/New_York',
    catch_up: 'all',
    start_at: '2098-01-01T00:00:00.000Z',
    end_at: '2099-01-01T00:00:00.000Z',
    max_runs: 40,
    jitter: 12,
  },
  {
    job_id: 'nested',
    handler: 'echo',
    kwargs: {
      deep: { list: [1, 'two', { three: 3.5, four: [[]] }], empty: {}, none: null, flag: false },
      // Strings YAML would read as something else unless quoted.
      tricky: [
        'yes',
        'no',
        'null',
        '~',
        '1.0',
        '0o17',
        '0x1F',
        '2027-01-01',
        'multi\nline\n',
        ' padded ',
        '#hash',
        'a: b',
        '- dash',
        '"quoted"',
        "it's",
        '',
        'ünïcödé ✓',
        '@at',
        '*star',
        '&anchor',
        '!bang',
        '%pct',
        '`tick',
        '<<',
        'x'.repeat(300),
      ],
      big: 9007199254740991,
      negative: -0.5,
      'key with: colon': 1,
      '123': 'numeric key',
    },
    periodically: '12 hours',
  },
  { job_id: 'team:reports@eu-1', handler: 'flow-scheduling', kwargs: { flow_name: 'echo', flow_arguments: [{ a: 1 }, { b: [2] }] }, periodically: '1 week' },
  { job_id: 'Mixed-Case', handler: 'echo', periodically: '2 days' },
  {
    job_id: 'chained',
    handler: 'echo',
    periodically: '1 day',
    on_success: [{ job_id: 'parked', kwargs: { from: '$.kwargs.n', fixed: 1 } }],
    on_failure: [{ job_id: 'cron-utc' }],
    after_all: ['interval-report'],
  },
  { job_id: 'mixed-case', handler: 'echo', periodically: '3 days' },
  { job_id: 'ticker', handler: 'echo', kwargs: { tick: true }, periodically: '1 second' },
  { job_id: 'done-once', handler: 'echo', kwargs: { once: true } },
];

/** Every field of a job's definition; next_run_at, the history and the timestamps are not. */
const definitionFields = [
  'job_id',
  'handler',
  'kwargs',
  'state',
  'periodically',
  'interval_seconds',
  'cron',
  'timezone',
  'when',
  'misfire_grace_time',
  'timeout',
  'concurrency_policy',
  'retries',
  'retry_backoff',
  'catch_up',
  'start_at',
  'end_at',
  'max_runs',
  'jitter',
  'source',
  'source_file',
  'notify',
  'pause_after_failures',
  'deadline',
] as const;

async function allJobs(store: Store): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let after: string | null = null;
  do {
    const page = await store.listJobs(after, 3);
    out.push(...page.items);
    after = page.next;
  } while (after !== null);
  return out;
}

/** Compares source and target job by job, field by field; an imported default job becomes an ordinary one. */
function assertSameDefinitions(source: JobRecord[], target: JobRecord[]) {
  assert.deepEqual(
    target.map((j) => j.job_id),
    source.map((j) => j.job_id),
  );
  for (const [i, s] of source.entries()) {
    const t = target[i];
    for (const field of definitionFields) {
      const expected = field === 'source' ? 'api' : field === 'source_file' ? null : s[field];
      assert.deepEqual(t[field], expected, `${s.job_id}: ${field}`);
    }
    // A one-shot job with a future `when` is planned for the same instant.
    if (s.when && s.when > new Date() && s.interval_seconds === null && s.cron === null) {
      assert.deepEqual(t.next_run_at, s.next_run_at, `${s.job_id}: next_run_at`);
    }
  }
}

async function jobCount(svc: Running) {
  return (await allJobs(svc.service.store)).length;
}

/** Runs the command entry from the sources, as `npm run export|import` runs it from dist/. */
function command(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/transfer/cli.ts'), ...args], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('export and import of job definitions', () => {
  let sourceDb: TestDatabase;
  let source: Running;
  let defaultsDir: string;
  let exportDir: string;
  let exported: ExportResult;
  let sourceJobs: JobRecord[];
  const cleanup: Array<() => Promise<unknown>> = [];

  before(async () => {
    sourceDb = await testDatabase('embedded');
    defaultsDir = await tempDir('transfer-defaults');
    await fs.writeFile(path.join(defaultsDir, 'house-keeping.yaml'), 'job_id: house-keeping\nhandler: echo\nperiodically: 1 hour\n');
    source = await startService(sourceDb, { JOBS_DEFAULT_JOBS_DIR: defaultsDir });
    for (const job of jobs) {
      const res = await source.http.post(`${api}/jobs`).send(job);
      assert.equal(res.status, 201, `${job.job_id}: ${JSON.stringify(res.body)}`);
    }
    await waitFor('the one-shot job to have run', async () => (await source.service.store.getJob('done-once'))?.next_run_at === null);
    sourceJobs = await allJobs(source.service.store);
    exportDir = path.join(await tempDir('transfer'), 'exported'); // created by the export
    exported = await exportJobs(source.service.store, exportDir);
  });
  after(async () => {
    await source?.close();
    await sourceDb?.drop();
    for (const fn of cleanup) await fn();
    await fs.rm(defaultsDir, { recursive: true, force: true });
    await fs.rm(path.dirname(exportDir), { recursive: true, force: true });
  });

  it('writes one file per job, in the form default-jobs/ takes, with only the options that are set', async () => {
    assert.equal(sourceJobs.length, jobs.length + 1, 'the API jobs and the default job');
    const files = (await fs.readdir(exportDir)).sort();
    assert.deepEqual(files, sourceJobs.map((j) => jobFileName(j.job_id)).sort());
    assert.deepEqual(
      exported.files.map((f) => f.job_id),
      sourceJobs.map((j) => j.job_id),
    );
    assert.match(jobFileName('team:reports@eu-1'), /^team_reports_eu-1-[0-9a-f]{8}\.yaml$/);
    assert.match(jobFileName('Mixed-Case'), /^mixed-case-[0-9a-f]{8}\.yaml$/, 'apart from mixed-case.yaml on case-insensitive file systems too');
    assert.equal(jobFileName('mixed-case'), 'mixed-case.yaml');
    assert.match(jobFileName('con'), /^con-[0-9a-f]{8}\.yaml$/);

    const read = async (jobId: string) => {
      const file = jobFileName(jobId);
      const text = await fs.readFile(path.join(exportDir, file), 'utf8');
      return { text, def: parseFile(file, text) };
    };
    for (const job of sourceJobs) {
      const { text, def } = await read(job.job_id);
      assert.match(text, /^# Exported from the embedded store of jobs-service at \d{4}-\d\d-\d\dT[\d:.]+Z/, job.job_id);
      assert.deepEqual(def, jobDefinition(job), `${job.job_id}: the file reads back as the job's definition`);
    }
    assert.deepEqual((await read('cron-utc')).def, { job_id: 'cron-utc', handler: 'echo', kwargs: {}, cron: '0 */5 * * * *' }, 'defaults are left out');
    assert.deepEqual((await read('nightly-cleanup')).def, {
      job_id: 'nightly-cleanup',
      handler: 'cleanup-executions',
      kwargs: { older_than: '90 days' },
      cron: '30 2 * * *',
      timezone: 'Europe/Prague',
    });
    assert.equal((await read('one-shot')).def.when, '2099-03-04T05:06:07.890Z');
    assert.equal((await read('parked')).def.state, 'paused');
    const guarded = (await read('guarded')).def;
    assert.deepEqual(
      [guarded.periodically, guarded.when, guarded.timeout, guarded.retries, guarded.retry_backoff, guarded.concurrency_policy, guarded.misfire_grace_time],
      ['1 hour', '2099-01-01T00:00:00.000Z', 120, 3, 30, 'replace', 45],
    );
    const chained = (await read('chained')).def;
    assert.deepEqual(
      [chained.on_success, chained.on_failure, chained.on_finish, chained.after_all],
      [[{ job_id: 'parked', kwargs: { from: '$.kwargs.n', fixed: 1 } }], [{ job_id: 'cron-utc' }], undefined, ['interval-report']],
    );
    assert.deepEqual(
      [guarded.notify, guarded.pause_after_failures, guarded.deadline],
      [[{ on: ['failed', 'late'], webhook: { url: 'https://hooks.example.org/jobs', secret: null } }], 4, { start_within: 60, run_within: null }],
    );
    assert.deepEqual((await read('nested')).def.kwargs, jobs.find((j) => j.job_id === 'nested')!.kwargs);
    assert.match((await read('house-keeping')).text, /# It was the default job of house-keeping\.yaml; imported, it is an ordinary job\./);
    assert.deepEqual(exported.fired, ['done-once']);
    assert.match(
      (await read('done-once')).text,
      /# This one-shot job has fired already, last at .* \(succeeded\):\n# importing it into a store that does not have it runs it again\./,
    );
  });

  it('refuses to export into a folder that holds job files already', async () => {
    await assert.rejects(exportJobs(source.service.store, exportDir), (err: Error) => {
      assert.ok(err instanceof TransferError);
      assert.match(err.message, /holds job files already .*: export into an empty or new folder/);
      return true;
    });
  });

  const targets: Array<{ name: 'embedded' | 'postgres'; skip: string | false }> = [
    { name: 'embedded', skip: false },
    { name: 'postgres', skip: postgresSkip },
  ];
  for (const { name, skip } of targets) {
    describe(`into ${name === 'embedded' ? 'another embedded store' : 'PostgreSQL'}`, { skip }, () => {
      let targetDb: TestDatabase;
      let target: Running;
      before(async () => {
        targetDb = await testDatabase(name);
        target = await startService(targetDb);
      });
      after(async () => {
        await target?.close();
        await targetDb?.drop();
      });

      it('imports every job with nothing lost, and schedules it', async () => {
        const result = await importJobs(exportDir, target.service.scheduler, target.service.store);
        assert.deepEqual(result.created.sort(), sourceJobs.map((j) => j.job_id).sort());
        assert.deepEqual(result.updated, []);
        assertSameDefinitions(sourceJobs, await allJobs(target.service.store));
        // A run on the target shows the schedule row was created.
        await waitFor('a run of ticker on the target', async () => {
          const runs = (await target.http.get(`${api}/jobs/ticker/executions`).expect(200)).body.executions;
          return runs.some((e: { status: string }) => e.status === 'succeeded');
        });
        const colon = (await target.http.get(`${api}/jobs/${encodeURIComponent('team:reports@eu-1')}`).expect(200)).body;
        assert.equal(colon.source, 'api');
      });

      it('a second import updates and creates no duplicates', async () => {
        const before = await jobCount(target);
        const result = await importJobs(exportDir, target.service.scheduler, target.service.store);
        assert.deepEqual(result.created, []);
        assert.deepEqual(result.updated.sort(), sourceJobs.map((j) => j.job_id).sort());
        assert.equal(await jobCount(target), before);
        assertSameDefinitions(sourceJobs, await allJobs(target.service.store));
      });

      it('an invalid file imports nothing and names the file and the field', async () => {
        const dir = await tempDir('transfer-invalid');
        cleanup.push(() => fs.rm(dir, { recursive: true, force: true }));
        await fs.writeFile(path.join(dir, 'a-new.yaml'), 'job_id: a-new\nhandler: echo\n');
        await fs.writeFile(path.join(dir, 'interval-report.yaml'), 'job_id: interval-report\nhandler: echo\nperiodically: 2 hours\n');
        await fs.writeFile(path.join(dir, 'z-bad.yml'), 'job_id: z-bad\nhandler: http-request\nkwargs:\n  url: 42\n');
        const before = await allJobs(target.service.store);
        await assert.rejects(importJobs(dir, target.service.scheduler, target.service.store), (err: Error) => {
          assert.ok(err instanceof TransferError);
          assert.equal(err.file, 'z-bad.yml');
          assert.equal(err.field, 'kwargs.url');
          assert.match(err.message, /z-bad\.yml: kwargs\.url: must be string; nothing was imported/);
          return true;
        });
        const afterwards = await allJobs(target.service.store);
        assert.equal(afterwards.length, before.length, 'no job was added');
        assert.equal(await target.service.store.getJob('a-new'), null);
        assert.equal(afterwards.find((j) => j.job_id === 'interval-report')!.periodically, '1 day, 2:30:00', 'no job was changed');
      });
    });
  }

  it('the commands: exit codes, printed counts, and the target keeps its default jobs', async () => {
    // Another embedded source, closed: the embedded store belongs to one process at a time.
    const fromDb = await testDatabase('embedded');
    const toDb = await testDatabase('embedded');
    const dir = path.join(await tempDir('transfer-cli'), 'jobs');
    const targetDefaults = await tempDir('transfer-cli-defaults');
    cleanup.push(
      () => fromDb.drop(),
      () => toDb.drop(),
      () => fs.rm(path.dirname(dir), { recursive: true, force: true }),
    );
    cleanup.push(() => fs.rm(targetDefaults, { recursive: true, force: true }));
    let svc = await startService(fromDb);
    try {
      for (const job of jobs.slice(0, 3)) await svc.http.post(`${api}/jobs`).send(job).expect(201);
    } finally {
      await svc.close();
    }
    // The target has a default job of its own, which the import must leave alone.
    await fs.writeFile(path.join(targetDefaults, 'own.yaml'), 'job_id: own\nhandler: echo\nperiodically: 1 hour\n');
    svc = await startService(toDb, { JOBS_DEFAULT_JOBS_DIR: targetDefaults });
    await svc.close();

    const exportRun = await command(['export', dir], fromDb.env);
    assert.equal(exportRun.code, 0, exportRun.stderr);
    assert.match(exportRun.stdout, /^exported 3 jobs from the embedded store to .*jobs\n$/);
    assert.equal((await fs.readdir(dir)).length, 3);

    const first = await command(['import', dir], toDb.env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^imported 3 jobs from .* into the embedded store: 3 created, 0 updated\n$/);
    const second = await command(['import', dir], toDb.env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /: 0 created, 3 updated\n$/);

    await fs.writeFile(path.join(dir, 'bad.yaml'), 'job_id: bad\nhandler: echo\nretries: many\n');
    // Independent of each other (two data folders), so at once: each boot takes seconds.
    const [usage, unknown, again, invalid] = await Promise.all([
      command(['import'], toDb.env),
      command(['move', dir], toDb.env),
      command(['export', dir], fromDb.env),
      command(['import', dir], toDb.env),
    ]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /DIR is missing\nusage: npm run export -- DIR/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'move'/);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^jobs-service export: .* holds job files already/);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^jobs-service import: job file .*bad\.yaml: retries: must be a whole number from 0 to 100; nothing was imported\n$/);
    assert.equal(invalid.stdout, '');

    // Opened without the service, so no default jobs are applied while looking.
    const { store } = await openStore(loadConfig({ ...toDb.env }));
    try {
      const own = await store.getJob('own');
      assert.equal(own?.source, 'file', 'the default job of the target survived the imports');
      assert.deepEqual(
        (await allJobs(store)).map((j) => j.job_id),
        ['cron-utc', 'interval-report', 'nightly-cleanup', 'own'],
      );
      assert.equal((await store.getJob('cron-utc'))?.source, 'api');
    } finally {
      await store.close();
    }
  });
});
