/**
 * End to end through Swagger UI: a person opens /api/v1/ui in a real browser (headless
 * Chromium from Debian's `chromium` package, driven by playwright-core), tries out
 * POST /jobs/flow-scheduling with its example body, and the job it creates really exists and
 * really runs on the real service with its embedded store.
 *
 * Without /usr/bin/chromium the suite is reported as skipped, never as passed.
 * Install it with: apt-get update && apt-get install -y chromium
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { scaled, startService, testDatabase, waitFor, type Running, type TestDatabase } from './helpers.js';
import { browserSkip, openBrowser, type Browser } from './support/browser.js';

const skip = browserSkip('the Swagger UI end-to-end test');
if (skip) console.log(`# SKIPPED ${skip}`);

const api = '/api/v1';
const operationBlock = '#operations-Add_new_jobs-scheduleFlowScheduling';

interface JobBody {
  job_id: string;
  handler: string;
  kwargs: { flow_name: string; flow_arguments: unknown[] };
  state: string;
  source: string;
}
interface ExecutionBody {
  id: string;
  job_id: string | null;
  handler: string;
  status: string;
  trigger: string;
  parent_id: string | null;
}

// The skip sits on the test itself (a skipped suite alone is not counted in the "skipped"
// total), and the hooks do nothing when it is skipped.
describe('Swagger UI end to end on embedded', { timeout: scaled(60_000) }, () => {
  let db: TestDatabase;
  let svc: Running;
  let port: number;
  let browser: Browser | undefined;
  let page: Page;
  let foreign: string[];
  let pageErrors: string[];
  let step: Browser['step'];

  before(async () => {
    if (skip) return;
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1' });
    port = await svc.service.listen();
    browser = await openBrowser(port);
    ({ page, foreign, pageErrors, step } = browser);
  });

  after(async () => {
    await browser?.close();
    await svc?.close();
    await db?.drop();
  });

  it('creates a flow job through "Try it out" and the job runs', { skip }, async () => {
    await step('open the UI', async () => {
      const res = await page.goto(`http://127.0.0.1:${port}${api}/ui`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200, 'GET /api/v1/ui');
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'jobs-service' }).waitFor();
    });

    const block = page.locator(operationBlock);
    await step('expand POST /jobs/flow-scheduling', async () => {
      await block.waitFor();
      const summary = block.locator('.opblock-summary');
      assert.equal((await summary.locator('.opblock-summary-method').innerText()).trim(), 'POST');
      assert.equal((await summary.locator('.opblock-summary-path').innerText()).replace(/\u200b/g, '').trim(), '/jobs/flow-scheduling');
      await block.locator('.opblock-summary-control').click();
      await block.locator('.opblock-body').waitFor();
    });

    await step('click "Try it out"', async () => {
      const tryOut = block.locator('.try-out__btn');
      assert.match(await tryOut.innerText(), /Try it out/);
      await tryOut.click();
      await block.locator('.execute').waitFor();
    });

    const body = await step('read the example body', async () => {
      const editor = block.locator('textarea.body-param__text');
      await editor.waitFor();
      const text = await editor.inputValue();
      const parsed = JSON.parse(text) as JobBody['kwargs'];
      assert.equal(parsed.flow_name, 'echo', `example body: ${text}`);
      assert.ok(Array.isArray(parsed.flow_arguments) && parsed.flow_arguments.length > 0, `example body: ${text}`);
      return parsed;
    });

    const created = await step('click "Execute" and see 201', async () => {
      const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `${api}/jobs/flow-scheduling`);
      await block.locator('.execute').click();
      const res = await answer;
      // The live response is the row under the table's header row (whose status cell reads "Code").
      const row = block.locator('.live-responses-table tr.response').first();
      const status = row.locator('.response-col_status');
      await status.waitFor();
      assert.equal((await status.innerText()).trim(), '201', `live response status; the service answered ${res.status()}: ${await res.text()}`);
      // The response body the UI shows is the created job.
      const shown = (await row.locator('.response-col_description pre').first().innerText()).trim();
      const job = (JSON.parse(shown) as { job: JobBody }).job;
      assert.equal(job.handler, 'flow-scheduling');
      assert.deepEqual(job.kwargs, body);
      // What the UI shows is what the service sent.
      assert.deepEqual((await res.json()) as { job: JobBody }, { job: JSON.parse(shown).job });
      return job;
    });

    // The job is in the listing, as plain HTTP sees it.
    const listed = await svc.http.get(`${api}/jobs?job_type=user`).expect(200);
    const job = (listed.body.jobs as JobBody[]).find((j) => j.job_id === created.job_id);
    assert.ok(job, `job ${created.job_id} not in ${JSON.stringify(listed.body)}`);
    assert.equal(job.handler, 'flow-scheduling');
    assert.equal(job.source, 'api');
    assert.deepEqual(job.kwargs, body);

    // And it ran: the flow run and one child echo run per flow argument, all succeeded.
    const runs = await waitFor(
      `${1 + body.flow_arguments.length} succeeded runs of job ${created.job_id}`,
      async () => {
        const r = await svc.http.get(`${api}/executions?job_id=${encodeURIComponent(created.job_id)}`).expect(200);
        const all = r.body.executions as ExecutionBody[];
        return all.length === 1 + body.flow_arguments.length && all.every((e) => e.status === 'succeeded') ? all : undefined;
      },
      15_000,
    );
    const parent = runs.find((e) => e.handler === 'flow-scheduling');
    assert.ok(parent, JSON.stringify(runs));
    const children = runs.filter((e) => e.trigger === 'flow');
    assert.equal(children.length, body.flow_arguments.length, JSON.stringify(runs));
    for (const c of children) {
      assert.equal(c.handler, 'echo');
      assert.equal(c.parent_id, parent.id);
    }

    assert.deepEqual(foreign, [], 'the UI tried to reach hosts other than this service');
    assert.deepEqual(pageErrors, [], 'the page reported errors');
  });
});

describe('Swagger UI "Authorize" with a bearer token on embedded', { timeout: scaled(60_000) }, () => {
  const token = randomBytes(24).toString('base64url');
  let db: TestDatabase;
  let svc: Running;
  let port: number;
  let browser: Browser | undefined;

  before(async () => {
    if (skip) return;
    db = await testDatabase('embedded');
    svc = await startService(db, { PORT: '0', HOST: '127.0.0.1', JOBS_API_TOKENS: `dashboard:${token}:read` });
    port = await svc.service.listen();
    browser = await openBrowser(port);
  });

  after(async () => {
    await browser?.close();
    await svc?.close();
    await db?.drop();
  });

  it('GET /jobs answers 401 until the token is given through "Authorize", then 200', { skip }, async () => {
    const { page, step, foreign, pageErrors } = browser!;
    await step('open the UI', async () => {
      const res = await page.goto(`http://127.0.0.1:${port}${api}/ui`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200, 'GET /api/v1/ui, open without a token');
      await page.locator('.swagger-ui .info .title').filter({ hasText: 'jobs-service' }).waitFor();
    });

    const block = page.locator('#operations-Jobs-listJobs');
    /** Executes GET /jobs from the UI; the status the UI shows and the request it sent. */
    const execute = async () => {
      const answer = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === `${api}/jobs`);
      await block.locator('.execute').click();
      const res = await answer;
      // The cell may still show the previous answer: wait for this one's status.
      const status = block
        .locator('.live-responses-table tr.response .response-col_status')
        .filter({ hasText: new RegExp(`^\\s*${res.status()}\\s*$`) })
        .first();
      await status.waitFor();
      return { shown: (await status.innerText()).trim(), sent: res.request().headers().authorization, res };
    };

    await step('expand GET /jobs and click "Try it out"', async () => {
      await block.locator('.opblock-summary-control').click();
      await block.locator('.try-out__btn').click();
      await block.locator('.execute').waitFor();
    });

    await step('"Execute" without a token: 401', async () => {
      const { shown, sent, res } = await execute();
      assert.equal(shown, '401');
      assert.equal(sent, undefined, 'no Authorization header before authorizing');
      assert.equal(res.headers()['www-authenticate'], 'Bearer realm="jobs-service"');
    });

    await step('"Authorize" with the token', async () => {
      const open = page.locator('.auth-wrapper .btn.authorize');
      assert.match(await open.innerText(), /Authorize/);
      await open.click();
      const dialog = page.locator('.dialog-ux .modal-ux');
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /bearerAuth\s*\(http, Bearer\)/);
      await dialog.locator('input[aria-label="auth-bearer-value"]').fill(token);
      await dialog.locator('.btn.modal-btn.auth.authorize').click();
      await dialog.locator('.btn.modal-btn.auth.btn-done').click();
      await dialog.waitFor({ state: 'detached' });
      await page.locator('.auth-wrapper .btn.authorize.locked').waitFor();
    });

    await step('"Execute" again: 200, the token sent as Bearer', async () => {
      const { shown, sent, res } = await execute();
      assert.equal(shown, '200', `the service answered ${res.status()}: ${await res.text()}`);
      assert.equal(sent, `Bearer ${token}`);
      assert.deepEqual(((await res.json()) as { jobs: unknown[] }).jobs, []);
    });

    // The UI's own 401 is logged by the browser as a failed resource; nothing else may be.
    assert.deepEqual(foreign, [], 'the UI tried to reach hosts other than this service');
    assert.deepEqual(
      pageErrors.filter((e) => !/status of 401/.test(e)),
      [],
      'the page reported errors',
    );
  });
});
