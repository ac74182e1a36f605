/** Redaction of credentials (src/observability/redact.ts): what is redacted, what is kept, and at what cost. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSensitiveKey, redactKwargs, redactText, Redactor } from '../../src/observability/redact.js';
import { scaled } from '../support/time.js';

describe('redaction', () => {
  it('knows credential keys in any case, and leaves other keys alone', () => {
    for (const k of [
      'Authorization',
      'proxy-authorization',
      'COOKIE',
      'Set-Cookie',
      'X-Api-Key',
      'access_token',
      'refreshToken',
      'db_password',
      'passwd',
      'client_secret',
      'api_key',
      'apiKey',
      'credentials',
      'private_key',
    ]) {
      assert.equal(isSensitiveKey(k), true, k);
    }
    for (const k of ['url', 'method', 'headers', 'user', 'message', 'Content-Type', 'expected_status', 'older_than']) assert.equal(isSensitiveKey(k), false, k);
  });

  it('redacts kwargs at any depth, keeps secret references, key order and everything else', () => {
    const kwargs = {
      url: 'https://svc:hunter22@api.example/v1?page=2&token=abc123',
      headers: { Authorization: 'Bearer abc', 'X-Trace': 'keep', Cookie: { $secret: 'session' } },
      nested: [{ password: 12345 }, { secrets: { a: 'x1', b: ['x2'] } }],
      flag: true,
      nothing: null,
    };
    const out = redactKwargs(kwargs);
    assert.deepEqual(out, {
      url: 'https://svc:[redacted]@api.example/v1?page=2&token=[redacted]',
      headers: { Authorization: '[redacted]', 'X-Trace': 'keep', Cookie: { $secret: 'session' } },
      nested: [{ password: '[redacted]' }, { secrets: { a: '[redacted]', b: ['[redacted]'] } }],
      flag: true,
      nothing: null,
    });
    assert.deepEqual(Object.keys(out), Object.keys(kwargs));
    assert.equal(kwargs.headers.Authorization, 'Bearer abc', 'the input is not changed');
    const proto = redactKwargs(JSON.parse('{"__proto__": {"token": "t"}}'));
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.keys(proto), ['__proto__']);
  });

  it('redacts text: URL passwords and credential parameters, credential pairs of JSON, header lines; keeps markers', () => {
    assert.equal(redactText('GET http://u:pw@h/x failed'), 'GET http://u:[redacted]@h/x failed');
    assert.equal(redactText('{"Authorization":"Bearer x","ok":"y","api_key":"[secret:k]"}'), '{"Authorization":"[redacted]","ok":"y","api_key":"[secret:k]"}');
    assert.equal(redactText('Cookie: sid=1; a=2'), 'Cookie: [redacted]');
    assert.equal(redactText('see https://h/?q=1&api_key=zz#top'), 'see https://h/?q=1&api_key=[redacted]#top');
    assert.equal(redactText('nothing here'), 'nothing here');
  });

  it("a run redactor also replaces the part of a value a cut left at a line's end or start", () => {
    const r = new Redactor();
    r.add('LONGSECRETVALUE_abcdefghijklmnop', '[secret:tok]');
    assert.equal(r.text('AAAAAAAALONGSECRET'), 'AAAAAAAA[secret:tok]');
    assert.equal(r.text('ghijklmnop and the rest'), '[secret:tok] and the rest');
    assert.equal(r.text('LONGSECRETVALUE_abcdefghijklmnop whole'), '[secret:tok] whole');
    assert.equal(r.text('LON'), 'LON', 'fewer characters than a value must have to be looked for');
    assert.equal(r.text('a line with nothing of it'), 'a line with nothing of it');
  });

  it('redacts the whole userinfo of a URL: a token given as the user, a password holding @; and credential parameters written percent-encoded', () => {
    assert.equal(redactText('GET http://ghp_TOKEN123456@127.0.0.1:1/a'), 'GET http://[redacted]@127.0.0.1:1/a');
    assert.equal(redactText('http://user:p@ssWORDsecret@h/b'), 'http://user:[redacted]@h/b');
    assert.equal(redactText('http://h/c?pass%77ord=QUERYSECRET1&x=1'), 'http://h/c?pass%77ord=[redacted]&x=1');
    assert.equal(redactText('http://h/e?api%5Fkey=QUERYSECRET3'), 'http://h/e?api%5Fkey=[redacted]');
    // JSON around a URL is not taken for its userinfo.
    assert.equal(redactText('{"url":"http://h/x","mail":"a@b"}'), '{"url":"http://h/x","mail":"a@b"}');
    assert.deepEqual(redactKwargs({ url: 'http://ghp_TOKEN123456@h/' }), { url: 'http://[redacted]@h/' });
    const r = new Redactor();
    r.addInline({ url: 'http://user:p@ssWORDsecret@h/?pass%77ord=QUERYSECRET1' });
    assert.equal(r.text('sent p@ssWORDsecret and QUERYSECRET1'), 'sent [redacted] and [redacted]');
  });

  it('a run redactor replaces known values, as written and JSON-escaped, longest first', () => {
    const r = new Redactor();
    r.add('ab"cd', '[secret:q]');
    r.add('ab"cdef', '[secret:long]');
    r.add('abc', '[secret:short]'); // shorter than 4: not searched for
    r.addInline({ headers: { 'X-Api-Key': 'inline-key' }, url: 'http://u:urlpass@h/' });
    assert.equal(r.text(`1 ab"cd 2 ab"cdef 3 ${JSON.stringify('ab"cd')} abc inline-key urlpass`), '1 [secret:q] 2 [secret:long] 3 "[secret:q]" abc [redacted] [redacted]');
  });

  it('costs time in proportion to its input, whatever the input', () => {
    const inputs = [
      '"a":"'.repeat(200_000),
      'http://'.repeat(100_000) + 'a:'.repeat(100_000),
      '?a=b&'.repeat(200_000),
      'x'.repeat(1_000_000),
      'authorization:'.repeat(50_000),
      '"token":"\\'.repeat(100_000),
    ];
    for (const input of inputs) {
      const t0 = Date.now();
      redactText(input);
      const ms = Date.now() - t0;
      assert.ok(ms < scaled(3000), `${input.slice(0, 12)}... (${input.length} characters) took ${ms} ms`);
    }
  });
});

describe('redaction of kwargs without credentials', () => {
  it('answers the same object, not a copy, and handles long arrays', () => {
    const plain = { url: 'https://h/x?page=2', headers: { 'X-Trace': 'a' }, list: Array.from({ length: 200_000 }, (_, i) => i), ref: { $secret: 'n' } };
    assert.equal(redactKwargs(plain), plain);
    const withOne = { ...plain, token: 't' };
    assert.equal(redactKwargs(withOne).token, '[redacted]');
    assert.equal(redactKwargs(withOne).list.length, 200_000);
  });
});
