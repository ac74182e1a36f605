/**
 * The dashboard end to end, as a person uses it in a real browser (Debian's Chromium through
 * playwright-core) on the real service with its embedded store: create a job through the form
 * generated from its handler's schema, run it and watch its output come in while it runs,
 * cancel the run, pause the service; and with tokens, log in with a read token and find no
 * action that changes anything. Each step that shows something saves a screenshot in
 * .test-data/dashboard-e2e/.
 *
 * Without /usr/bin/chromium the suites are reported as skipped, never as passed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { projectRoot } from '../src/config/config.js';
import { scaled, startService, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';
import { browserSkip, openBrowser, type Browser } from './support/browser.js';
import { startScriptService, type ScriptService } from './support/script-service.js';

const skip = browserSkip('the dashboard end-to-end test');
if (skip) console.log(`# SKIPPED ${skip}`);

const api = '/api/v1';
/** Where the screenshots go; kept between runs, replaced by the next. */
const screens = path.join(projectRoot, '.test-data', 'dashboard-e2e');

async function shoot(page: Page, name: string) {
  await fs.mkdir(screens, { recursive: true });
  const file = path.join(screens, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot ${file}`);
}

// A run that writes a line every 0.3 s for a minute: long enough to watch and to cancel.
const ticker = `#!/bin/sh
i=1
while [ $i -le 200 ]; do
  echo "tick $i"
  i=$((i + 1))
  sleep 0.3
done
`;

/** The failed loads of a 4xx answer the page expected (a form the API refused) are not page errors. */
const realErrors = (errors: string[]) => errors.filter((e) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e));

describe('dashboard end to end on embedded', { timeout: scaled(120_000) }, () => {
  let scripts: ScriptService;
  let svc: Running;
  let port: number;
  let browser: Browser | undefined;
  let page: Page;
  let step: Browser['step'];
  const base = () => `http://127.0.0.1:${port}`;

  before(async () => {
    if (skip) return;
    scripts = await startScriptService('embedded', { 'ticker.sh': ticker }, { PORT: '0', HOST: '127.0.0.1' });
    svc = scripts.svc;
    port = await svc.service.listen();
    browser = await openBrowser(port);
    ({ page, step } = browser);
  });

  after(async () => {
    await browser?.close();
    await scripts?.close();
  });

  it('creates a job through the form, runs it, watches its output stream in, cancels the run and pauses the service', { skip }, async () => {
    await step('open / and land on the overview', async () => {
      const res = await page.goto(`${base()}/`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/dashboard/');
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await page.getByTestId('service-state').filter({ hasText: 'running' }).waitFor();
      await page.getByRole('cell', { name: 'active' }).first().waitFor();
    });
    await shoot(page, 'overview');

    await step('open the create form from the jobs list', async () => {
      await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Jobs' }).click();
      await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
      await page.getByRole('button', { name: 'New job' }).click();
      await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
      await page.getByLabel('Handler').selectOption('run-script');
      // Prefilled with the example of RunScriptKwargs in openapi.yaml.
      await page.locator('#kwargs-script').waitFor();
      assert.equal(await page.locator('#kwargs-script').inputValue(), 'hello.sh');
      assert.deepEqual(JSON.parse(await page.locator('#kwargs-args').inputValue()), ['world']);
    });

    await step('a value the API refuses shows on the field it names', async () => {
      await page.locator('#job-job_id').fill('ticker');
      await page.locator('#kwargs-script').fill('../ticker.sh');
      await page.getByRole('radio', { name: 'Interval' }).check();
      await page.locator('#schedule-periodically').fill('1 day');
      await page.getByRole('button', { name: 'Create job' }).click();
      const error = page.locator('#kwargs-script-error');
      await error.waitFor();
      assert.match(await error.innerText(), /pattern/);
      assert.equal(await page.locator('#kwargs-script').getAttribute('aria-invalid'), 'true');
    });

    await step('cron in words while typing', async () => {
      await page.getByRole('radio', { name: 'Cron' }).check();
      await page.locator('#schedule-cron').fill('*/15 9-17 * * 1-5');
      await page.getByTestId('cron-words').filter({ hasText: 'Every 15 minutes' }).waitFor();
      await page.getByRole('radio', { name: 'Interval' }).check();
    });

    await step('create the job', async () => {
      await page.locator('#kwargs-script').fill('ticker.sh');
      await page.locator('#kwargs-args').fill('[]');
      await shoot(page, 'create-form');
      await page.getByRole('button', { name: 'Create job' }).click();
      await page.getByRole('heading', { level: 1, name: 'ticker' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/dashboard/jobs/ticker');
    });
    const job = (await svc.http.get(`${api}/jobs/ticker`).expect(200)).body;
    assert.equal(job.handler, 'run-script');
    assert.deepEqual(job.kwargs, { script: 'ticker.sh', args: [] });
    assert.equal(job.periodically, '1 day');

    // The run page follows the output through the live stream (server-sent events).
    const stream = page.waitForResponse((r) => /\/api\/v1\/executions\/[^/]+\/output\?follow=true$/.test(r.url()), { timeout: scaled(30_000) });
    const runId = await step('run it now from its page', async () => {
      await page.getByRole('button', { name: 'Run now…' }).click();
      await page.getByRole('form', { name: 'Run now' }).getByRole('button', { name: 'Run' }).click();
      await page.waitForURL(/\/dashboard\/runs\/[0-9a-f-]{36}$/);
      return new URL(page.url()).pathname.split('/').pop()!;
    });

    const output = page.getByTestId('run-output');
    await step('watch its output stream in while it runs', async () => {
      await output.filter({ hasText: 'tick 1' }).waitFor({ timeout: scaled(20_000) });
      const first = (await output.innerText()).split('\n').filter((l) => /\btick \d+$/.test(l)).length;
      // Later lines arrive on the same page, with no reload, while the run is still running.
      await waitFor('more output lines on the page', async () => (await output.innerText()).split('\n').filter((l) => /\btick \d+$/.test(l)).length >= first + 3, 20_000);
      assert.equal(await page.locator('h1 .status').innerText(), 'running');
      const followed = await stream;
      assert.equal(followed.status(), 200);
      assert.match((await followed.allHeaders())['content-type'], /^text\/event-stream/);
      assert.equal(new URL(followed.url()).pathname, `${api}/executions/${runId}/output`);
      assert.equal((await svc.http.get(`${api}/executions/${runId}`).expect(200)).body.status, 'running');
    });
    await shoot(page, 'live-run');

    await step('cancel the running run', async () => {
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await page
        .locator('h1 .status')
        .filter({ hasText: 'cancelled' })
        .waitFor({ timeout: scaled(20_000) });
    });
    assert.equal((await svc.http.get(`${api}/executions/${runId}`).expect(200)).body.status, 'cancelled');
    await shoot(page, 'cancelled-run');

    await step("the job's page lists the run", async () => {
      await page.getByRole('link', { name: 'ticker' }).first().click();
      await page.getByRole('heading', { level: 1, name: 'ticker' }).waitFor();
      await page.getByRole('link', { name: runId.slice(0, 8) }).waitFor();
    });
    await shoot(page, 'job');

    await step('edit the job: a new interval, made to the version shown', async () => {
      await page.getByRole('button', { name: 'Edit…' }).click();
      const form = page.getByRole('form', { name: 'Edit job' });
      assert.equal(await form.locator('#edit-script').inputValue(), 'ticker.sh', "the form holds the job's kwargs");
      await form.getByLabel('Every').fill('2 days');
      await form.getByRole('button', { name: 'Save' }).click();
      await form.waitFor({ state: 'detached' });
      await page.getByText('Every 2 days').first().waitFor();
    });
    const edited = (await svc.http.get(`${api}/jobs/ticker`).expect(200)).body;
    assert.equal(edited.periodically, '2 days');
    assert.equal(edited.version, 2);

    await step('pause the service from the overview', async () => {
      await page.getByRole('link', { name: 'Overview' }).click();
      page.once('dialog', (d) => void d.accept());
      await page.getByRole('button', { name: 'Pause service' }).click();
      await page.getByTestId('service-state').filter({ hasText: 'paused' }).waitFor();
      await page.getByRole('button', { name: 'Resume service' }).waitFor();
    });
    const state = (await svc.http.get(`${api}/service/state`).expect(200)).body;
    assert.equal(state.state, 'paused');
    assert.equal(state.paused_by, 'anonymous');
    await shoot(page, 'paused');

    assert.deepEqual(browser!.foreign, [], 'the dashboard tried to reach hosts other than this service');
    assert.deepEqual(realErrors(browser!.pageErrors), [], 'the page reported errors');
  });
});

describe('dashboard with tokens on embedded', { timeout: scaled(120_000) }, () => {
  const readToken = randomBytes(24).toString('base64url');
  const adminToken = randomBytes(24).toString('base64url');
  let db: TestDatabase;
  let svc: Running;
  let port: number;
  let browser: Browser | undefined;
  let runId: string;

  before(async () => {
    if (skip) return;
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_API_TOKENS: `viewer:${readToken}:read,ops:${adminToken}:admin` });
    port = await svc.service.listen();
    // Something on every page: a job, its runs, a worker.
    const admin = { Authorization: `Bearer ${adminToken}` };
    await svc.http
      .post(`${api}/jobs`)
      .set(admin)
      .send({ handler: 'echo', job_id: 'greeter', kwargs: { message: 'hi' }, periodically: '1 day' })
      .expect(201);
    runId = (await svc.http.post(`${api}/jobs/greeter/executions`).set(admin).send({}).expect(202)).body.execution_ids[0];
    await waitFor('the run ended', async () => (await svc.http.get(`${api}/executions/${runId}`).set(admin)).body.status === 'succeeded', 20_000);
    browser = await openBrowser(port);
  });

  after(async () => {
    await browser?.close();
    await svc?.close();
    await db?.drop();
  });

  it('asks for a token, refuses a wrong one, and with a read token shows no action that changes anything', { skip }, async () => {
    const { page, step } = browser!;
    await step('the login page', async () => {
      await page.goto(`http://127.0.0.1:${port}/dashboard/`, { waitUntil: 'load' });
      await page.getByLabel('API token').fill('not-a-token-of-this-service');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
      await page.getByLabel('API token').fill(readToken);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await page.getByText('viewer · read').waitFor();
    });
    const nav = page.getByRole('navigation', { name: 'main' });
    assert.equal(await nav.getByRole('link', { name: 'Audit' }).count(), 0, 'no audit page for a read token');
    // The token is kept for the tab's session only.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('jobs-service.token')), readToken);
    assert.equal(await page.evaluate(() => localStorage.getItem('jobs-service.token')), null);

    const writeActions = /pause|resume|new job|run now|edit|delete|cancel|block|clean up|retry|create/i;
    const pages: Array<[string, string, string]> = [
      ['Overview', '/', 'Overview'],
      ['Jobs', '/jobs', 'Jobs'],
      ['a job', '/jobs/greeter', 'greeter'],
      ['Runs', '/runs', 'Runs'],
      ['a run', `/runs/${runId}`, 'Run'],
      ['Batches', '/batches', 'Batches'],
      ['Workers', '/workers', 'Workers'],
      ['Failures', '/failures', 'Failures'],
    ];
    for (const [what, to, heading] of pages) {
      await step(`${what}: nothing to change`, async () => {
        await page.evaluate((url) => {
          history.pushState(null, '', url);
          dispatchEvent(new PopStateEvent('popstate'));
        }, `/dashboard${to}`);
        await page.getByRole('heading', { level: 1, name: heading }).first().waitFor();
        // Let the page's data arrive before looking for its buttons.
        await page.waitForLoadState('networkidle');
        const buttons = await page.getByRole('button').allInnerTexts();
        const offending = buttons.filter((b) => writeActions.test(b));
        assert.deepEqual(offending, [], `${what} shows ${offending.join(', ')} to a read token`);
        assert.equal(await page.locator('main input[type=checkbox][aria-label^="select"]').count(), 0, `${what}: no selection for bulk actions`);
      });
      if (to === '/jobs/greeter') await shoot(page, 'read-only-job');
    }
    await shoot(page, 'read-only');
    // Hidden is not the only guard: the API refuses the same token.
    const status = await page.evaluate(
      async (token) => (await fetch('/api/v1/service/state?state=paused', { method: 'PUT', headers: { Authorization: `Bearer ${token}` } })).status,
      readToken,
    );
    assert.equal(status, 403);

    await step('log out', async () => {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByLabel('API token').waitFor();
    });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('jobs-service.token')), null);
    assert.deepEqual(browser!.foreign, [], 'the dashboard tried to reach hosts other than this service');
    assert.deepEqual(realErrors(browser!.pageErrors), [], 'the page reported errors');
  });
});
