/**
 * The dashboard's forms generated from the kwargs schemas of openapi.yaml, rendered by Preact
 * into a DOM (happy-dom): every handler's form comes prefilled with its example, and what it
 * sends is what the real service accepts; a bad value comes back from the service as a field
 * error, shown on the input it names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Window } from 'happy-dom';
import { loadOpenApi } from '../src/contract/openapi.js';
import { noticeSkippedStores, startService, stores, testDatabase, type Running, type TestDatabase } from './helpers.js';

noticeSkippedStores();

// Preact renders into the global document: happy-dom's, for this file only.
const window = new Window({ url: 'http://127.0.0.1/dashboard/' });
Object.assign(globalThis, { window, document: window.document });
const { h, render } = await import('preact');
const { act } = await import('preact/test-utils');
const forms = await import('../ui/src/schema-form.js');
type FormValues = import('../ui/src/schema-form.js').FormValues;
type JsonSchema = import('../ui/src/schema-form.js').JsonSchema;

const { doc } = loadOpenApi();
const schemas = doc.components!.schemas as Record<string, JsonSchema>;

/** A form on the page, kept in step with its inputs as a page would keep it. */
function mount(schema: JsonSchema, errors: Record<string, string> = {}) {
  const root = document.createElement('div');
  document.body.appendChild(root);
  const fields = forms.fieldsOf(forms.deref(schema, schemas));
  let values: FormValues = forms.initialValues(fields, schema);
  const draw = (errs = errors) => render(h(forms.SchemaForm, { id: 'k', fields, values, errors: errs, onChange: (v: FormValues) => ((values = v), draw(errs)) }), root);
  act(() => draw());
  return {
    root,
    fields,
    get values() {
      return values;
    },
    redraw: (errs: Record<string, string>) => act(() => draw(errs)),
    input: (name: string) => root.querySelector(`#k-${name || 'value'}`) as unknown as HTMLInputElement,
    type(name: string, text: string) {
      const el = root.querySelector(`#k-${name || 'value'}`) as unknown as HTMLInputElement;
      act(() => {
        el.value = text;
        el.dispatchEvent(new window.Event('input', { bubbles: true }) as unknown as Event);
      });
    },
    unmount: () => {
      act(() => render(null, root));
      root.remove();
    },
  };
}

describe('dashboard forms generated from kwargs schemas', () => {
  it('each property gets an input of its kind, labelled, with its help text', () => {
    const form = mount(schemas.HttpRequestKwargs);
    try {
      const kinds = Object.fromEntries(form.fields.map((f) => [f.name, f.kind]));
      assert.deepEqual(kinds, {
        url: 'text',
        method: 'enum',
        headers: 'json',
        body: 'json',
        expected_status: 'json',
        request_timeout: 'number',
        timeout: 'number',
        capture_body: 'boolean',
      });
      assert.equal(form.input('url').tagName, 'INPUT');
      assert.equal(form.input('method').tagName, 'SELECT');
      assert.deepEqual(
        [...form.root.querySelectorAll('#k-method option')].map((o) => (o as unknown as HTMLOptionElement).value),
        ['', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      );
      assert.equal(form.input('headers').tagName, 'TEXTAREA');
      assert.equal((form.input('capture_body') as HTMLInputElement).type, 'checkbox');
      // Every input has a label naming it, and its description as help.
      for (const f of form.fields) {
        const label = form.root.querySelector(`label[for="k-${f.name}"]`);
        assert.ok(label, `a label for ${f.name}`);
        assert.match(label.textContent ?? '', new RegExp(f.name.replace(/_/g, ' ')));
      }
      assert.equal(form.input('url').getAttribute('aria-required'), 'true');
      const help = form.root.querySelector(`#${form.input('request_timeout').getAttribute('aria-describedby')}`);
      assert.match(help?.textContent ?? '', /Seconds to wait for the answer/);
    } finally {
      form.unmount();
    }
  });

  it("every handler's form is prefilled with its example and reads back to exactly that example", () => {
    for (const [name, schema] of Object.entries(schemas)) {
      if (!name.endsWith('Kwargs') || schema.example === undefined) continue;
      const form = mount(schema);
      try {
        if (form.fields[0]?.name === '') {
          assert.deepEqual(JSON.parse(form.input('').value), schema.example, `${name}: the whole value prefilled`);
        } else {
          for (const [k, v] of Object.entries(schema.example as Record<string, unknown>)) {
            const el = form.input(k);
            if (typeof v === 'boolean') assert.equal(el.checked, v, `${name}.${k}`);
            else if (typeof v === 'object') assert.deepEqual(JSON.parse(el.value), v, `${name}.${k}`);
            else assert.equal(el.value, String(v), `${name}.${k}`);
          }
        }
        const read = forms.readValues(form.fields, form.values);
        assert.deepEqual(read.errors, {}, name);
        assert.deepEqual(read.value, schema.example, `${name}: the form sends its example unchanged`);
      } finally {
        form.unmount();
      }
    }
  });

  it('typed values are read as the schema types them; bad ones are refused before sending', () => {
    const form = mount(schemas.HttpRequestKwargs);
    try {
      form.type('url', 'http://127.0.0.1:9/x');
      form.type('request_timeout', '2.5');
      form.type('expected_status', '[200, 204]');
      form.type('headers', '{"X-Token": {"$secret": "api-key"}}');
      let read = forms.readValues(form.fields, form.values);
      assert.deepEqual(read.errors, {});
      assert.deepEqual(read.value, {
        url: 'http://127.0.0.1:9/x',
        method: 'GET',
        headers: { 'X-Token': { $secret: 'api-key' } },
        expected_status: [200, 204],
        request_timeout: 2.5,
      });
      form.type('url', '');
      form.type('request_timeout', 'soon');
      form.type('headers', '{not json');
      read = forms.readValues(form.fields, form.values);
      assert.equal(read.errors.url, 'is required');
      assert.equal(read.errors.request_timeout, 'must be a number');
      assert.match(read.errors.headers, /^is not valid JSON/);
      form.redraw(read.errors);
      for (const name of ['url', 'request_timeout', 'headers']) {
        assert.equal(form.input(name).getAttribute('aria-invalid'), 'true', name);
        const error = form.root.querySelector(`#k-${name}-error`);
        assert.equal(error?.textContent, read.errors[name]);
        assert.equal(error?.getAttribute('role'), 'alert');
        assert.match(form.input(name).getAttribute('aria-describedby') ?? '', new RegExp(`k-${name}-error`));
      }
      assert.equal(form.input('method').getAttribute('aria-invalid'), null);
    } finally {
      form.unmount();
    }
  });

  it('a oneOf of a number and a string (misfire_grace_time) takes either', () => {
    const fields = forms.fieldsOf(forms.deref(schemas.CreateJobRequest, schemas), ['handler', 'kwargs']);
    const grace = fields.find((f) => f.name === 'misfire_grace_time')!;
    assert.equal(grace.kind, 'number-or-text');
    assert.deepEqual(forms.readValues([grace], { misfire_grace_time: '30' }).value, { misfire_grace_time: 30 });
    assert.deepEqual(forms.readValues([grace], { misfire_grace_time: '10 minutes' }).value, { misfire_grace_time: '10 minutes' });
    assert.equal(fields.find((f) => f.name === 'concurrency_policy')!.kind, 'enum');
    assert.equal(fields.find((f) => f.name === 'retries')!.kind, 'integer');
  });

  for (const { name: storeName, skip } of stores) {
    describe(`against the service (${storeName})`, { skip }, () => {
      let db: TestDatabase;
      let svc: Running;
      before(async () => {
        db = await testDatabase(storeName);
        svc = await startService(db);
      });
      after(async () => {
        await svc?.close();
        await db?.drop();
      });

      it('the prefilled form of every handler the catalog offers creates a job the service accepts', async () => {
        const handlers = (await svc.http.get('/api/v1/handlers').expect(200)).body.handlers as Array<{ name: string; kwargs_schema: JsonSchema }>;
        assert.ok(handlers.length >= 5);
        for (const handler of handlers) {
          const fields = forms.fieldsOf(forms.deref(handler.kwargs_schema, schemas));
          const read = forms.readValues(fields, forms.initialValues(fields, handler.kwargs_schema));
          assert.deepEqual(read.errors, {}, handler.name);
          const res = await svc.http
            .post('/api/v1/jobs')
            .send({ handler: handler.name, job_id: `form-${handler.name}`, kwargs: read.value, periodically: '1 day', state: 'paused' });
          assert.equal(res.status, 201, `${handler.name}: ${JSON.stringify(res.body)}`);
          assert.deepEqual(res.body.job.kwargs, read.value);
        }
      });

      it("the service's field errors land on the inputs they name", async () => {
        const form = mount(schemas.HttpRequestKwargs);
        try {
          form.type('url', 'ftp://127.0.0.1/file');
          form.type('request_timeout', '99999');
          const read = forms.readValues(form.fields, form.values);
          assert.deepEqual(read.errors, {}, 'nothing the form itself refuses');
          const res = await svc.http.post('/api/v1/jobs').send({ handler: 'http-request', kwargs: read.value, periodically: '1 hour' });
          assert.equal(res.status, 400);
          assert.match(res.headers['content-type'], /application\/problem\+json/);
          const shown = forms.errorsFor(res.body.errors, form.fields, 'kwargs');
          assert.deepEqual(Object.keys(shown).sort(), ['request_timeout', 'url'], JSON.stringify(res.body.errors));
          form.redraw(shown);
          assert.equal(form.input('url').getAttribute('aria-invalid'), 'true');
          assert.match(form.root.querySelector('#k-url-error')?.textContent ?? '', /pattern|match/i);
          assert.match(form.root.querySelector('#k-request_timeout-error')?.textContent ?? '', /3600/);
          assert.equal(form.input('method').getAttribute('aria-invalid'), null);
        } finally {
          form.unmount();
        }
      });
    });
  }
});
